using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;
using Tasks.Core.Data;
using Tasks.Testing;

namespace Tasks.Tests;

/// <summary>
/// An upgrade from the store that kept each schedule as a Quartz job of its own: the migration <c>Schedules</c> moves
/// every schedule (definition, source, paused) into the table, and the first scheduler started puts them on their
/// cadences, so they fire with nothing lost.
/// </summary>
public sealed class BeatUpgradeTests
{
    private const string Before = "20261207064841_FailedGroups";

    [Fact]
    public async Task Schedules_of_the_old_store_are_moved_by_the_migration_and_fire_after_it()
    {
        var servers = await Servers.GetAsync();
        var name = "t_" + Guid.NewGuid().ToString("N")[..12];
        var (_, postgres, rabbit) = await servers.CreateIsolatedAsync(name);
        try
        {
            await using (var db = new TasksDbContext(new DbContextOptionsBuilder<TasksDbContext>().UseNpgsql(postgres).UseSnakeCaseNamingConvention().Options))
            {
                await db.GetService<IMigrator>().MigrateAsync(Before);
                await OldScheduleAsync(db, "old-every", """{"name":"old-every","task":"demo.echo","args":{"message":"hi","data":null},"cron":"* * * * * ?","timeZone":"UTC","enabled":true,"misfire":"fireOnce"}""", "api", "WAITING");
                await OldScheduleAsync(db, "old-paused", """{"name":"old-paused","task":"demo.echo","args":{"message":null,"data":null},"intervalSeconds":1,"enabled":true,"misfire":"skip"}""", "config", "PAUSED");
                await db.Database.MigrateAsync();
                var moved = await db.Database.SqlQueryRaw<Moved>("SELECT name, source, paused FROM schedules ORDER BY name").ToListAsync();
                Assert.Equal([new("old-every", "api", false), new("old-paused", "config", true)], moved);
                Assert.Equal(0, await db.Database.SqlQueryRaw<long>("SELECT count(*) AS \"Value\" FROM quartz.qrtz_job_details WHERE job_group = 'schedules'").SingleAsync());
            }

            var env = new Dictionary<string, string>(HostEnvironment.For(postgres, rabbit, 0)) { ["Logging__Colors"] = "false" };
            await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", env);
            await using var data = NpgsqlDataSource.Create(postgres);
            var fired = false;
            for (var i = 0; i < 100 && !fired; i++)
            {
                await Task.Delay(200);
                fired = (long)(await data.CreateCommand("SELECT count(*) FROM tasks WHERE schedule_name = 'old-every'").ExecuteScalarAsync())! >= 2;
            }
            Assert.True(fired, "the moved schedule did not fire:\n" + scheduler.Output);
            Assert.Equal(0L, await data.CreateCommand("SELECT count(*) FROM tasks WHERE schedule_name = 'old-paused'").ExecuteScalarAsync());
            Assert.Contains("Schedule old-paused removed: no longer in configuration", scheduler.Output); // a config schedule, and none configured
        }
        finally
        {
            await servers.DropIsolatedAsync(name);
        }
    }

    private sealed record Moved(string Name, string Source, bool Paused);

    // The rows the old store wrote for a schedule: its durable job (definition and source as JSON strings) and its trigger.
    private static async Task OldScheduleAsync(TasksDbContext db, string name, string definition, string source, string state)
    {
        var data = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["definition"] = definition, ["source"] = source });
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO quartz.qrtz_job_details (sched_name, job_name, job_group, job_class_name, is_durable, is_nonconcurrent, is_update_data, requests_recovery, job_data)
            VALUES ('tasks', {name}, 'schedules', 'Tasks.Core.Schedules.FireScheduleJob, Tasks.Core', true, false, false, true, {data})
            """);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO quartz.qrtz_triggers (sched_name, trigger_name, trigger_group, job_name, job_group, next_fire_time, priority, trigger_state, trigger_type, start_time, misfire_instr)
            VALUES ('tasks', {name}, 'schedules', {name}, 'schedules', 0, 5, {state}, 'CRON', 0, 1)
            """);
    }
}
