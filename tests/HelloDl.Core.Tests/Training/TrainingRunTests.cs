using HelloDl.Data;
using HelloDl.Nn;
using HelloDl.Optim;
using HelloDl.Serialization;
using HelloDl.Tests.Kernels;
using HelloDl.Training;

namespace HelloDl.Tests.Training;

/// <summary>A whole training run in Core: epochs, checkpoints, resuming and calibration.</summary>
[Collection(nameof(GlobalKernelSettings))]
public sealed class TrainingRunTests : IDisposable
{
    static readonly ImageDataset Small = MnistData.Train.Select(Enumerable.Range(0, 640).ToArray());
    static readonly ImageDataset Held = MnistData.Test.Select(Enumerable.Range(0, 500).ToArray());
    readonly TempFolder _temp = new();
    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_run_checkpoints_every_epoch_and_calibrates_after_the_last()
    {
        var model = Model.Create(Architecture.Mlp, Small.ClassNames);
        var trainer = new Trainer(model, new TrainingOptions { Epochs = 2, Optimizer = OptimizerKind.Sgd });
        string path = _temp.File("run.safetensors");
        var saved = new List<Checkpoint>();
        var epochs = new List<EpochResult>();
        foreach (var epoch in trainer.Run(Small, Held, path))
        {
            epochs.Add(epoch);
            saved.Add(ModelFile.LoadCheckpoint(path));
        }

        Assert.Equal([1, 2], epochs.Select(e => e.Epoch));
        Assert.Equal([1, 2], saved.Select(c => c.CompletedEpochs));
        Assert.All(saved, c => Assert.Equal(OptimizerKind.Sgd, c.Optimizer));
        Assert.Equal(2 * 10, saved[1].OptimizerSteps);
        Assert.Null(epochs[0].CalibratedTemperature);
        Assert.Equal(1, saved[0].Model.Temperature);
        // Calibration runs before the last checkpoint, so the file holds the fitted temperature.
        Assert.NotNull(epochs[1].CalibratedTemperature);
        Assert.NotEqual(1, model.Temperature);
        Assert.Equal(model.Temperature, epochs[1].CalibratedTemperature);
        Assert.Equal(model.Temperature, saved[1].Model.Temperature);
        Assert.Equal(model.Values, saved[1].Model.Values);
        Assert.StartsWith("mnist-train, 2 epoch(s), Sgd, mnist-test accuracy ", model.TrainingSummary);
        Assert.Contains("calibrated temperature", model.TrainingSummary);
    }

    [Fact]
    public void Calibration_can_be_left_out()
    {
        var model = Model.Create(Architecture.Linear, Small.ClassNames);
        var epochs = new Trainer(model, new TrainingOptions { Calibrate = false }).Run(Small, Held).ToList();
        Assert.Single(epochs);
        Assert.Null(epochs[0].CalibratedTemperature);
        Assert.Equal(1, model.Temperature);
    }

    [Fact]
    public void A_resumed_run_continues_as_if_never_stopped()
    {
        var options = new TrainingOptions { Epochs = 2, Seed = 4, Augmentation = new Augmentation() };
        var straight = Model.Create(Architecture.Cnn, Small.ClassNames, seed: 2);
        Assert.Equal(2, new Trainer(straight, options).Run(Small).Count());

        var first = Model.Create(Architecture.Cnn, Small.ClassNames, seed: 2);
        string path = _temp.File("cnn.safetensors");
        // Stop enumerating after the first epoch, as a stopped run does: its checkpoint is written.
        Assert.Equal(1, new Trainer(first, options).Run(Small, checkpointPath: path).First().Epoch);

        var resumed = Model.Create(Architecture.Cnn, Small.ClassNames, seed: 99);
        var trainer = Trainer.ResumeFrom(path, resumed, options);
        Assert.Equal(1, trainer.CompletedEpochs);
        Assert.Equal(OptimizerKind.Adam, trainer.Optimizer.Kind);
        Assert.Equal([2], trainer.Run(Small).Select(e => e.Epoch));
        Assert.Equal(straight.Values, resumed.Values);
        Assert.Equal(2, resumed.TrainedEpochs);
    }

    string CheckpointOf(Architecture architecture, OptimizerKind optimizer)
    {
        var model = Model.Create(architecture, Small.ClassNames);
        string path = _temp.File($"{architecture}-{optimizer}.safetensors");
        new Trainer(model, new TrainingOptions { Optimizer = optimizer }).Run(Small, checkpointPath: path).ToList();
        return path;
    }

    [Fact]
    public void Resuming_takes_the_checkpoints_optimizer_and_refuses_another()
    {
        string path = CheckpointOf(Architecture.Mlp, OptimizerKind.Sgd);
        var options = new TrainingOptions { Epochs = 2 };
        var trainer = Trainer.ResumeFrom(path, Model.Create(Architecture.Mlp, Small.ClassNames), options);
        Assert.Equal(OptimizerKind.Sgd, trainer.Optimizer.Kind);
        Assert.Equal(TrainingDefaults.LearningRateFor(Architecture.Mlp, OptimizerKind.Sgd), trainer.BaseLearningRate);

        var refused = Assert.Throws<CheckpointMismatchException>(() =>
            Trainer.ResumeFrom(path, Model.Create(Architecture.Mlp, Small.ClassNames), options with { Optimizer = OptimizerKind.Adam }));
        Assert.Equal(CheckpointErrorIds.OptimizerMismatch, refused.ErrorId);
        Assert.Contains(path, refused.Message);
        Assert.Contains("trained with Sgd", refused.Message);
    }

