using System.Management.Automation;
using System.Runtime.CompilerServices;
using HelloDl.Data;
using HelloDl.Nn;
using HelloDl.Optim;
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
    public Dataset? TrainingSet { get; set; }

    /// <summary>Evaluated after each epoch.</summary>
    [Parameter]
    public Dataset? ValidationSet { get; set; }

    /// <summary>Total epochs; with -Resume, training continues up to this many.</summary>
    [Parameter]
    [ValidateRange(1, 10000)]
    public int Epochs { get; set; } = 3;

    [Parameter]
    [ValidateRange(1, 65536)]
    public int? BatchSize { get; set; }

    /// <summary>Default: the architecture's rate for the optimizer (see TrainingDefaults).</summary>
    [Parameter]
    [ValidateRange(1e-7, 10.0)]
    public float? LearningRate { get; set; }

    /// <summary>Default: Adam; with -Resume, the checkpoint's.</summary>
    [Parameter]
    public OptimizerKind? Optimizer { get; set; }

    [Parameter]
    [ValidateRange(0.0, 0.999)]
    public float Momentum { get; set; } = 0.9f;

    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public float WeightDecay { get; set; }

    [Parameter]
    public ScheduleKind Schedule { get; set; } = ScheduleKind.Cosine;

    /// <summary>Random distortions of the training images: None, HelloDl, Geometric or Scan. Default: Geometric for small sets, else None.</summary>
    [Parameter]
    public AugmentationKind? Augment { get; set; }

    /// <summary>What the model must be trained for: a check that the model was made so (New-HelloModel -Objective); default: the model's.</summary>
    [Parameter]
    public Objective? Objective { get; set; }

    /// <summary>How classes of different sizes are made up for: None, Weighted (in the loss) or Oversampled. Default: Oversampled for text models, else None.</summary>
    [Parameter]
    public ClassBalance? ClassBalance { get; set; }

    /// <summary>Without -ValidationSet, hold out this fraction of the training set to validate and calibrate on. Default: 0.1 for small sets, else 0.</summary>
    [Parameter]
    [ValidateRange(0.0, 0.9)]
    public double? HoldOutFraction { get; set; }

    /// <summary>Layers (such as c1, c2, fc1) whose weights stay exactly as they are.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Freeze { get; set; }

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
        string? checkpoint = CheckpointPath is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(CheckpointPath);
        if (Resume && checkpoint is null)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Resume needs -CheckpointPath."), "ResumeWithoutCheckpoint", ErrorCategory.InvalidArgument, null));

        if (Objective is { } objective && objective != model.Objective)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(
                $"{model} is trained to {model.Objective}, not {objective}: the objective is chosen when the model is made (New-HelloModel Gru -Objective NextCharacter)."),
                "ObjectiveDoesNotMatch", ErrorCategory.InvalidArgument, model));
        var options = new TrainingOptions
        {
            Epochs = Epochs, BatchSize = BatchSize ?? TrainingDefaults.BatchSizeFor(training.Count), Optimizer = Optimizer, LearningRate = LearningRate, Momentum = Momentum, WeightDecay = WeightDecay,
            Schedule = Schedule, Seed = Seed, HoldOutFraction = HoldOutFraction, Freeze = Freeze ?? [], ClassBalance = ClassBalance,
            Augmentation = Augment switch
            {
                null => TrainingDefaults.AugmentationFor(training),
                AugmentationKind.HelloDl => Augmentation.HelloDl,
                AugmentationKind.Geometric => new Augmentation(),
                AugmentationKind.Scan => Augmentation.Scan,
                _ => null,
            },
        };
        Trainer trainer;
        try { trainer = Resume ? Trainer.ResumeFrom(checkpoint!, model, options, WriteWarning) : new Trainer(model, options); }
        catch (FileProblemException e) { ThrowTerminatingError(FileError(e)); return; }
        catch (ArgumentException e) when (e.ParamName == "model")
        {
            ThrowTerminatingError(new ErrorRecord(e, "QuantizedModelNotTrainable", ErrorCategory.InvalidArgument, model));
            return;
        }
        catch (ArgumentException e) when (e.ParamName == "layers")
        {
            ThrowTerminatingError(new ErrorRecord(e, "UnknownLayer", ErrorCategory.InvalidArgument, Freeze));
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(new ErrorRecord(e, "CheckpointReadFailed", ErrorCategory.ReadError, checkpoint));
            return;
        }
        WriteVerbose($"{trainer.Optimizer.Kind} from learning rate {trainer.BaseLearningRate:G3}{(model.TrainedEpochs > 0 && LearningRate is null ? " (a fine-tune's)" : "")}, "
            + $"augmentation {(options.Augmentation is null ? "none" : Augment?.ToString() ?? "Geometric (small set)")}"
            + (options.Freeze.Count > 0 ? $", frozen {string.Join(", ", options.Freeze)}" : "") + ".");
        if (Resume)
        {
            WriteVerbose($"Resumed from {checkpoint} after epoch {trainer.CompletedEpochs} ({trainer.Optimizer.StepCount:N0} {trainer.Optimizer.Kind} steps).");
            if (trainer.CompletedEpochs >= Epochs)
                WriteWarning($"{checkpoint} has completed {trainer.CompletedEpochs} epoch(s) already; raise -Epochs above that to train further.");
        }
        try { trainer.CheckSets(training, ValidationSet); }
        catch (ArgumentOutOfRangeException e) when (e.ParamName == nameof(TrainingOptions.BatchSize))
        {
            ThrowTerminatingError(new ErrorRecord(e, "BatchLargerThanSet", ErrorCategory.InvalidArgument, BatchSize));
        }
        catch (ArgumentException e) when (e.ParamName == "validation" && model.Objective == Nn.Objective.NextCharacter)
        {
            ThrowTerminatingError(new ErrorRecord(e, "LanguageModelNotValidated", ErrorCategory.InvalidArgument, ValidationSet));
        }
        catch (ArgumentException e) when (e.ParamName == nameof(TrainingOptions.Augmentation))
        {
            ThrowTerminatingError(new ErrorRecord(e, "AugmentationNeedsImages", ErrorCategory.InvalidArgument, Augment));
        }
        catch (ArgumentException e)
        {
            var set = e.ParamName == "validation" ? ValidationSet! : training;
            ThrowTerminatingError(new ErrorRecord(e, model.Input.Reads(set) ? "ClassesDoNotMatch" : "DatasetKindDoesNotMatch", ErrorCategory.InvalidArgument, set));
        }
        if (checkpoint is not null && !ShouldProcess(checkpoint, "Write a checkpoint after every epoch")) checkpoint = null;
        using var log = OpenLog(trainer);
        try
        {
            foreach (var epoch in trainer.Run(training, ValidationSet, checkpoint, log, ShowProgress, _stop.Token))
            {
                if (epoch.CalibratedTemperature is float temperature) WriteVerbose($"Calibrated on {epoch.Validation!.Dataset}: temperature {temperature:F3}.");
                WriteObject(epoch);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { return; }
        catch (TrainingLogException e)
        {
            ThrowTerminatingError(FileError(e));
        }
        catch (TrainingDivergedException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "TrainingDiverged", ErrorCategory.InvalidResult, model));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(new ErrorRecord(e, "CheckpointWriteFailed", ErrorCategory.WriteError, checkpoint));
        }
        WriteProgress(new ProgressRecord(1, "Training", "Done") { RecordType = ProgressRecordType.Completed });
        if (PassThru) WriteObject(model);
    }

    TrainingLog? OpenLog(Trainer trainer)
    {
        if (LogPath is null) return null;
        string path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(LogPath);
        if (!ShouldProcess(path, "Record the training run in a SQLite log")) return null;
        try
        {
            var (training, validation) = trainer.SetsFor(TrainingSet!, ValidationSet);
            var log = new TrainingLog(path, trainer.Describe(training, validation));
            WriteVerbose($"Logging to {path} as run {log.RunId}.");
            return log;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(new ErrorRecord(e, "TrainingLogOpenFailed", ErrorCategory.OpenError, path));
            return null;
        }
    }

    /// <summary>
    /// Called after every batch: four updates a second are plenty for a person. The check is a
    /// method of its own, compiled once fully optimised: left to tiering, what a run calls often was
    /// recompiled twice on the other core during the first epoch (with what it calls from Core);
    /// the record's formatting is called too rarely for that.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void ShowProgress(BatchProgress p)
    {
        if (p.Batch == p.BatchCount || p.Elapsed - _lastProgress >= TimeSpan.FromMilliseconds(250)) WriteTrainingProgress(p);
    }

    void WriteTrainingProgress(BatchProgress p)
    {
        _lastProgress = p.Elapsed;
        double secondsLeft = (Epochs - p.Epoch + 1.0 - (double)p.Batch / p.BatchCount) * p.BatchCount * p.BatchSize / Math.Max(1, p.ImagesPerSecond);
        WriteProgress(new ProgressRecord(1, $"Training {Model!.Architecture} on {TrainingSet!.Name}",
            $"Epoch {p.Epoch}/{Epochs}, batch {p.Batch}/{p.BatchCount}: loss {p.Loss:F4}, accuracy {p.Accuracy:P1}, {p.ImagesPerSecond:N0} images/s")
        {
            PercentComplete = (int)(100.0 * ((p.Epoch - 1) * p.BatchCount + p.Batch) / (Epochs * p.BatchCount)),
            SecondsRemaining = (int)Math.Min(int.MaxValue, secondsLeft),
        });
    }

    protected override void StopProcessing() => _stop.Cancel();

    public void Dispose() => _stop.Dispose();
}
