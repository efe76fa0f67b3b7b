using HelloDl.Data;
using HelloDl.Kernels;
using HelloDl.Nn;
using HelloDl.Optim;
using HelloDl.Training;
using HelloDl.Tests.Kernels;
using Xunit.Abstractions;

namespace HelloDl.Tests.Training;

/// <summary>hello-dl's models trained on real MNIST by the core alone, measured on the 10,000 test images.</summary>
[Collection(nameof(GlobalKernelSettings))]
public sealed class MnistTrainingTests(ITestOutputHelper output)
{
    Model Train(Architecture architecture, ImageDataset train, TrainingOptions options, int epochs)
    {
        var model = Model.Create(architecture, train.ClassNames, seed: 1);
        var trainer = new Trainer(model, options);
        for (int e = 0; e < epochs; e++)
        {
            var r = trainer.TrainEpoch(train);
            output.WriteLine($"{architecture} epoch {r.Epoch}: loss {r.TrainLoss:F4}, train accuracy {r.TrainAccuracy:P2}, {r.ImagesPerSecond:N0} images/s");
        }
        return model;
    }

    double TestAccuracy(Model model, ImageDataset test)
    {
        var evaluation = Evaluator.Evaluate(model, test);
        output.WriteLine($"test accuracy {evaluation.Accuracy:P2} on {evaluation.Count:N0} images");
        return evaluation.Accuracy;
    }

    [Fact]
    public void Smoke_mlp_on_10000_images_for_one_epoch_reaches_90_percent()
    {
        var subset = MnistData.Train.Select(Enumerable.Range(0, 10_000).ToArray());
        var model = Train(Architecture.Mlp, subset, new TrainingOptions { Optimizer = OptimizerKind.Sgd }, epochs: 1);
        Assert.True(TestAccuracy(model, MnistData.Test) >= 0.90);
    }

    // The documented figures, reached with the defaults: nothing but the number of epochs is set.

    [Fact]
    public void Linear_3_vs_7_reaches_98_percent_in_three_epochs_with_the_defaults()
    {
        var train = MnistData.Train.WithClasses("3", "7");
        var model = Train(Architecture.Linear, train, new TrainingOptions { Epochs = 3 }, epochs: 3);
        Assert.True(TestAccuracy(model, MnistData.Test.WithClasses("3", "7")) >= 0.98);
    }

    [Fact]
    public void Mlp_reaches_97_5_percent_in_two_epochs_with_the_defaults()
    {
        var model = Train(Architecture.Mlp, MnistData.Train, new TrainingOptions { Epochs = 2 }, epochs: 2);
        Assert.True(TestAccuracy(model, MnistData.Test) >= 0.975);
    }

    [Fact]
    public void Cnn_reaches_99_percent_in_two_epochs_with_the_defaults()
    {
        var model = Train(Architecture.Cnn, MnistData.Train, new TrainingOptions { Epochs = 2 }, epochs: 2);
        Assert.True(TestAccuracy(model, MnistData.Test) >= 0.99);
    }
}

[Collection(nameof(GlobalKernelSettings))]
public sealed class ReproducibilityTests
{
    static float[] TrainOnce(int threads, Architecture architecture = Architecture.Cnn, int images = 640)
    {
        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = threads;
            var subset = MnistData.Train.Select(Enumerable.Range(0, images).ToArray());
            var model = Model.Create(architecture, subset.ClassNames, seed: 3);
            var trainer = new Trainer(model, new TrainingOptions { Seed = 11, Augmentation = new Augmentation() });
            trainer.TrainEpoch(subset);
            return model.Values;
        }
        finally { Parallelism.MaxThreads = saved; }
    }

    [Fact]
    public void Same_seed_and_thread_count_give_bit_identical_weights()
    {
        // Dropout, augmentation, shuffling and initialisation all drawn from the seeds.
        int threads = Environment.ProcessorCount;
        Assert.Equal(TrainOnce(threads), TrainOnce(threads));
    }

    [Fact]
    public void Weights_do_not_depend_on_the_thread_count_even_when_a_run_changes_it_between_steps()
    {
        // A run chooses each step's threads from how fast its steps ran (StepThreads), so its
        // weights must be those of any fixed count. 90 MLP steps include the first probe (8 steps
        // on one thread, at step 64) whatever it decides.
        Assert.Equal(TrainOnce(1), TrainOnce(2));
        Assert.Equal(TrainOnce(1), TrainOnce(3));
        var mlp = TrainOnce(1, Architecture.Mlp, 64 * 90);
        Assert.Equal(mlp, TrainOnce(2, Architecture.Mlp, 64 * 90));
    }

    [Fact]
    public void An_epoch_reports_the_steps_whose_kernels_ran_on_one_thread()
    {
        var subset = MnistData.Train.Select(Enumerable.Range(0, 64 * 90).ToArray());
        int saved = Parallelism.MaxThreads;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                Parallelism.MaxThreads = threads;
                var trainer = new Trainer(Model.Create(Architecture.Mlp, subset.ClassNames, seed: 3), new TrainingOptions { Seed = 11 });
                int onOne = trainer.TrainEpoch(subset).StepsOnOneThread;
                // With two threads, at least the first probe (8 steps at step 64) ran on one.
                if (threads == 1) Assert.Equal(0, onOne);
                else Assert.InRange(onOne, StepThreads.Window, 90);
            }
        }
        finally { Parallelism.MaxThreads = saved; }
    }

    [Fact]
    public void Steady_state_training_allocates_almost_nothing_per_batch()
    {
        var subset = MnistData.Train.Select(Enumerable.Range(0, 64 * 40).ToArray());
        var model = Model.Create(Architecture.Cnn, subset.ClassNames);
        var trainer = new Trainer(model, new TrainingOptions());
        trainer.TrainEpoch(subset);   // warm: buffers are made in the first batches
        long before = GC.GetTotalAllocatedBytes(precise: true);
        trainer.TrainEpoch(subset);
        long perBatch = (GC.GetTotalAllocatedBytes(precise: true) - before) / 40;
        // One batch of CNN activations is several MB; what remains is small bookkeeping (op records, closures).
        Assert.True(perBatch < 16 * 1024, $"{perBatch:N0} bytes allocated per batch");
    }
}
