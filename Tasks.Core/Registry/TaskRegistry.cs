using System.Collections.Frozen;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Tasks.Core.Hosting;

namespace Tasks.Core.Registry;

/// <summary>
/// The tasks this process knows, by name, and the one way their arguments are checked and normalised:
/// strict JSON (unknown fields and missing required ones are errors) plus the contract's data annotations.
/// </summary>
public sealed partial class TaskRegistry
{
    /// <summary>How args are written and read everywhere: web casing, unknown members rejected.</summary>
    public static readonly JsonSerializerOptions ArgsJson = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        AllowDuplicateProperties = false, // {"seconds": 1, "seconds": 99999} is a mistake, not "the last one wins"
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
    };

    private readonly FrozenDictionary<string, TaskDefinition> _byName;
    private readonly FrozenSet<string> _queues;
    private readonly string[] _queuePrefixes;

    public TaskRegistry(IEnumerable<TaskDefinition> definitions, IOptions<TasksOptions>? options = null)
    {
        var byName = new Dictionary<string, TaskDefinition>(StringComparer.Ordinal);
        foreach (var d in definitions)
        {
            if (byName.TryGetValue(d.Name, out var other) && other.ArgsType != d.ArgsType)
                throw new InvalidOperationException($"Task name '{d.Name}' is claimed by {other.ArgsType} and {d.ArgsType}.");
            if (QueueNames.Problem(d.Queue) is { } problem)
                throw new InvalidOperationException($"Task '{d.Name}' ({d.ArgsType}) names queue '{d.Queue}': {problem}");
            byName[d.Name] = d;
        }
        _byName = byName.ToFrozenDictionary(StringComparer.Ordinal);
        Names = [.. _byName.Keys.Order(StringComparer.Ordinal)];

        var configured = options?.Value.Queues ?? []; // checked at start-up (QueueNames.PatternProblem)
        var patterns = configured.Where(q => q.EndsWith('*')).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        _queues = byName.Values.Select(d => d.Queue).Append(QueueNames.DefaultQueue)
            .Concat(configured.Except(patterns, StringComparer.Ordinal)).ToFrozenSet(StringComparer.Ordinal);
        _queuePrefixes = [.. patterns.Select(p => p[..^1])];
        Queues = [.. _queues.Order(StringComparer.Ordinal), .. patterns];
    }

    public IReadOnlyList<string> Names { get; }

    /// <summary>The queues tasks may go to: <c>default</c>, the contracts' own, and <c>Tasks:Queues</c> (prefixes with their <c>*</c>).</summary>
    public IReadOnlyList<string> Queues { get; }

    /// <summary>Why a task can't go to <paramref name="queue"/> (a name RabbitMQ would refuse, or a queue not known here), or null.</summary>
    public string? QueueProblem(string queue)
    {
        if (QueueNames.Problem(queue) is { } problem) return problem;
        if (_queues.Contains(queue)) return null;
        foreach (var prefix in _queuePrefixes)
            if (queue.StartsWith(prefix, StringComparison.Ordinal) && queue.Length > prefix.Length) return null;
        return $"Unknown queue '{queue}'. Known queues: {string.Join(", ", Queues)} (more can be added with the setting Tasks:Queues).";
    }

    public bool TryGet(string name, out TaskDefinition definition) => _byName.TryGetValue(name, out definition!);

    /// <summary>
    /// The task's args for showing: every field its contract marks [Sensitive] replaced by "***"; all of them
    /// when this process doesn't know the task's contract (a newer client enqueued it), since it can't tell.
    /// </summary>
    public JsonNode? Redacted(string taskName, string argsJson)
    {
        if (!_byName.TryGetValue(taskName, out var definition)) return JsonValue.Create(Redaction);
        var node = JsonNode.Parse(argsJson);
        if (node is JsonObject obj)
            foreach (var field in definition.SensitiveFields)
                if (obj.ContainsKey(field) && obj[field] is not null) obj[field] = Redaction;
        return node;
    }

    public const string Redaction = "***";

    /// <summary>Reads args for a task; on success gives the typed value and its normalised JSON.</summary>
    public static ArgsCheck Check(TaskDefinition definition, JsonElement? args)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (args is { ValueKind: not JsonValueKind.Undefined } given && StorableJson.Problem(given) is { } unstorable)
        {
            errors["args" + unstorable.Path] = [unstorable.Message];
            return new ArgsCheck(null, null, errors);
        }
        object? value;
        try
        {
            value = args is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } json
                ? json.Deserialize(definition.ArgsType, ArgsJson)
                : JsonSerializer.Deserialize("{}", definition.ArgsType, ArgsJson);
        }
        catch (JsonException e)
        {
            errors[FieldName(e.Path)] = [Clean(e.Message)];
            return new ArgsCheck(null, null, errors);
        }
        if (value is null)
        {
            errors["args"] = ["args must be a JSON object."];
            return new ArgsCheck(null, null, errors);
        }

        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true))
        {
            foreach (var r in results)
            foreach (var member in r.MemberNames.DefaultIfEmpty(""))
            {
                var key = member.Length == 0 ? "args" : "args." + JsonNamingPolicy.CamelCase.ConvertName(member);
                errors[key] = [.. errors.GetValueOrDefault(key, []), r.ErrorMessage ?? "is not valid."];
            }
            return new ArgsCheck(null, null, errors);
        }
        var normalised = JsonSerializer.Serialize(value, definition.ArgsType, ArgsJson);
        if (ContainsNul(normalised))
        {
            errors["args"] = ["args must not contain NUL characters (\\u0000): PostgreSQL can't store them."];
            return new ArgsCheck(null, null, errors);
        }
        return new ArgsCheck(value, normalised, errors);
    }

    /// <summary>Whether JSON text holds a NUL character (a <c>\u0000</c> escape), which PostgreSQL's jsonb refuses.</summary>
    public static bool ContainsNul(string json) => EscapedNul().IsMatch(json);

    // A \u0000 escape in the JSON text, not a literal backslash followed by "u0000".
    [System.Text.RegularExpressions.GeneratedRegex(@"(?<!\\)(?:\\\\)*\\u0000")]
    private static partial System.Text.RegularExpressions.Regex EscapedNul();

    private static string FieldName(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "args" : "args" + path.TrimStart('$');

    // System.Text.Json appends "Path: $.x | LineNumber: ..." to its messages; the field name already says where.
    private static string Clean(string message)
    {
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        return cut < 0 ? message : message[..cut];
    }
}

public sealed record ArgsCheck(object? Value, string? Json, IReadOnlyDictionary<string, string[]> Errors)
{
    public bool IsValid => Errors.Count == 0;
}
