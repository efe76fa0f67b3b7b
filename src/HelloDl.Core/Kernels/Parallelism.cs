namespace HelloDl.Kernels;

/// <summary>
/// How many threads the kernels may use. Work is always split into the same fixed pieces for a
/// given thread count, so results are reproducible for that count.
/// </summary>
public static class Parallelism
{
    static int _maxThreads = Environment.ProcessorCount;
    [ThreadStatic] static bool _insideParallelRegion;

    /// <summary>Threads used by the kernels (1..processor count). Defaults to all processors.</summary>
    public static int MaxThreads
    {
        get => _maxThreads;
        set => _maxThreads = value >= 1 ? Math.Min(value, Environment.ProcessorCount)
            : throw new ArgumentOutOfRangeException(nameof(value), "At least one thread.");
    }

    /// <summary>
    /// Runs <paramref name="body"/> for pieces 0..pieces-1, on up to MaxThreads threads when the
    /// work (in multiply-adds) is large enough to pay for waking them.
    /// </summary>
    public static void For(int pieces, long work, Action<int> body)
    {
        const long MinimumParallelWork = 200_000;
        int threads = Math.Min(MaxThreads, pieces);
        // A kernel called from inside another kernel's parallel piece runs serially: the cores are busy.
        if (threads <= 1 || work < MinimumParallelWork || _insideParallelRegion)
        {
            for (int i = 0; i < pieces; i++) body(i);
            return;
        }
        Parallel.For(0, pieces, new ParallelOptions { MaxDegreeOfParallelism = threads }, piece =>
        {
            bool outer = _insideParallelRegion;
            _insideParallelRegion = true;
            try { body(piece); }
            finally { _insideParallelRegion = outer; }
        });
    }
}
