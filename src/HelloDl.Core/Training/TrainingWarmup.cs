using HelloDl.Data;
using HelloDl.Imaging;
using HelloDl.Kernels;
using HelloDl.Nn;
using HelloDl.Optim;

namespace HelloDl.Training;

/// <summary>
/// Rehearses a first training run and a first evaluation on a background thread, so that what
/// they call is compiled before a user's run needs it. The rehearsal trains one batch of each
/// image model as the defaults and the TorchSharp yardstick do (MLP with SGD, CNN with Adam) on
/// blank 28x28 images, with validation and calibration, then evaluates; then
/// <see cref="KernelWarmup"/> compiles the kernels it did not reach. The module starts it on
/// import, while a script is still loading its data. It shares no state with a user's run: kernel
/// calls made while it holds the worker threads run on their own thread, with the same results.
/// </summary>
/// <remarks>
/// What a training step and an evaluation call is marked
/// <see cref="System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization"/>, so the
/// rehearsal compiles it once, fully optimised. Left to ReadyToRun and tiering, those methods ran
/// as precompiled code and were then recompiled twice each (with counters, then with what they
/// counted) during the user's first epoch, on the second core: the first MLP epoch ran at 76-80% of
/// the second, a first evaluation at 88% of the next (Zen 4, rehearsal waited for, no PowerShell).
/// The MLP's step is rehearsed first: a script loading MNIST gives the rehearsal about 80 ms.
/// </remarks>
public static class TrainingWarmup
{
    const int Images = 64;

    static readonly Lazy<Task> Started = new(RehearseThenCompileKernels);

    /// <summary>Starts the rehearsal once per process (then the kernels' compilation); the task ends when both have run.</summary>
    public static Task Start() => Started.Value;

    static async Task RehearseThenCompileKernels()
    {
        try { await Task.Factory.StartNew(Rehearse, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default); }
        finally { await KernelWarmup.Start(); }
    }

    /// <summary>
    /// Each kernel call waits until no user's run has called a kernel for <see cref="Parallelism.Quiet"/>
    /// (the thread is marked as background). A run that starts during the rehearsal compiles on its
    /// own thread what it needs; the rest of the rehearsal (the CNN's after an MLP run, say) had
    /// taken the second core from its first epoch.
    /// </summary>
    static void Rehearse()
    {
        Parallelism.MarkThreadAsBackground();
        string[] classNames = ["0", "1"];
        var blank = Enumerable.Range(0, Images).Select(_ => new GrayImage(28, 28, new byte[28 * 28])).ToList();
        var set = ImageDataset.FromImages("warm-up", "blank images", classNames, blank, Enumerable.Range(0, Images).Select(i => i % 2).ToList());
        foreach (var (architecture, optimizer) in new[] { (Architecture.Mlp, OptimizerKind.Sgd), (Architecture.Cnn, OptimizerKind.Adam) })
        {
            Parallelism.WaitUntilQuiet(Parallelism.Quiet);
            var model = Model.Create(architecture, classNames, seed: 1);
            var trainer = new Trainer(model, new TrainingOptions { Optimizer = optimizer, BatchSize = Images });
            foreach (var _ in trainer.Run(set, validation: set)) { }
            Evaluator.Evaluate(model, set);
        }
    }
}
