using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace Tasks.Benchmarks.Infrastructure;

/// <summary>The printed table and <c>bench-results.json</c>.</summary>
public static class Report
{
    public static string Table(IReadOnlyList<ScenarioResult> results)
    {
        var rows = new List<string[]> { new[] { "Scenario", "Metric", "Median", "Min", "Max", "Unit" } };
        foreach (var r in results)
        {
            if (r.Error is not null) rows.Add([r.Title, "FAILED: " + r.Error, "", "", "", ""]);
            foreach (var f in r.Figures)
                rows.Add([r.Title, f.Metric, Format(f.Median), f.Runs > 1 ? Format(f.Min) : "", f.Runs > 1 ? Format(f.Max) : "", f.Unit]);
        }
        var widths = Enumerable.Range(0, 6).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var sb = new StringBuilder();
        for (var i = 0; i < rows.Count; i++)
        {
            sb.Append("| ").AppendJoin(" | ", rows[i].Select((v, c) => c is >= 2 and <= 4 ? v.PadLeft(widths[c]) : v.PadRight(widths[c]))).Append(" |\n");
            if (i == 0) sb.Append("|-").AppendJoin("-|-", widths.Select(w => new string('-', w))).Append("-|\n");
        }
        return sb.ToString();
    }

    public static string Format(double v) =>
        double.IsNaN(v) ? "-" : Math.Abs(v) >= 100 ? v.ToString("N0", CultureInfo.InvariantCulture) : v.ToString("0.0#", CultureInfo.InvariantCulture);

    /// <summary>The servers' version strings, for the report.</summary>
    public static async Task<(string Postgres, string RabbitMq)> VersionsAsync(Servers servers)
    {
        string pg;
        await using (var conn = new NpgsqlConnection(servers.Postgres))
        {
            await conn.OpenAsync();
            pg = conn.PostgreSqlVersion.ToString();
        }
        var rabbit = "unknown";
        try
        {
            using var http = servers.ManagementClient();
            using var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri("api/overview", UriKind.Relative)));
            rabbit = doc.RootElement.GetProperty("rabbitmq_version").GetString() ?? rabbit;
        }
        catch (HttpRequestException)
        {
        }
        return (pg, rabbit);
    }

    public static JsonObject Machine(string postgres, string rabbit) => new()
    {
        ["cores"] = Environment.ProcessorCount,
        ["os"] = RuntimeInformation.OSDescription,
        ["cpu"] = CpuModel(),
        ["memoryMb"] = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024),
        ["dotnet"] = RuntimeInformation.FrameworkDescription,
        ["postgres"] = postgres,
        ["rabbitmq"] = rabbit,
        ["massTransit"] = VersionOf(typeof(MassTransit.IBus)),
        ["rabbitmqClient"] = VersionOf(typeof(RabbitMQ.Client.IChannel)),
        ["npgsql"] = VersionOf(typeof(Npgsql.NpgsqlConnection)),
        ["efCore"] = VersionOf(typeof(Microsoft.EntityFrameworkCore.DbContext)),
        ["hangfire"] = VersionOf(typeof(Hangfire.BackgroundJob)),
        ["hangfirePostgreSql"] = VersionOf(typeof(Hangfire.PostgreSql.PostgreSqlStorage)),
    };

    /// <summary>The package version (informational version without the commit hash), not the strong-name one.</summary>
    public static string VersionOf(Type type)
    {
        var version = type.Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
            ?? type.Assembly.GetName().Version?.ToString() ?? "?";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }

    public static JsonObject Json(BenchSettings settings, JsonObject machine, PostgresSettings postgres, IReadOnlyList<ScenarioResult> results)
    {
        double? Ratio(string top, string bottom)
        {
            var a = results.FirstOrDefault(r => r.Key == top)?.Find("throughput")?.Median;
            var b = results.FirstOrDefault(r => r.Key == bottom)?.Find("throughput")?.Median;
            return a is { } x && b is { } y && y > 0 ? Math.Round(x / y, 3) : null;
        }
        var scenarios = new JsonObject();
        foreach (var r in results)
        {
            var figures = new JsonObject();
            foreach (var f in r.Figures)
                figures[f.Metric] = new JsonObject
                {
                    ["median"] = Round(f.Median), ["min"] = Round(f.Min), ["max"] = Round(f.Max), ["unit"] = f.Unit, ["runs"] = f.Runs,
                };
            scenarios[r.Key] = new JsonObject
            {
                ["title"] = r.Title,
                ["settings"] = JsonSerializer.SerializeToNode(r.Settings),
                ["figures"] = figures,
                ["error"] = r.Error,
            };
        }
        return new JsonObject
        {
            ["generatedAt"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["mode"] = settings.Quick ? "quick" : "full",
            ["runs"] = settings.Runs,
            ["machine"] = machine,
            ["postgres"] = postgres.Json(),
            ["e2eToBusRatio"] = Ratio("endToEnd", "bus"),
            ["e2eToBrokerRatio"] = Ratio("endToEnd", "broker"),
            ["e2eOneMessagePerTaskToBusRatio"] = Ratio("endToEndOneMessagePerTask", "bus"),
            ["e2eOneMessagePerTaskToBusRatioPaired"] = results.FirstOrDefault(r => r.Key == "endToEndOneMessagePerTask")
                ?.Find(Scenarios.Pipeline.PairedRatio)?.Median is { } paired ? Math.Round(paired, 3) : null,
            ["e2eToHangfireRatio"] = Ratio("endToEnd", "hangfire"),
            ["e2eToCeleryRatio"] = Ratio("endToEnd", "celery"),
            ["targets"] = Targets.Json(results),
            ["scenarios"] = scenarios,
        };
    }

    private static double? Round(double v) => double.IsNaN(v) ? null : Math.Round(v, 2);

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        }
        catch (IOException)
        {
            return "?";
        }
    }
}
