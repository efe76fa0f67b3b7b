using HelloDl.Data;
using HelloDl.Imaging;
using HelloDl.Kernels;
using HelloDl.Nn;
using HelloDl.Optim;

namespace HelloDl.Training;

/// <summary>
/// Rehearses a first training run and a first evaluation on a background thread, so that what
/// they call is compiled before a user's run needs it. ReadyToRun cannot precompile code that
/// depends on the CPU's vector width (the kernels, System.Numerics.Tensors' generic methods) nor
/// generic instantiations made only here; compiled on first use, that was some 14 ms of JIT inside
/// a run's first batch on Zen 5, 8% of a one-epoch MLP run. The rehearsal trains one batch of each
/// image model as the defaults and the TorchSharp yardstick do (MLP with SGD, CNN with Adam) on
/// blank 28x28 images, with validation and calibration, then evaluates. The module starts it on
/// import, after <see cref="KernelWarmup"/>, while a script is still loading its data. It shares
/// no state with a user's run: kernel calls made while it holds the worker threads run on their
/// own thread, with the same results.
/// </summary>
public static class TrainingWarmup
{
    const int Images = 64;

    static readonly Lazy<Task> Started = new(() => KernelWarmup.Start().ContinueWith(_ => Rehearse(), CancellationToken.None,
        TaskContinuationOptions.LongRunning, TaskScheduler.Default));

    /// <summary>Starts the rehearsal once per process (the kernels first); the task ends when it has run.</summary>
    public static Task Start() => Started.Value;

    static void Rehearse()
    {
        string[] classNames = ["0", "1"];
        var blank = Enumerable.Range(0, Images).Select(_ => new GrayImage(28, 28, new byte[28 * 28])).ToList();
        var set = ImageDataset.FromImages("warm-up", "blank images", classNames, blank, Enumerable.Range(0, Images).Select(i => i % 2).ToList());
        foreach (var (architecture, optimizer) in new[] { (Architecture.Mlp, OptimizerKind.Sgd), (Architecture.Cnn, OptimizerKind.Adam) })
        {
            var model = Model.Create(architecture, classNames, seed: 1);
            var trainer = new Trainer(model, new TrainingOptions { Optimizer = optimizer, BatchSize = Images });
            foreach (var _ in trainer.Run(set, validation: set)) { }
            Evaluator.Evaluate(model, set);
        }
    }
}
