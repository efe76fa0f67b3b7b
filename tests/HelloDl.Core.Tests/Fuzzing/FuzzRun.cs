using Xunit.Abstractions;
using System.Diagnostics;

namespace HelloDl.Tests.Fuzzing;

/// <summary>
/// Runs mutated cases of one format against a reader and tallies what became of them. A case
/// must end in a documented error id (a <see cref="FileProblemException"/>) or in a result the
/// target accepts; any other exception, a case that takes longer than <see cref="CaseTimeLimit"/>
/// or allocates more than <see cref="MemoryBound"/> fails the run. Counts per kind of mutation
/// and outcome go to the test output and, when HELLODL_FUZZ_REPORT names a file, into it.
/// </summary>
public sealed class FuzzRun(string format)
{
    /// <summary>Longer than any case takes on a slow CI core; a case past it counts as a hang.</summary>
    public static readonly TimeSpan CaseTimeLimit = TimeSpan.FromSeconds(10);
    /// <summary>Managed bytes one case may allocate: the largest image decoded (40 MP) at 16 bytes a pixel, and room for the decoder.</summary>
    public const long MemoryBound = (64L << 20) + 16 * HelloDl.Imaging.ImageReader.MaxPixels;

    readonly SortedDictionary<(string Kind, string Outcome), int> _counts = new();
    readonly List<string> _failures = [];
    public int Cases { get; private set; }

    /// <summary>
    /// Runs <paramref name="cases"/> mutations of <paramref name="original"/>; the target returns
    /// what it made of a case that read without error ("same model", "read", ...), or throws
    /// <see cref="FuzzFailure"/> for a wrong result.
    /// </summary>
    public FuzzRun Run(byte[] original, int seed, int cases, Func<byte[], string> target)
    {
        string? failure = null;
        int done = 0;
        // On a worker thread, so that the test can give up on a case that hangs.
        var worker = new Thread(() =>
        {
            try { RunCases(original, seed, cases, target, ref done); }
            catch (Exception e) { lock (_failures) _failures.Add($"{format}: the fuzzer itself failed: {e}"); }
        }) { IsBackground = true, Name = $"fuzz {format}" };
        worker.Start();
        int last = -1;
        while (!worker.Join(CaseTimeLimit))
        {
            int now = Volatile.Read(ref done);
            if (now == last) { failure = $"{format} seed {seed} case {now} hangs (no progress in {CaseTimeLimit.TotalSeconds} s)"; break; }
            last = now;
        }
        if (failure is not null) lock (_failures) _failures.Add(failure);
        Cases += Volatile.Read(ref done);
        return this;
    }

    void RunCases(byte[] original, int seed, int cases, Func<byte[], string> target, ref int done)
    {
        for (int index = 0; index < cases; index++)
        {
            var (kind, bytes) = Mutator.Mutate(original, seed, index);
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            string outcome;
            try { outcome = target(bytes); }
            catch (FileProblemException e) { outcome = e.ErrorId; }
            catch (Exception e)
            {
                outcome = "FAILED";
                _failures.Add($"{format} seed {seed} case {index} ({kind}, {bytes.Length} bytes): {(e is FuzzFailure ? "" : e.GetType().Name + ": ")}{e.Message}");
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            if (clock.Elapsed > CaseTimeLimit) _failures.Add($"{format} seed {seed} case {index} ({kind}): took {clock.Elapsed.TotalSeconds:F1} s");
            if (allocated > MemoryBound) _failures.Add($"{format} seed {seed} case {index} ({kind}): allocated {allocated:N0} bytes");
            lock (_counts) _counts[(kind, outcome)] = _counts.GetValueOrDefault((kind, outcome)) + 1;
            Volatile.Write(ref done, index + 1);
        }
    }

    /// <summary>
    /// Reports the counts (per outcome and kind of mutation to the test output, one line per
    /// format to the report file) and fails on the first few problems, if any.
    /// </summary>
    /// <param name="toReportFile">False for runs that test the fuzzer itself.</param>
    public void Report(ITestOutputHelper output, bool toReportFile = true)
    {
        List<(string Outcome, int Count, string Kinds)> outcomes;
        lock (_counts)
            outcomes = _counts.GroupBy(p => p.Key.Outcome).Select(g => (g.Key, g.Sum(p => p.Value), string.Join(", ", g.Select(p => $"{p.Key.Kind} {p.Value}"))))
                .OrderByDescending(o => o.Item2).ToList();
        output.WriteLine($"{format}: {Cases:N0} cases");
        foreach (var (outcome, count, kinds) in outcomes) output.WriteLine($"  {outcome}: {count:N0} ({kinds})");
        if (toReportFile && Environment.GetEnvironmentVariable("HELLODL_FUZZ_REPORT") is { Length: > 0 } report)
            lock (typeof(FuzzRun))
                File.AppendAllText(report, $"{format}, {Cases:N0} cases: {string.Join(", ", outcomes.Select(o => $"{o.Outcome} {o.Count:N0}"))}{Environment.NewLine}");
        Assert.True(_failures.Count == 0, $"{_failures.Count} of {Cases:N0} {format} cases failed:\n" + string.Join("\n", _failures.Take(10)));
    }
}

/// <summary>A case that read without error but to a wrong result.</summary>
public sealed class FuzzFailure(string message) : Exception(message);
