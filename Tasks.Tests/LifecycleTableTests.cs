using System.Reflection;
using System.Text.RegularExpressions;
using Tasks.Core.Entities;
using Tasks.Core.Lifecycle;

namespace Tasks.Tests;

/// <summary>
/// The lifecycle table (<see cref="TaskLifecycle"/>) is the one list of moves: every statement that writes a task's
/// state names its moves there, and says no state the table doesn't list; nothing outside the lifecycle writes one.
/// </summary>
public sealed partial class LifecycleTableTests
{
    private static readonly string[] ProductAssemblies = ["Tasks.Core", "Tasks.Web", "Tasks.Worker", "Tasks.Scheduler", "Tasks.Contracts"];

    private static readonly Dictionary<string, Move> Table = typeof(TaskLifecycle)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType == typeof(Move))
        .ToDictionary(f => f.Name, f => (Move)f.GetValue(null)!);

    [Fact]
    public void Every_statement_that_writes_a_state_lives_in_the_lifecycle_and_names_its_moves()
    {
        var writers = Constants().Where(c => StateSql.Writes(c.Sql)).ToList();
        Assert.NotEmpty(writers);
        Assert.All(writers, c => Assert.True(c.Field.DeclaringType!.Namespace!.StartsWith("Tasks.Core.Lifecycle", StringComparison.Ordinal),
            $"{Name(c.Field)} writes a task's state outside Tasks.Core.Lifecycle"));
        // The façade repeats some statements for PlanTests: a text is named once, where it is written.
        foreach (var text in writers.GroupBy(c => c.Sql))
            Assert.True(text.Any(c => c.Field.GetCustomAttribute<MakesAttribute>() is not null),
                $"{Name(text.First().Field)} writes a task's state but names no move of TaskLifecycle ([Makes])");
    }

    [Fact]
    public void Each_statement_moves_only_from_and_to_the_states_its_moves_list()
    {
        var statements = MoveStatements().ToList();
        Assert.NotEmpty(statements);
        foreach (var (field, sql, moves) in statements)
            Assert.Empty(StateSql.Problems(sql, moves.Select(m => Table[m]).ToList()).Select(p => $"{Name(field)}: {p}"));
    }

    [Fact]
    public void Every_move_of_the_table_is_made_by_a_statement_with_all_its_states()
    {
        var statements = MoveStatements().ToList();
        foreach (var (name, move) in Table.Where(m => m.Key != nameof(TaskLifecycle.Enqueue)))
        {
            var making = statements.Where(s => s.Moves.Contains(name)).Select(s => s.Sql).ToList();
            Assert.True(making.Count > 0, $"No statement makes {name}");
            Assert.Subset(making.SelectMany(StateSql.Sources).ToHashSet(), move.From.ToHashSet());
            Assert.Subset(making.SelectMany(StateSql.Targets).ToHashSet(), move.To.ToHashSet());
        }
    }

    [Fact]
    public void A_new_task_starts_in_a_state_the_enqueue_move_lists()
    {
        var now = DateTimeOffset.UtcNow;
        var started = new DateTimeOffset?[] { null, now.AddMinutes(-1), now.AddMinutes(1) }.Select(runAt =>
        {
            var task = new TaskRecord { Name = "demo.echo", Queue = "default", Args = "{}" };
            TaskStateMachine.Start(task, now, runAt);
            return task.State;
        });
        Assert.Equal(TaskLifecycle.Enqueue.To.ToHashSet(), started.ToHashSet());
        // The insert stores the state the move set on the record; nothing else of it.
        var insert = Assert.Single(MoveStatements(), s => s.Moves.Contains(nameof(TaskLifecycle.Enqueue)));
        Assert.Matches(@"INSERT INTO tasks \([^)]*\bstate\b", insert.Sql);
    }

    [Fact]
    public void The_check_catches_a_statement_that_allows_a_state_the_table_does_not_list()
    {
        var claim = new List<Move> { TaskLifecycle.Claim, TaskLifecycle.TakeOver };
        Assert.Empty(StateSql.Problems(TaskStateMachine.ClaimSql, claim));

        var fromScheduled = TaskStateMachine.ClaimSql.Replace("IN ('pending', 'queued')", "IN ('pending', 'queued', 'scheduled')", StringComparison.Ordinal);
        Assert.Contains(StateSql.Problems(fromScheduled, claim), p => p.Contains("scheduled", StringComparison.Ordinal));
        var toSucceeded = TaskStateMachine.ClaimSql.Replace("SET state = 'running'", "SET state = 'succeeded'", StringComparison.Ordinal);
        Assert.Contains(StateSql.Problems(toSucceeded, claim), p => p.Contains("succeeded", StringComparison.Ordinal));
        Assert.NotEmpty(StateSql.Problems("UPDATE tasks SET state = 'queued' WHERE id = $1", [TaskLifecycle.Republish]));
        Assert.True(StateSql.Writes("UPDATE tasks SET updated_at = now(), state = 'failed' WHERE id = $1"));
        Assert.False(StateSql.Writes("UPDATE tasks SET heartbeat_at = now() WHERE state = 'running'"));
    }

    [Fact]
    public void No_product_source_outside_the_lifecycle_writes_a_state()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Tasks.sln"))) root = root.Parent;
        Assert.NotNull(root);
        var lifecycle = Path.Combine(root.FullName, "Tasks.Core", "Lifecycle") + Path.DirectorySeparatorChar;
        var files = ProductAssemblies
            .SelectMany(p => Directory.EnumerateFiles(Path.Combine(root.FullName, p), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                        && !f.Contains($"{Path.DirectorySeparatorChar}Migrations{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.Contains(files, f => f.StartsWith(lifecycle, StringComparison.Ordinal)); // the scan sees the lifecycle itself
        var writers = files.Where(f => !f.StartsWith(lifecycle, StringComparison.Ordinal))
            .Where(f => StateSql.Writes(File.ReadAllText(f)) || RecordStateAssignment().IsMatch(File.ReadAllText(f)))
            .Select(f => Path.GetRelativePath(root.FullName, f));
        Assert.Empty(writers);
    }

    [GeneratedRegex(@"\bState\s*=(?!=)\s*TaskState\.")]
    private static partial Regex RecordStateAssignment();

    // Every string constant of the product, and the lifecycle's composed statements (static readonly).
    private static IEnumerable<(FieldInfo Field, string Sql)> Constants() =>
        ProductAssemblies.Select(Assembly.Load).SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(f => f.FieldType == typeof(string) && (f.IsLiteral
                || (f.IsInitOnly && f.DeclaringType!.Namespace?.StartsWith("Tasks.Core.Lifecycle", StringComparison.Ordinal) == true)))
            .Select(f => (f, (string)(f.IsLiteral ? f.GetRawConstantValue() : f.GetValue(null))!));

    private static IEnumerable<(FieldInfo Field, string Sql, IReadOnlyList<string> Moves)> MoveStatements() =>
        Constants().Select(c => (c.Field, c.Sql, c.Field.GetCustomAttribute<MakesAttribute>()?.Moves))
            .Where(c => c.Moves is not null)
            .Select(c =>
            {
                Assert.All(c.Moves!, m => Assert.True(Table.ContainsKey(m), $"{Name(c.Field)} names {m}, which TaskLifecycle doesn't list"));
                return (c.Field, c.Sql, c.Moves!);
            });

    private static string Name(FieldInfo f) => $"{f.DeclaringType!.FullName}.{f.Name}";

    /// <summary>Reads the states a statement moves from (its <c>state = / IN</c> tests) and to (its <c>SET state</c>).</summary>
    private static partial class StateSql
    {
        public static bool Writes(string sql) => Assignment().IsMatch(Clean(sql)) || Insert().IsMatch(Clean(sql));

        /// <summary>What it may move to; a statement that doesn't set the state leaves it as it found it, a delete in none.</summary>
        public static IEnumerable<TaskState> Targets(string sql)
        {
            if (Delete().IsMatch(Clean(sql))) return [];
            var assignment = Assignment().Match(Clean(sql));
            if (!assignment.Success) return Sources(sql);
            return Literal().Matches(assignment.Groups["value"].Value)
                .Where(m => m.Groups["branch"].Success || assignment.Groups["value"].Value.StartsWith('\''))
                .Select(m => Parse(m.Groups["state"].Value));
        }

        /// <summary>The states it tests for, outside its assignment of the state and what it returns.</summary>
        public static IEnumerable<TaskState> Sources(string sql)
        {
            var text = Assignment().Replace(Clean(sql), "");
            var returning = text.IndexOf("RETURNING", StringComparison.Ordinal);
            if (returning >= 0) text = text[..returning];
            return Predicate().Matches(text).SelectMany(m => m.Groups["one"].Success
                ? [m.Groups["one"].Value]
                : Literal().Matches(m.Groups["list"].Value).Select(l => l.Groups["state"].Value)).Select(Parse);
        }

        public static IEnumerable<string> Problems(string sql, IReadOnlyList<Move> moves)
        {
            var (from, to) = (moves.SelectMany(m => m.From).ToHashSet(), moves.SelectMany(m => m.To).ToHashSet());
            var (sources, targets) = (Sources(sql).ToHashSet(), Targets(sql).ToHashSet());
            if (sources.Count == 0 && from.Count > 0) yield return "writes a state without testing which state it moves from";
            foreach (var s in sources.Except(from)) yield return $"moves from {TaskStates.NameOf(s)}, which its moves don't list";
            foreach (var s in targets.Except(to)) yield return $"moves to {TaskStates.NameOf(s)}, which its moves don't list";
        }

        private static TaskState Parse(string name) =>
            TaskStates.TryParse(name, out var state) ? state : throw new InvalidOperationException($"'{name}' is no state");

        private static string Clean(string sql) => Comment().Replace(sql, "");

        [GeneratedRegex(@"--[^\n]*")]
        private static partial Regex Comment();

        // An assignment, never qualified in SQL: "SET state = ..." or ", state = ...".
        [GeneratedRegex(@"(?:\bSET|,)\s*state\s*=(?!=)\s*(?<value>CASE\b.*?\bEND\b|'[a-z]+')", RegexOptions.Singleline)]
        private static partial Regex Assignment();

        [GeneratedRegex(@"^\s*DELETE\s+FROM\s+tasks\b")]
        private static partial Regex Delete();

        [GeneratedRegex(@"INSERT\s+INTO\s+tasks\s*\([^)]*\bstate\b")]
        private static partial Regex Insert();

        [GeneratedRegex(@"(?<branch>\b(?:THEN|ELSE)\s+)?'(?<state>[a-z]+)'")]
        private static partial Regex Literal();

        [GeneratedRegex(@"\b(?:\w+\.)?state\s*(?:=\s*'(?<one>[a-z]+)'|IN\s*\((?<list>[^)]*)\))")]
        private static partial Regex Predicate();
    }
}
