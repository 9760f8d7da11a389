using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Tasks.Core.Data;

/// <summary>For <c>dotnet ef migrations add</c> only; it never connects.</summary>
internal sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<TasksDbContext>
{
    public TasksDbContext CreateDbContext(string[] args) => new(new DbContextOptionsBuilder<TasksDbContext>()
        .UseNpgsql("Host=localhost;Database=tasks_design")
        .UseSnakeCaseNamingConvention()
        .Options);
}
