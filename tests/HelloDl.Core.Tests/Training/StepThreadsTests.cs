using HelloDl.Training;

namespace HelloDl.Tests.Training;

public sealed class StepThreadsTests
{
    /// <summary>Runs <paramref name="steps"/> steps whose time (ms) a function of the step and its thread count gives; returns the steps run on one thread.</summary>
    static int Run(StepThreads chooser, int steps, Func<int, int, double> milliseconds, int first = 0)
    {
        int onOne = 0;
        for (int step = first; step < first + steps; step++)
        {
            int threads = chooser.Threads;
            Assert.True(threads == 1 || threads == chooser.All, $"step {step}: {threads} threads");
            if (threads == 1) onOne++;
            chooser.Record(TimeSpan.FromMilliseconds(milliseconds(step, threads)));
        }
        return onOne;
    }

    /// <summary>Timings that wobble by up to 6% from step to step, as real ones do.</summary>
    static double Noisy(double milliseconds, int step) => milliseconds * (1 + 0.06 * Math.Sin(step * 1.7));

    [Fact]
    public void The_median_of_a_window_is_the_mean_of_its_middle_two()
    {
        var random = new Random(3);
        for (int trial = 0; trial < 200; trial++)
        {
            // Few distinct values, so that ties come up too.
            var window = Enumerable.Range(0, StepThreads.Window).Select(_ => (double)random.Next(5)).ToArray();
            var sorted = window.Order().ToArray();
            var copy = (double[])window.Clone();
            Assert.Equal((sorted[3] + sorted[4]) / 2, StepThreads.Median(window));
            Assert.Equal(copy, window);   // the window is left as it was
        }
        Assert.Equal(4.5, StepThreads.Median([8, 7, 6, 5, 4, 3, 2, 1]));
    }

    [Fact]
    public void With_one_thread_there_is_nothing_to_choose()
    {
        var chooser = new StepThreads(1);
        Assert.Equal(1000, Run(chooser, 1000, (_, _) => 1));
        Assert.Equal(0, chooser.Probes);
    }

    [Fact]
    public void Where_all_threads_win_they_stay_and_probes_are_rare()
    {
        var chooser = new StepThreads(2);
        int onOne = Run(chooser, 20_000, (step, threads) => Noisy(threads == 1 ? 1.6 : 1.0, step));
        Assert.Equal(2, chooser.Current);
        Assert.Equal(0, chooser.Switches);
        // The first probe at step 64, then (it lost by far) after 1,024 and every 2,048 steps: 11 probes of 8 steps.
        Assert.InRange(onOne, StepThreads.Window, 11 * StepThreads.Window);
    }

    [Theory]
    [InlineData(1.1, 3)]   // lost narrowly: again after 256, then 512 steps
    [InlineData(1.6, 1)]   // lost by far: not again for 1,024 steps
    public void A_probe_that_lost_narrowly_comes_back_sooner_than_one_that_lost_by_far(double oneThread, int probes)
    {
        var chooser = new StepThreads(2);
        Run(chooser, 1_000, (step, threads) => Noisy(threads == 1 ? oneThread : 1.0, step));
        Assert.Equal(2, chooser.Current);
        Assert.Equal(probes, chooser.Probes);
    }

    [Fact]
    public void Where_one_thread_wins_the_run_switches_after_its_first_probe_and_stays()
    {
        var chooser = new StepThreads(2);
        Run(chooser, 100, (step, threads) => Noisy(threads == 1 ? 0.7 : 1.0, step));
        Assert.Equal(1, chooser.Current);
        int onOne = Run(chooser, 5_000, (step, threads) => Noisy(threads == 1 ? 0.7 : 1.0, step), first: 100);
        Assert.Equal(1, chooser.Switches);
        Assert.True(onOne > 4_800, $"{onOne} of 5,000 steps on one thread");
    }

    [Fact]
    public void A_slow_phase_moves_the_run_to_one_thread_and_its_end_moves_it_back()
    {
        var chooser = new StepThreads(2);
        // Fast: two threads win. Then two threads' steps take twice as long (cross-core traffic
        // got expensive), one thread's do not: the next window's slowdown sets off a probe.
        Run(chooser, 3_000, (step, threads) => Noisy(threads == 1 ? 1.6 : 1.0, step));
        Assert.Equal(2, chooser.Current);
        Run(chooser, 3 * StepThreads.Window, (step, threads) => Noisy(threads == 1 ? 1.6 : 2.0, step), first: 3_000);
        Assert.Equal(1, chooser.Current);
        // Back to fast: the periodic probe of all threads finds it within 256 steps and a window.
        Run(chooser, 256 + 3 * StepThreads.Window, (step, threads) => Noisy(threads == 1 ? 1.6 : 1.0, step), first: 4_000);
        Assert.Equal(2, chooser.Current);
        Assert.Equal(2, chooser.Switches);
    }

    [Fact]
    public void A_slowdown_that_hits_both_counts_alike_costs_one_probe_not_one_every_window()
    {
        var chooser = new StepThreads(2);
        Run(chooser, 3_000, (step, threads) => Noisy(threads == 1 ? 1.6 : 1.0, step));
        int probes = chooser.Probes;
        Run(chooser, 1_500, (step, threads) => Noisy(threads == 1 ? 3.2 : 2.0, step), first: 3_000);
        Assert.Equal(2, chooser.Current);
        Assert.Equal(probes + 1, chooser.Probes);
    }
}