    [Fact]
    public void Resuming_refuses_a_checkpoint_of_another_model_and_leaves_the_model_alone()
    {
        string path = CheckpointOf(Architecture.Mlp, OptimizerKind.Adam);
        var other = Model.Create(Architecture.Mlp, Small.ClassNames, seed: 5, hiddenSize: 32);
        var before = other.Values.ToArray();
        var refused = Assert.Throws<CheckpointMismatchException>(() => Trainer.ResumeFrom(path, other, new TrainingOptions()));
        Assert.Equal(CheckpointErrorIds.ModelMismatch, refused.ErrorId);
        Assert.Equal(before, other.Values);
        Assert.Equal(CheckpointErrorIds.ModelMismatch, Assert.Throws<CheckpointMismatchException>(() =>
            Trainer.ResumeFrom(path, Model.Create(Architecture.Linear, Small.ClassNames), new TrainingOptions())).ErrorId);
    }

    [Fact]
    public void A_checkpoint_naming_an_unknown_optimizer_is_refused()
    {
        string path = CheckpointOf(Architecture.Linear, OptimizerKind.Adam);
        // Written whole, checksum and all, as a future HelloDl with another optimizer would.
        var content = SafeTensors.Read(path);
        var metadata = new Dictionary<string, string>(content.Metadata) { ["checkpoint_optimizer"] = "Nada" };
        metadata[ModelFile.ChecksumKey] = ModelFile.Checksum(content.Tensors, metadata);
        using (var file = File.Create(path)) SafeTensors.Write(file, content.Tensors, metadata);
        var refused = Assert.Throws<ModelFileException>(() => Trainer.ResumeFrom(path, Model.Create(Architecture.Linear, Small.ClassNames), new TrainingOptions()));
        Assert.Equal(ModelFileErrorIds.BadHeader, refused.ErrorId);
        Assert.Contains("'Nada'", refused.Message);
    }

    [Fact]
    public void A_damaged_training_log_gets_its_id()
    {
        string path = _temp.File("log.sqlite");
        File.WriteAllBytes(path, [.. "SQLite format 3\0"u8, .. new byte[4080]]);
        var error = Assert.Throws<TrainingLogException>(() => TrainingLogReader.Runs(path));
        Assert.Equal(TrainingLogErrorIds.Unreadable, error.ErrorId);
        Assert.Contains("log.sqlite", error.Message);
    }

    [Fact]
    public void A_loss_that_turns_nan_stops_training_with_the_last_good_weights()
    {
        var model = Model.Create(Architecture.Mlp, Small.ClassNames, seed: 2);
        var trainer = new Trainer(model, new TrainingOptions { Optimizer = OptimizerKind.Sgd, LearningRate = 10, Momentum = 0.99f, Schedule = ScheduleKind.Constant, BatchSize = 16, Epochs = 3 });
        string checkpoint = _temp.File("diverged.safetensors");
        var diverged = Assert.Throws<TrainingDivergedException>(() => trainer.Run(Small, Held, checkpoint).ToList());
        Assert.Contains("training stopped", diverged.Message);
        Assert.All(model.Values, v => Assert.True(float.IsFinite(v)));
        Assert.All(HelloDl.Inference.DatasetPrediction.Batches(model, Held).SelectMany(b => Enumerable.Range(0, b.Count).Select(r => b.Row(r).ToArray().Sum())),
            sum => Assert.True(Math.Abs(sum - 1) < 1e-3, $"probabilities sum to {sum}"));
        Assert.True(!File.Exists(checkpoint) || ModelFile.LoadCheckpoint(checkpoint).CompletedEpochs < 3);
    }

    [Fact]
    public void Sets_that_do_not_fit_are_refused_before_any_work()
    {
        var model = Model.Create(Architecture.Linear, Small.ClassNames);
        var tooBig = new Trainer(model, new TrainingOptions { BatchSize = 641, HoldOutFraction = 0 });
        Assert.Equal("BatchSize", Assert.Throws<ArgumentOutOfRangeException>(() => tooBig.Run(Small).First()).ParamName);
        foreach (double fraction in new[] { 0.1, 0.5, 0.93 })
            Assert.Equal(Small.Partition(fraction).Training.Count, Small.TrainingCountAfterPartition(fraction));
        var heldOut = new Trainer(model, new TrainingOptions { BatchSize = 600, HoldOutFraction = 0.5 });
        Assert.Contains("holding out", Assert.Throws<ArgumentOutOfRangeException>(() => heldOut.Run(Small).First()).Message);
        var letters = Model.Create(Architecture.Linear, ["a", "b", "c"]);
        Assert.Equal("training", Assert.Throws<ArgumentException>(() => new Trainer(letters, new TrainingOptions()).Run(Small).First()).ParamName);
        Assert.Equal(0, model.TrainedEpochs);
    }

    [Theory]
    [InlineData(nameof(TrainingOptions.Momentum))]
    [InlineData(nameof(TrainingOptions.WeightDecay))]
    [InlineData(nameof(TrainingOptions.ClipNorm))]
    [InlineData(nameof(TrainingOptions.LearningRate))]
    public void A_nan_option_is_refused(string option)
    {
        var options = option switch
        {
            nameof(TrainingOptions.Momentum) => new TrainingOptions { Momentum = float.NaN },
            nameof(TrainingOptions.WeightDecay) => new TrainingOptions { WeightDecay = float.NaN },
            nameof(TrainingOptions.ClipNorm) => new TrainingOptions { ClipNorm = float.NaN },
            _ => new TrainingOptions { LearningRate = float.NaN },
        };
        Assert.Equal(option, Assert.Throws<ArgumentOutOfRangeException>(options.Validate).ParamName);
    }
}
