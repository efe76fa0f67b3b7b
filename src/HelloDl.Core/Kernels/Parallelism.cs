using System.Runtime.CompilerServices;
namespace HelloDl.Kernels;

/// <summary>
/// How many threads the kernels may use, and a small pool of persistent worker threads that run
/// the pieces of one kernel call. Work is always split into the same fixed pieces for a given
/// thread count and each piece is computed whole by one thread, so results are reproducible for
/// that count. Cheaper than Parallel.For per call (no per-call allocations beyond the job), which
/// matters at batch 64 where a kernel call lasts tens of microseconds.
/// </summary>
public static class Parallelism
{
    const long MinimumParallelWork = 400_000;
    static int _maxThreads = KernelPlan.Current.Threads;
    [ThreadStatic] static bool _insideParallelRegion;
    [ThreadStatic] static int _threadLimit;
    [ThreadStatic] static bool _backgroundThread;
    static long _lastForegroundCall;
    static readonly object PoolGate = new();
    static readonly SemaphoreSlim Wake = new(0);
    static volatile Job? _current;
    static volatile int _generation;
    static int _sleepingWorkers;
    static int _workerCount;
    // Workers spin this long for the next job before sleeping: kernel calls in a training step come
    // microseconds apart, and waking a sleeping thread costs more than a small kernel.
    static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 5000;

