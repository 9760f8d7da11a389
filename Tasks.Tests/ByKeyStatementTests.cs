using Npgsql;
using Tasks.Core.Lifecycle;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

public sealed class ByKeyStatementTests(TasksStack stack) : IClassFixture<TasksStack>
{
    [Fact]
    public async Task A_statement_that_fails_gives_its_pooled_connection_back()
    {
        var ct = TestContext.Current.CancellationToken;
        // One connection in the pool, and a short wait for it: a failure that kept it would starve the next call.
        await using var db = NpgsqlDataSource.Create(stack.Postgres + ";Maximum Pool Size=1;Timeout=3");
        for (var i = 0; i < 3; i++)
        {
            await using var failing = new ByKeyStatement(db, "SELECT 1 / 0");
            var e = await Assert.ThrowsAsync<PostgresException>(() => failing.ExecuteNonQueryAsync(ct));
            Assert.Equal(PostgresErrorCodes.DivisionByZero, e.SqlState);
        }
        await using var next = db.CreateCommand("SELECT 42");
        Assert.Equal(42, await next.ExecuteScalarAsync(ct));
    }
}
