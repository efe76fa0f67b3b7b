using System.Management.Automation;
using HelloDl.Data;
using HelloDl.Nn;
using HelloDl.Serialization;
using HelloDl.Training;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>The training-image distortions Start-HelloTraining -Augment offers.</summary>
public enum AugmentationKind
{
    /// <summary>The images as they are.</summary>
    None,
    /// <summary>hello-dl's: shift by up to 2 pixels and flip 5 random pixels.</summary>
    HelloDl,
    /// <summary>Shift, rotation up to 10 degrees, scaling up to 10%, 5 flipped pixels.</summary>
    Geometric,
    /// <summary>Geometric plus what scans do: thicker or thinner strokes, blur, paler ink, noise.</summary>
    Scan,
}

/// <summary>
/// Start-HelloTraining: trains a model in place, one epoch object at a time. Ctrl+C stops after
/// the current batch; the model stays usable and the last checkpoint (written after each
/// completed epoch) stays valid.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "HelloTraining", SupportsShouldProcess = true)]
[OutputType("HelloDl.Training.EpochResult", "HelloDl.Nn.Model")]
public sealed class StartHelloTrainingCommand : HelloCmdlet, IDisposable
{
    readonly CancellationTokenSource _stop = new();
    TimeSpan _lastProgress = TimeSpan.FromSeconds(-1);

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNull]
    public Model? Model { get; set; }

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true)]
    [ValidateNotNull]
    public ImageDataset? TrainingSet { get; set; }

    /// <summary>Evaluated after each epoch.</summary>
    [Parameter]
    public ImageDataset? ValidationSet { get; set; }

    /// <summary>Total epochs; with -Resume, training continues up to this many.</summary>
    [Parameter]
    [ValidateRange(1, 10000)]
    public int Epochs { get; set; } = 3;

    [Parameter]
    [ValidateRange(1, 65536)]
    public int BatchSize { get; set; } = 64;

    /// <summary>Default: 0.001 for Adam/AdamW, 0.05 for SGD.</summary>
    [Parameter]
    [ValidateRange(1e-7, 10.0)]
    public float LearningRate { get; set; }

    [Parameter]
    public OptimizerKind Optimizer { get; set; } = OptimizerKind.Adam;

    [Parameter]
    [ValidateRange(0.0, 0.999)]
    public float Momentum { get; set; } = 0.9f;

    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public float WeightDecay { get; set; }

    [Parameter]
    public ScheduleKind Schedule { get; set; } = ScheduleKind.Cosine;

    /// <summary>Random distortions of the training images: None, HelloDl, Geometric or Scan.</summary>
    [Parameter]
    public AugmentationKind Augment { get; set; } = AugmentationKind.None;

    /// <summary>Fixes shuffling, dropout and augmentation.</summary>
    [Parameter]
    public int Seed { get; set; } = 1;

    /// <summary>A checkpoint (model and optimizer state) is written here after every epoch.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CheckpointPath { get; set; }

    /// <summary>Record every batch, validation and the final confusion matrix in this SQLite file (created or appended to).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? LogPath { get; set; }

    /// <summary>Continue from -CheckpointPath instead of starting afresh.</summary>
    [Parameter]
    public SwitchParameter Resume { get; set; }

    /// <summary>Also emit the trained model at the end.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var model = Model!;
        var training = TrainingSet!;
        CheckClasses(model, training, nameof(TrainingSet));
        if (ValidationSet is not null) CheckClasses(model, ValidationSet, nameof(ValidationSet));
        string? checkpoint = CheckpointPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(CheckpointPath);
        if (Resume && checkpoint is null)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Resume needs -CheckpointPath."), "ResumeWithoutCheckpoint", ErrorCategory.InvalidArgument, null));

        var options = new TrainingOptions
        {
            Epochs = Epochs, BatchSize = BatchSize, Optimizer = Optimizer, Momentum = Momentum, WeightDecay = WeightDecay,
            LearningRate = MyInvocation.BoundParameters.ContainsKey(nameof(LearningRate)) ? LearningRate : Optimizer == OptimizerKind.Sgd ? 0.05f : null,
            Schedule = Schedule, Seed = Seed,
            Augmentation = Augment switch
            {
                AugmentationKind.HelloDl => Augmentation.HelloDl,
                AugmentationKind.Geometric => new Augmentation(),
                AugmentationKind.Scan => Augmentation.Scan,
                _ => null,
            },
        };
        var trainer = new Trainer(model, options);
        if (Resume) RestoreFrom(checkpoint!, model, trainer);
        using var log = OpenLog(model, options);

        EpochResult? last = null;
        while (trainer.CompletedEpochs < Epochs && !_stop.IsCancellationRequested)
        {
            var epoch = trainer.TrainEpoch(training, ValidationSet, batch => { log?.LogBatch(batch); ShowProgress(batch); }, _stop.Token);
            if (epoch.Stopped) break;
            log?.LogEpoch(epoch);
            last = epoch;
            model.TrainingSummary = $"{training.Name}, {model.TrainedEpochs} epoch(s), {Optimizer}" +
                (epoch.ValidationAccuracy is double accuracy ? $", {ValidationSet!.Name} accuracy {accuracy:P2}" : $", training accuracy {epoch.TrainAccuracy:P2}");
            WriteCheckpoint(checkpoint, model, trainer, $"Write checkpoint after epoch {epoch.Epoch}");
            WriteObject(epoch);
        }
        if (last?.Validation is { } validation)
        {
            log?.LogConfusion(validation.ConfusionMatrix);
            // Calibrate the confidence on the validation set, so that 90% means right 90% of the time.
            model.Temperature = Calibration.FitTemperature(model, ValidationSet!, _stop.Token);
            model.TrainingSummary += $", calibrated temperature {model.Temperature:F3}";
            WriteVerbose($"Calibrated on {ValidationSet!.Name}: temperature {model.Temperature:F3}.");
            WriteCheckpoint(checkpoint, model, trainer, "Write the calibrated checkpoint");
        }
        WriteProgress(new ProgressRecord(1, "Training", "Done") { RecordType = ProgressRecordType.Completed });
        if (PassThru) WriteObject(model);
    }

    void WriteCheckpoint(string? path, Model model, Trainer trainer, string action)
    {
        if (path is not null && ShouldProcess(path, action))
            ModelFile.SaveCheckpoint(model, path, trainer.CompletedEpochs, Optimizer.ToString(), trainer.Optimizer.StepCount, trainer.Optimizer.State);
    }

    TrainingLog? OpenLog(Model model, TrainingOptions options)
    {
        if (LogPath is null) return null;
        string path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(LogPath);
        if (!ShouldProcess(path, "Record the training run in a SQLite log")) return null;
        try
        {
            var log = new TrainingLog(path, new RunDescription(model.Architecture.ToString(), model.ClassNames, TrainingSet!.Name, ValidationSet?.Name,
                Epochs, BatchSize, Optimizer.ToString(), options.EffectiveLearningRate, Seed, model.ParameterCount));
            WriteVerbose($"Logging to {path} as run {log.RunId}.");
            return log;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(new ErrorRecord(e, "TrainingLogOpenFailed", ErrorCategory.OpenError, path));
            return null;
        }
    }

    void ShowProgress(BatchProgress p)
    {
        // Four updates a second are plenty for a person and cost nothing measurable.
        if (p.Batch != p.BatchCount && p.Elapsed - _lastProgress < TimeSpan.FromMilliseconds(250)) return;
        _lastProgress = p.Elapsed;
        double secondsLeft = (Epochs - p.Epoch + 1.0 - (double)p.Batch / p.BatchCount) * p.BatchCount * BatchSize / Math.Max(1, p.ImagesPerSecond);
        WriteProgress(new ProgressRecord(1, $"Training {Model!.Architecture} on {TrainingSet!.Name}",
            $"Epoch {p.Epoch}/{Epochs}, batch {p.Batch}/{p.BatchCount}: loss {p.Loss:F4}, accuracy {p.Accuracy:P1}, {p.ImagesPerSecond:N0} images/s")
        {
            PercentComplete = (int)(100.0 * ((p.Epoch - 1) * p.BatchCount + p.Batch) / (Epochs * p.BatchCount)),
            SecondsRemaining = (int)Math.Min(int.MaxValue, secondsLeft),
        });
    }

    void RestoreFrom(string path, Model model, Trainer trainer)
    {
        Checkpoint saved;
        try { saved = ModelFile.LoadCheckpoint(path); }
        catch (ModelFileException e) { ThrowTerminatingError(FileError(e)); return; }
        catch (IOException e) { ThrowTerminatingError(new ErrorRecord(e, "CheckpointReadFailed", ErrorCategory.ReadError, path)); return; }
        if (saved.Model.Architecture != model.Architecture || !saved.Model.ClassNames.SequenceEqual(model.ClassNames) || saved.Model.ParameterCount != model.ParameterCount)
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException($"{path} holds a {saved.Model} checkpoint, not one for {model}."),
                "CheckpointModelMismatch", ErrorCategory.InvalidData, path));
        if (saved.Optimizer != Optimizer.ToString())
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException($"{path} was trained with {saved.Optimizer}; resume with -Optimizer {saved.Optimizer}."),
                "CheckpointOptimizerMismatch", ErrorCategory.InvalidArgument, path));
        saved.Model.Values.CopyTo(model.Values, 0);
        model.TrainedEpochs = saved.Model.TrainedEpochs;
        model.TrainingSummary = saved.Model.TrainingSummary;
        trainer.Restore(saved.CompletedEpochs, saved.OptimizerSteps, saved.OptimizerState);
        WriteVerbose($"Resumed from {path} after epoch {saved.CompletedEpochs} ({saved.OptimizerSteps:N0} optimizer steps).");
    }

    void CheckClasses(Model model, ImageDataset data, string parameter)
    {
        if (!data.ClassNames.SequenceEqual(model.ClassNames))
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(
                $"-{parameter} {data.Name} has classes '{string.Join(" ", data.ClassNames)}' but the model has '{string.Join(" ", model.ClassNames)}'."),
                "ClassesDoNotMatch", ErrorCategory.InvalidArgument, data));
    }

    protected override void StopProcessing() => _stop.Cancel();

    public void Dispose() => _stop.Dispose();
}
