using System.Collections.Concurrent;
using System.Reflection;
using Xunit.v3;

[assembly: Tasks.Tests.Infrastructure.RunningTests]

namespace Tasks.Tests.Infrastructure;

/// <summary>
/// The test running in each test collection (a collection's tests run one at a time), so that what a stack's hosts
/// log on their own threads, which carry no test context, lands in that test's output: kept in the results and
/// shown by the runner when the test fails, not on the console. Lines logged between tests (a fixture starting) go
/// to the next test's output.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class RunningTestsAttribute : BeforeAfterTestAttribute
{
    private const int MaxPending = 500;
    private static readonly ConcurrentDictionary<string, ITestOutputHelper> Running = new();
    private static readonly ConcurrentDictionary<string, ConcurrentQueue<string>> Pending = new();

    /// <summary>The collection of the test or fixture being set up now, to hand to <see cref="Write"/> later.</summary>
    public static string CurrentCollection => TestContext.Current.TestCollection?.UniqueID ?? "";

    public override void Before(MethodInfo methodUnderTest, IXunitTest test)
    {
        if (TestContext.Current.TestOutputHelper is not { } output) return;
        var collection = test.TestCase.TestCollection.UniqueID;
        if (Pending.TryGetValue(collection, out var pending))
            while (pending.TryDequeue(out var line)) output.WriteLine(line);
        Running[collection] = output;
    }

    public override void After(MethodInfo methodUnderTest, IXunitTest test) =>
        Running.TryRemove(test.TestCase.TestCollection.UniqueID, out _);

    /// <summary>Writes <paramref name="line"/> to the output of the test running in <paramref name="collection"/>.</summary>
    public static void Write(string collection, string line)
    {
        if (Running.TryGetValue(collection, out var output))
        {
            try
            {
                output.WriteLine(line);
                return;
            }
            catch (InvalidOperationException)
            {
                // The test has just finished: the line goes to the next one.
            }
        }
        var pending = Pending.GetOrAdd(collection, _ => new ConcurrentQueue<string>());
        pending.Enqueue(line);
        while (pending.Count > MaxPending) pending.TryDequeue(out _);
    }
}
