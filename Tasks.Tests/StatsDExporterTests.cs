using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tasks.Core.Telemetry;
using static Tasks.Tests.Infrastructure.StatsD;

namespace Tasks.Tests;

/// <summary>
/// The StatsD exporter's instruments against a UDP socket standing in for the server. Each test has its own meter
/// name, so tests running in parallel (and the app's own "Tasks" meter) never show up in another test's packets.
/// Flushes are driven by hand (the timer is set to an hour). Packets, the timer, stopping, failures and settings:
/// <see cref="StatsDDeliveryTests"/>.
/// </summary>
public sealed class StatsDExporterTests
{
    [Fact]
    public async Task Counter_increments_are_summed_per_flush_and_sent_as_one_line()
    {
        await using var h = await Harness.StartAsync();
        var enqueued = h.Meter.CreateCounter<long>("tasks.enqueued");

        enqueued.Add(1, new("task.queue", "default"), new("task.name", "demo.echo"));
        enqueued.Add(2, new("task.name", "demo.echo"), new("task.queue", "default"));
        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(["tasks.tasks.enqueued:3|c|#task.name:demo.echo,task.queue:default"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Counter_starts_from_zero_after_each_flush_and_is_silent_when_unchanged()
    {
        await using var h = await Harness.StartAsync();
        var runs = h.Meter.CreateCounter<int>("runs");

        runs.Add(5);
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.runs:5|c"], await h.Server.ReceiveLinesAsync(Ct));

        await h.Exporter.FlushAsync(Ct);
        await h.Server.AssertSilentAsync(Ct);

        runs.Add(2);
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.runs:2|c"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Each_tag_set_is_its_own_series()
    {
        await using var h = await Harness.StartAsync();
        var failed = h.Meter.CreateCounter<double>("failed");

        failed.Add(1, new KeyValuePair<string, object?>("queue", "a"));
        failed.Add(1.5, new KeyValuePair<string, object?>("queue", "b"));
        failed.Add(1, new KeyValuePair<string, object?>("queue", "a"));
        failed.Add(4);
        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(
            ["tasks.failed:1.5|c|#queue:b", "tasks.failed:2|c|#queue:a", "tasks.failed:4|c"],
            (await h.Server.ReceiveLinesAsync(Ct)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Histogram_values_are_sent_one_line_each_as_ms_for_time_units_else_h()
    {
        await using var h = await Harness.StartAsync();
        var seconds = h.Meter.CreateHistogram<double>("task.duration", unit: "s");
        var millis = h.Meter.CreateHistogram<int>("publish.latency", unit: "ms");
        var plain = h.Meter.CreateHistogram<long>("batch.size");

        seconds.Record(0.25, new KeyValuePair<string, object?>("task.name", "demo.echo"));
        seconds.Record(1.5, new KeyValuePair<string, object?>("task.name", "demo.echo"));
        millis.Record(12);
        plain.Record(3);
        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(
            [
                "tasks.task.duration:250|ms|#task.name:demo.echo",
                "tasks.task.duration:1500|ms|#task.name:demo.echo",
                "tasks.publish.latency:12|ms",
                "tasks.batch.size:3|h",
            ],
            await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Observable_gauge_is_polled_at_each_flush_and_sends_its_last_value()
    {
        await using var h = await Harness.StartAsync();
        var depth = 7;
        h.Meter.CreateObservableGauge<int>("queue.depth", () => new Measurement<int>(depth, new KeyValuePair<string, object?>("queue", "default")));

        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.queue.depth:7|g|#queue:default"], await h.Server.ReceiveLinesAsync(Ct));

        depth = 9;
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.queue.depth:9|g|#queue:default"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Negative_gauge_is_zeroed_first_in_the_same_packet_because_a_sign_means_relative()
    {
        await using var h = await Harness.StartAsync();
        h.Meter.CreateObservableGauge("skew", () => -2.5);

        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(["tasks.skew:0|g\ntasks.skew:-2.5|g"], await h.Server.ReceivePacketsAsync(Ct));
    }

    [Fact]
    public async Task A_failing_observable_callback_does_not_stop_the_others_or_the_flush()
    {
        await using var h = await Harness.StartAsync();
        h.Meter.CreateObservableGauge("broken", (Func<int>)(() => throw new InvalidOperationException("boom")));
        h.Meter.CreateObservableGauge("fine", () => 1);

        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(["tasks.fine:1|g"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Observable_counter_sends_the_change_since_the_last_flush()
    {
        await using var h = await Harness.StartAsync();
        long total = 10;
        h.Meter.CreateObservableCounter("gc.count", () => total);

        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.gc.count:10|c"], await h.Server.ReceiveLinesAsync(Ct));

        total = 15;
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.gc.count:5|c"], await h.Server.ReceiveLinesAsync(Ct));

        await h.Exporter.FlushAsync(Ct);
        await h.Server.AssertSilentAsync(Ct);

        // Went down: the source restarted, so all of the new total is new.
        total = 3;
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.gc.count:3|c"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task UpDownCounter_sends_its_running_total_as_a_gauge()
    {
        await using var h = await Harness.StartAsync();
        var running = h.Meter.CreateUpDownCounter<int>("running");

        running.Add(3);
        running.Add(-1);
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.running:2|g"], await h.Server.ReceiveLinesAsync(Ct));

        running.Add(-5);
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.running:0|g", "tasks.running:-3|g"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Observable_up_down_counter_sends_the_observed_value_as_a_gauge()
    {
        await using var h = await Harness.StartAsync();
        h.Meter.CreateObservableUpDownCounter("connections", () => 4);

        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(["tasks.connections:4|g"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Theory]
    [InlineData("", "runs:1|c")]
    [InlineData("app.worker-1", "app.worker-1.runs:1|c")]
    public async Task Prefix_is_joined_with_a_dot_and_may_be_empty(string prefix, string line)
    {
        await using var h = await Harness.StartAsync(new() { ["Prefix"] = prefix });
        h.Meter.CreateCounter<int>("runs").Add(1);

        await h.Exporter.FlushAsync(Ct);

        Assert.Equal([line], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Names_and_tags_are_sanitised_and_numbers_are_invariant()
    {
        await using var h = await Harness.StartAsync();
        var counter = h.Meter.CreateCounter<double>("http/requests total");

        counter.Add(0.5, new("route", "/api/v1:tasks,x|y"), new("ok", true), new("ratio", 1.25), new("empty", null));
        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(
            ["tasks.http_requests_total:0.5|c|#empty:,ok:true,ratio:1.25,route:_api_v1_tasks_x_y"],
            await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Only_listed_meters_are_exported()
    {
        await using var h = await Harness.StartAsync();
        using var other = new Meter(h.Meter.Name + ".other");
        other.CreateCounter<int>("ignored").Add(1);
        h.Meter.CreateCounter<int>("kept").Add(1);

        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(["tasks.kept:1|c"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Sampled_histogram_values_carry_the_rate_and_counters_stay_exact()
    {
        // The sampler's draws in order: a value goes when its draw is below the rate.
        var draws = new Queue<double>([0.1, 0.7, 0.49, 0.5]);
        await using var h = await Harness.StartAsync(new() { ["SampleRate"] = "0.5" }, draws.Dequeue);
        var latency = h.Meter.CreateHistogram<double>("latency", unit: "ms");
        var runs = h.Meter.CreateCounter<int>("runs");

        foreach (var value in new[] { 1.0, 2.0, 3.0, 4.0 })
        {
            latency.Record(value, new KeyValuePair<string, object?>("queue", "default"));
            runs.Add(1);
        }
        await h.Exporter.FlushAsync(Ct);

        Assert.Empty(draws);
        Assert.Equal(
            ["tasks.latency:1|ms|@0.5|#queue:default", "tasks.latency:3|ms|@0.5|#queue:default", "tasks.runs:4|c"],
            (await h.Server.ReceiveLinesAsync(Ct)).Order(StringComparer.Ordinal));
    }
}
