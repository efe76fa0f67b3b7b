using System.Diagnostics;
using HelloDl.Kernels;
using HelloDl.Training;

namespace HelloDl.Tests.Training;

// With the kernel-settings tests, which run alone: the rehearsal stands aside while other tests call kernels.
[Collection(nameof(HelloDl.Tests.Kernels.GlobalKernelSettings))]
public sealed class TrainingWarmupTests
{
    /// <summary>
    /// A user's run: kernel calls far closer together than <see cref="Parallelism.Quiet"/> until
    /// <paramref name="stop"/>, returned once it has made its first (the calls before it may be long past).
    /// </summary>
    static Task StartUserRun(CancellationToken stop)
    {
        var firstCall = new ManualResetEventSlim();
        var run = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                Parallelism.For(1, 0, _ => { });
                firstCall.Set();
                Thread.Yield();
            }
        });
        Assert.True(firstCall.Wait(TimeSpan.FromSeconds(10)), "the run made no kernel call");
        return run;
    }

    [Fact]
    public async Task Warm_up_rehearses_training_and_evaluation_once_per_process()
    {
        var first = TrainingWarmup.Start();
        Assert.Same(first, TrainingWarmup.Start());
        // A rehearsal that throws (a model, trainer or evaluation path broken for blank images) faults the task.
        await first.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(first.IsCompletedSuccessfully);
    }

    [Fact]
    public void Kernel_calls_mark_the_cores_busy_unless_made_from_a_background_thread()
    {
        Parallelism.For(1, 0, _ => { });   // even a call too small to split
        long foreground = Parallelism.LastForegroundCall;
        Assert.InRange(Stopwatch.GetElapsedTime(foreground), TimeSpan.Zero, TimeSpan.FromSeconds(10));
        var background = new Thread(() =>
        {
            Parallelism.MarkThreadAsBackground();
            Parallelism.For(4, 10_000_000, _ => Parallelism.For(1, 0, _ => { }));
        });
        background.Start();
        background.Join();
        Assert.Equal(foreground, Parallelism.LastForegroundCall);
    }

    [Fact]
    public async Task The_rehearsal_waits_while_a_run_calls_kernels_and_goes_on_once_it_stops()
    {
        using var stop = new CancellationTokenSource();
        var run = StartUserRun(stop.Token);
        var quiet = TimeSpan.FromSeconds(1);
        var waiting = Task.Run(() => Parallelism.WaitUntilQuiet(quiet));
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted, "the rehearsal went on while a run was calling kernels");
        stop.Cancel();
        await run;
        var clock = Stopwatch.StartNew();
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"went on after {clock.Elapsed}");
    }

    [Fact]
    public async Task A_background_thread_s_kernel_call_waits_while_a_run_calls_kernels()
    {
        using var stop = new CancellationTokenSource();
        var run = StartUserRun(stop.Token);
        int calls = 0;
        var background = Task.Factory.StartNew(() =>
        {
            Parallelism.MarkThreadAsBackground();
            Parallelism.For(1, 0, _ => Interlocked.Increment(ref calls));
        }, TaskCreationOptions.LongRunning);
        await Task.Delay(400);
        Assert.Equal(0, Volatile.Read(ref calls));
        stop.Cancel();
        await run;
        await background.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_background_thread_s_call_inside_its_own_parallel_call_does_not_wait()
    {
        // Waiting there would hold the pool: a user's calls would run on one thread until they paused.
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = 2;
        using var entered = new ManualResetEventSlim();
        using var proceed = new ManualResetEventSlim();
        using var nestedDone = new ManualResetEventSlim();
        using var stop = new CancellationTokenSource();
        Thread? background = null;
        background = new Thread(() =>
        {
            Parallelism.MarkThreadAsBackground();
            Parallelism.For(2, 10_000_000, _ =>
            {
                if (Thread.CurrentThread != background) { Thread.Sleep(50); return; }   // the worker's piece: slow, so this thread takes the other
                entered.Set();
                proceed.Wait();
                Parallelism.For(1, 0, _ => { });
                nestedDone.Set();
            });
        });
        try
        {
            background.Start();
            Assert.True(entered.Wait(TimeSpan.FromSeconds(10)), "the background thread ran none of its call's pieces");
            var run = StartUserRun(stop.Token);
            await Task.Delay(100);
            proceed.Set();
            Assert.True(nestedDone.Wait(TimeSpan.FromSeconds(2)), "the nested call waited for the user's run to stop");
            stop.Cancel();
            await run;
        }
        finally
        {
            // The thread uses the events until it ends, so it ends before they are disposed.
            stop.Cancel();
            proceed.Set();
            background.Join();
            Parallelism.MaxThreads = saved;
        }
    }
}
