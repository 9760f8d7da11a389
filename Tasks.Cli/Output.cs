using System.Text.Json;
using Spectre.Console;

namespace Tasks.Cli;

/// <summary>
/// Where a command's answer goes: with <c>--json</c> one JSON document on stdout and nothing else; on a terminal
/// Spectre tables, colours (unless <c>NO_COLOR</c>) and progress bars; piped, plain tab-separated lines.
/// </summary>
public sealed class Output(bool json)
{
    private static readonly JsonSerializerOptions Indented = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public bool Json { get; } = json;

    /// <summary>Spectre's rendering is for people: only when stdout is a terminal and no JSON was asked for.</summary>
    public bool Terminal { get; } = !json && !System.Console.IsOutputRedirected;

    public IAnsiConsole Ansi { get; } = AnsiConsole.Console;

    private readonly TextWriter _stdout = System.Console.Out;

    public void WriteJson<T>(T document) => _stdout.WriteLine(JsonSerializer.Serialize(document, Indented));

    public void Line(string text) => _stdout.WriteLine(Safe(text, keepNewlines: true));

    /// <summary>
    /// Server text (errors, progress messages) may hold escape sequences: never hand them to the terminal. With
    /// <paramref name="keepNewlines"/>, newlines and tabs (the columns of a piped table, each cell already safe) stay.
    /// </summary>
    public static string Safe(string text, bool keepNewlines = false) =>
        text.Any(char.IsControl)
            ? string.Concat(text.Select(c => !char.IsControl(c) || (keepNewlines && c is '\n' or '\t') ? c : c is '\n' or '\t' or '\r' ? ' ' : '?'))
            : text;

    /// <summary>Words for the person at the terminal (not the answer a script takes): stderr.</summary>
    public static void Note(string text) => System.Console.Error.WriteLine(Safe(text, keepNewlines: true));

    /// <summary>
    /// Rows as a table on a terminal, else as tab-separated lines; <paramref name="colour"/> (column, cell) may name a
    /// Spectre colour for a cell, such as a state's.
    /// </summary>
    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, Func<int, string, string?>? colour = null)
    {
        if (!Terminal)
        {
            foreach (var row in rows) Line(string.Join('\t', row.Select(c => Safe(c))));
            return;
        }
        Ansi.Write(BuildTable(headers, rows, colour));
    }

    public static Table BuildTable(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, Func<int, string, string?>? colour = null)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var h in headers) table.AddColumn(new TableColumn($"[bold]{Markup.Escape(h)}[/]"));
        foreach (var row in rows)
            table.AddRow([.. row.Select((c, i) => new Markup(colour?.Invoke(i, c) is { } style
                ? $"[{style}]{Markup.Escape(Safe(c))}[/]" : Markup.Escape(Safe(c))))]);
        return table;
    }

    /// <summary>Colours of the states the API names (tasks', workers'), for <see cref="Table"/>.</summary>
    public static string? StateColour(string state) => state switch
    {
        "online" or "succeeded" => "green",
        "offline" or "failed" => "red",
        "stopped" or "canceled" or "expired" => "grey",
        "paused" => "yellow",
        _ => null,
    };

    public static string Time(DateTimeOffset? t) =>
        t is { } v ? v.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) : "-";
}
