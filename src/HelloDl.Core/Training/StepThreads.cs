using System.Runtime.CompilerServices;

namespace HelloDl.Training;

/// <summary>
/// How many kernel threads a training run's next step uses: all of them or one, whichever its
/// recent steps ran faster with. Now and then a few steps run with the other count (a probe),
/// and the run switches when they beat the steps just before. Results do not depend on the
/// thread count, so this changes only the time a step takes.
/// </summary>
/// <remarks>
/// Two threads hand a step's data back and forth between their cores (activations, weights,
/// gradients). Where that is cheap all threads win, and after a first probe early in the run
/// the next come when steps slow down by a third, or after 256 steps, then 512, and so on up to
/// 2,048 (fourfold after a probe that ran 1.4 times as long as the steps before it). On a VM whose vCPUs
/// are at times placed far apart it is not cheap: in such phases of the Zen 4 VM the MLP trained
/// at 153,000-159,000 img/s on one thread and 120,000-125,000 on two (its inference, which shares
/// no data between threads, kept its speed). On one thread, all threads are probed every 256 steps.
/// </remarks>
internal sealed class StepThreads
{
    /// <summary>Steps a comparison takes the median of.</summary>
    public const int Window = 8;
    /// <summary>The first probe: early, but after the run's first batches, which are slower for reasons of their own.</summary>
    const int FirstProbe = 64;
    /// <summary>
    /// Steps between probes: at least this many after a slowdown; on all threads, from 256 after a
    /// probe, doubling with each probe that loses (fourfold when it lost by far) up to 2,048 (a first
    /// probe can be misled by the run's first steps); on one thread, 256.
    /// </summary>
    const int ShortestInterval = 32, FirstInterval = 256, LongestInterval = 2048, IntervalOnOne = 256;
    /// <summary>
    /// Two windows in a row whose medians are this much above the best since the last probe are a
    /// slowdown worth a probe: a lone slow window (a collection, a recompilation) is not, and in the
    /// Zen 4 VM's slow phases two threads' steps took twice as long.
    /// </summary>
    const double Slowdown = 1.35;
    /// <summary>How much faster the other count must be to switch, so that timing noise does not flip it back and forth.</summary>
    const double Margin = 0.95;
    /// <summary>A probe this much slower than the steps before it lost by far.</summary>
    const double ClearLoss = 1.4;

    readonly double[] _recent = new double[Window], _probe = new double[Window];
    int _recentCount, _recentNext, _probeCount, _sinceProbe, _slowWindows, _interval = FirstInterval;
    bool _probing;
    double _best = double.PositiveInfinity;

    /// <param name="all">The threads the kernels may use (<see cref="Kernels.Parallelism.MaxThreads"/>); with 1 there is nothing to choose.</param>
    public StepThreads(int all)
    {
        if (all < 1) throw new ArgumentOutOfRangeException(nameof(all));
        All = Current = all;
    }

    /// <summary>The threads to choose from: all of them, or one.</summary>
    public int All { get; }

    /// <summary>The count the run uses outside probes.</summary>
    public int Current { get; private set; }

    /// <summary>Threads for the next step.</summary>
    public int Threads => _probing ? Other : Current;

    /// <summary>Switches made so far.</summary>
    public int Switches { get; private set; }

    /// <summary>Probes run so far.</summary>
    public int Probes { get; private set; }

    int Other => Current == 1 ? All : 1;

    /// <summary>Notes how long a full-sized step took with <see cref="Threads"/> threads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Record(TimeSpan step)
    {
        if (All == 1) return;
        if (_probing)
        {
            _probe[_probeCount++] = step.TotalSeconds;
            if (_probeCount == Window) EndProbe();
            return;
        }
        _recent[_recentNext] = step.TotalSeconds;
        _recentNext = (_recentNext + 1) % Window;
        _recentCount = Math.Min(Window, _recentCount + 1);
        if (++_sinceProbe % Window != 0 || _recentCount < Window) return;
        double median = Median(_recent);
        _slowWindows = median > Slowdown * _best ? _slowWindows + 1 : 0;
        bool due = Current == 1 ? _sinceProbe >= IntervalOnOne
            : Probes == 0 ? _sinceProbe >= FirstProbe
            : _sinceProbe >= _interval || (_sinceProbe >= ShortestInterval && _slowWindows >= 2);
        _best = Math.Min(_best, median);
        if (due) (_probing, _probeCount) = (true, 0);
    }

    // Once per probe: a run whose steps keep slowing down probes every 40 steps, often enough for
    // the runtime to recompile this during a first epoch.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void EndProbe()
    {
        _probing = false;
        _slowWindows = 0;
        Probes++;
        _sinceProbe = 0;
        double probe = Median(_probe), recent = Median(_recent);
        if (probe < Margin * recent)
        {
            Current = Other;
            Switches++;
            _probe.CopyTo(_recent, 0);
            _recentNext = 0;
            _best = probe;
            _interval = FirstInterval;
        }
        else
        {
            // Steps this slow are the new normal for this count until they speed up again.
            _best = recent;
            // A probe that lost by far (one thread at 1.6-1.8 times the step time of two, in fast
            // phases on Zen 4) backs off faster; a first one that lost narrowly gets the first
            // interval again, as the run's first steps may have misled it.
            bool clearLoss = probe > ClearLoss * recent;
            if (Probes > 1 || clearLoss) _interval = Math.Min((clearLoss ? 4 : 2) * _interval, LongestInterval);
        }
    }

    /// <summary>
    /// The median of a window, by insertion sort: eight values need no more, and the library's
    /// generic sort was compiled three times over (some twenty methods) during a first epoch, on the
    /// core the training's other thread runs on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double Median(double[] values)
    {
        Span<double> sorted = stackalloc double[Window];
        for (int i = 0; i < Window; i++)
        {
            double value = values[i];
            int j = i;
            for (; j > 0 && sorted[j - 1] > value; j--) sorted[j] = sorted[j - 1];
            sorted[j] = value;
        }
        return (sorted[Window / 2 - 1] + sorted[Window / 2]) / 2;
    }
}