    /// <summary>
    /// Threads used by the kernels (1..1024), the plan's (all processors) by default. More threads than
    /// processors share the cores: slower, but allowed, so that the split of the work (and its
    /// thread-count independence) can be tested on any machine.
    /// </summary>
    public static int MaxThreads
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        get => _threadLimit is > 0 and var limit && limit < _maxThreads ? limit : _maxThreads;
        set => _maxThreads = value is >= 1 and <= 1024 ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "From 1 to 1024 threads.");
    }

    /// <summary>
    /// Until the returned scope is disposed, kernel calls made on this thread use at most
    /// <paramref name="threads"/> threads (<see cref="MaxThreads"/> reads the lower count there).
    /// A training run may change it from step to step: the kernels' results do not depend on the
    /// thread count.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ThreadLimit LimitThreads(int threads)
    {
        if (threads is < 1 or > 1024) throw new ArgumentOutOfRangeException(nameof(threads), threads, "From 1 to 1024 threads.");
        var scope = new ThreadLimit(_threadLimit);
        _threadLimit = threads;
        return scope;
    }

    /// <summary>Restores the calling thread's previous limit (see <see cref="LimitThreads"/>).</summary>
    public readonly struct ThreadLimit : IDisposable
    {
        readonly int _previous;
        internal ThreadLimit(int previous) => _previous = previous;
        public void Dispose() => _threadLimit = _previous;
    }

    /// <summary>
    /// Whether <see cref="For"/> would spread this work over threads; callers use it to skip
    /// building a closure for work that runs on the calling thread anyway.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool WouldSplit(int pieces, long work) =>
        Math.Min(MaxThreads, pieces) > 1 && work >= MinimumParallelWork && !_insideParallelRegion;

    /// <summary>
    /// Runs <paramref name="body"/> for pieces 0..pieces-1, on up to MaxThreads threads when the
    /// work (in multiply-adds) is large enough to pay for waking them. A call made from inside a
    /// piece, or while another thread's call holds the pool, runs serially on its own thread.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void For(int pieces, long work, Action<int> body)
    {
        // A background call waits before it takes the pool, never inside one of its own pieces: there
        // it would hold the pool, and a user's calls would run on one thread while it waited.
        if (!_insideParallelRegion)
        {
            if (_backgroundThread) WaitUntilQuiet(Quiet);
            else Volatile.Write(ref _lastForegroundCall, System.Diagnostics.Stopwatch.GetTimestamp());
        }
        int threads = Math.Min(MaxThreads, pieces);
        if (threads <= 1 || work < MinimumParallelWork || _insideParallelRegion || !Monitor.TryEnter(PoolGate))
        {
            for (int i = 0; i < pieces; i++) body(i);
            return;
        }
        try
        {
            // Only when threads are missing: a call on every kernel call was recompiled during a user's first epoch.
            if (_workerCount < threads - 1) EnsureWorkers(threads - 1);
            var job = new Job(body, pieces);
            _current = job;
            // A full fence between publishing the job and counting sleepers (a worker counts itself,
            // then checks for a job): with a plain store, x86 may let the count be read before the
            // store is seen, and a worker that just went to sleep would miss this job.
#pragma warning disable CS0420 // Interlocked on a volatile field is atomic and fenced as intended
            Interlocked.Increment(ref _generation);
#pragma warning restore CS0420
            int sleeping = Volatile.Read(ref _sleepingWorkers);
            if (sleeping > 0) Wake.Release(Math.Min(sleeping, threads - 1));
            job.Work();
            job.WaitForOthers();
            _current = null;
            if (job.Error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(job.Error);
        }
        finally { Monitor.Exit(PoolGate); }
    }

    /// <summary>
    /// When a thread not marked as background last called <see cref="For"/> (a Stopwatch
    /// timestamp; 0 before any; calls from inside a piece count as their outer call): background
    /// work such as the import's rehearsal waits while this is recent, so as not to take the cores
    /// from a user's run.
    /// </summary>
    public static long LastForegroundCall => Volatile.Read(ref _lastForegroundCall);

    /// <summary>
    /// From now on, this thread's calls do not count in <see cref="LastForegroundCall"/>, and each
    /// waits (<see cref="WaitUntilQuiet"/>) while a user's run is calling kernels.
    /// </summary>
    public static void MarkThreadAsBackground() => _backgroundThread = true;

    /// <summary>How long the cores must have been free of a user's kernel calls before background work goes on.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Returns once no thread but background ones has called a kernel for <paramref name="quiet"/>. The
    /// import's rehearsal waits here (for <see cref="Quiet"/>) before each of its kernel calls, and
    /// the kernels' compilation before each method. When they waited only between stages, the stage
    /// under way when a script's training began (the CNN's, during an MLP run) went on compiling on
    /// the second core: on Zen 4 the process compiled for 102-120 ms during a script's first two MLP
    /// epochs instead of 44-48.
    /// </summary>
    public static void WaitUntilQuiet(TimeSpan quiet)
    {
        while (LastForegroundCall is long last and not 0)
        {
            var idle = System.Diagnostics.Stopwatch.GetElapsedTime(last);
            if (idle >= quiet) return;
            Thread.Sleep(quiet - idle + TimeSpan.FromMilliseconds(1));
        }
    }

    static void EnsureWorkers(int needed)
    {
        while (_workerCount < needed)
        {
            var thread = new Thread(WorkerLoop) { IsBackground = true, Name = $"HelloDl kernel worker {_workerCount + 1}" };
            thread.Start();
            _workerCount++;
        }
    }

    static void WorkerLoop()
    {
        _insideParallelRegion = true;
        int seen = _generation;
        while (true)
        {
            long until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
            var spinner = new SpinWait();
            while (_generation == seen && System.Diagnostics.Stopwatch.GetTimestamp() < until) spinner.SpinOnce(sleep1Threshold: -1);
            if (_generation == seen)
            {
                Interlocked.Increment(ref _sleepingWorkers);
                if (_generation == seen) Wake.Wait();
                Interlocked.Decrement(ref _sleepingWorkers);
            }
            seen = _generation;
            // A late or spurious wake-up may find the job finished (or gone): Work then finds no piece left.
            _current?.Work();
        }
    }

    sealed class Job
    {
        readonly Action<int> _body;
        readonly int _pieces;
        int _next = -1;
        int _pending;
        public Exception? Error;

        public Job(Action<int> body, int pieces)
        {
            _body = body;
            _pieces = _pending = pieces;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Work()
        {
            bool outer = _insideParallelRegion;
            _insideParallelRegion = true;
            try
            {
                int piece;
                while ((piece = Interlocked.Increment(ref _next)) < _pieces)
                {
                    try { _body(piece); }
                    catch (Exception e) { Interlocked.CompareExchange(ref Error, e, null); }
                    Interlocked.Decrement(ref _pending);
                }
            }
            finally { _insideParallelRegion = outer; }
        }

        /// <summary>
        /// Waits for the pieces other threads are still computing (at most one each, since every
        /// piece is taken by now). Spins, yielding the core when it takes long: a kernel's pieces
        /// mostly last microseconds, and an event allocated and signalled per job cost more.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void WaitForOthers()
        {
            var spinner = new SpinWait();
            while (Volatile.Read(ref _pending) > 0) spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
