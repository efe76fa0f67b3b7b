using System.Runtime.CompilerServices;
using System.Diagnostics;
using HelloDl.Autograd;
using HelloDl.Data;
using HelloDl.Inference;
using HelloDl.Kernels;
using HelloDl.Nn;
using HelloDl.Optim;
using HelloDl.Serialization;
using HelloDl.Tensors;

namespace HelloDl.Training;

/// <summary>
/// Trains a model epoch by epoch: batches from a <see cref="Batcher"/>, forward on a tape that is
/// reset every batch (so buffers are reused), cross-entropy (NLL of the model's log-softmax),
/// backward, optional clipping, an optimizer step at the scheduled rate. Stops after the current
/// batch when cancelled, leaving the model consistent. <see cref="Run"/> is a whole run:
/// epochs, checkpoints, logging and calibration.
/// </summary>
public sealed class Trainer
{
    readonly Model _model;
    readonly TrainingOptions _options;
    readonly Tape _tape;
    LearningRateSchedule _schedule = LearningRateSchedule.Constant;

    /// <exception cref="ArgumentException">The model is quantised (ParamName 'model'): only float models train.</exception>
    public Trainer(Model model, TrainingOptions options)
    {
        if (model.Quantized is not null)
            throw new ArgumentException($"{model} cannot be trained: train the float model it was made from and quantise it again.", nameof(model));
        options.Validate();
        _model = model;
        _options = options;
        _tape = new Tape { FreshParameterGradients = true };
        var kind = options.Optimizer ?? TrainingDefaults.Optimizer;
        BaseLearningRate = options.LearningRate ?? TrainingDefaults.LearningRateFor(model.Architecture, kind, fineTune: model.TrainedEpochs > 0);
        Optimizer = Optimizer.Create(kind, model.Values, model.Gradients, options.Momentum, options.Nesterov, options.WeightDecay);
        _frozen = [.. model.RangesOf(options.Freeze)];
        if (_frozen.Length > 0) Optimizer.Freeze(_frozen);
    }

    /// <summary>An array, not a list behind its interface: each step walks it, and an interface's enumerator is recompiled during the first epoch.</summary>
    readonly (int Offset, int Length)[] _frozen;
    /// <summary>The kernel threads each step uses, chosen from how fast recent steps ran (made for the thread count in force).</summary>
    StepThreads? _stepThreads;

    public Optimizer Optimizer { get; }
    /// <summary>The learning rate the schedule starts from: the options' or the default for the architecture and optimizer.</summary>
    public float BaseLearningRate { get; }

    /// <summary>Epochs completed so far.</summary>
    public int CompletedEpochs { get; private set; }

    public TrainingOptions Options => _options;

    /// <summary>What the run is, for the runs table of a <see cref="TrainingLog"/>.</summary>
    public RunDescription Describe(Dataset training, Dataset? validation) =>
        new(_model.Architecture.ToString(), _model.ClassNames, training.Name, validation?.Name, _options.Epochs, _options.BatchSize,
            Optimizer.Kind.ToString(), BaseLearningRate, _options.Seed, _model.ParameterCount);

    /// <summary>
    /// A trainer that continues the run saved in <paramref name="checkpointPath"/> with
    /// <paramref name="model"/>: the checkpoint's weights are copied into the model, its optimizer
    /// state and completed epochs into the trainer. Without an optimizer in the options, the
    /// checkpoint's is used.
    /// </summary>
    /// <param name="warning">Told when the checkpoint cannot be checked (written before files carried a checksum).</param>
    /// <exception cref="ModelFileException">The file is not a readable checkpoint.</exception>
    /// <exception cref="CheckpointMismatchException">The checkpoint is of another model or optimizer.</exception>
    public static Trainer ResumeFrom(string checkpointPath, Model model, TrainingOptions options, Action<string>? warning = null)
    {
        var saved = ModelFile.LoadCheckpoint(checkpointPath, warning);
        // Text settings too: the same weights read other features under other hashing or lengths.
        if (saved.Model.Architecture != model.Architecture || !saved.Model.ClassNames.SequenceEqual(model.ClassNames) || saved.Model.ParameterCount != model.ParameterCount
            || saved.Model.TextFeatures != model.TextFeatures || saved.Model.Sequences != model.Sequences || saved.Model.Objective != model.Objective)
            throw new CheckpointMismatchException(CheckpointErrorIds.ModelMismatch, checkpointPath, $"it holds a {saved.Model} checkpoint, not one for a {model}.");
        if (options.Optimizer is OptimizerKind asked && asked != saved.Optimizer)
            throw new CheckpointMismatchException(CheckpointErrorIds.OptimizerMismatch, checkpointPath,
                $"it was trained with {saved.Optimizer}, not {asked}; resume with {saved.Optimizer} (or without choosing an optimizer).");
        // The rate the run started from, whatever the model passed in has been through since.
        bool fineTune = saved.Model.TrainedEpochs > saved.CompletedEpochs;
        var trainer = new Trainer(model, options with
        {
            Optimizer = saved.Optimizer,
            LearningRate = options.LearningRate ?? TrainingDefaults.LearningRateFor(model.Architecture, saved.Optimizer, fineTune),
        });
        foreach (var (name, buffer) in trainer.Optimizer.State)
        {
            if (!saved.OptimizerState.TryGetValue(name, out var state) || state.Length != buffer.Length)
                throw new ModelFileException(ModelFileErrorIds.WrongShape, checkpointPath, $"it has no {saved.Optimizer} state '{name}' of {buffer.Length} values.");
            state.CopyTo(buffer, 0);
        }
        saved.Model.Values.CopyTo(model.Values, 0);
        model.TrainedEpochs = saved.Model.TrainedEpochs;
        model.TrainingSummary = saved.Model.TrainingSummary;
        model.Temperature = saved.Model.Temperature;
        trainer.Optimizer.RestoreStepCount(saved.OptimizerSteps);
        trainer.CompletedEpochs = saved.CompletedEpochs;
        return trainer;
    }

    /// <summary>Writes the model and the optimizer's state, atomically, so that <see cref="ResumeFrom"/> continues from here.</summary>
    public void SaveCheckpoint(string path) => ModelFile.SaveCheckpoint(_model, path, CompletedEpochs, Optimizer);

    /// <summary>
    /// Each epoch draws its shuffling, augmentation and dropout from random sources seeded by
    /// (seed, epoch), so a run resumed from a checkpoint continues exactly as if never stopped.
    /// </summary>
    Random EpochRandom(int epoch, int stream) => new(unchecked(_options.Seed * 1_000_003 + epoch * 7919 + stream));

    /// <summary>When set, the time of every op's forward and backward pass is added to it (see OpProfile).</summary>
    public OpProfile? Profile { get => _tape.Profile; set => _tape.Profile = value; }

    /// <summary>The learning rate the next step will use.</summary>
    public float CurrentLearningRate => _schedule.At(Optimizer.StepCount, BaseLearningRate);

    LearningRateSchedule ScheduleFor(int batchesPerEpoch)
    {
        long plannedSteps = (long)batchesPerEpoch * _options.Epochs;
        LearningRateSchedule schedule = _options.Schedule switch
        {
            ScheduleKind.Step => new StepSchedule(Math.Max(1, plannedSteps / 3)),
            ScheduleKind.Cosine => new CosineSchedule(plannedSteps),
            _ => LearningRateSchedule.Constant,
        };
        return _schedule = _options.WarmupSteps > 0 ? new WarmupSchedule(_options.WarmupSteps, schedule) : schedule;
    }

    /// <summary>
    /// The whole run: epochs until <see cref="TrainingOptions.Epochs"/> are complete (after a
    /// resume, the remaining ones), each yielded when done. After each epoch the model's summary
    /// is updated, the epoch logged and a checkpoint written; after the last, the confidence is
    /// calibrated on the validation set (unless the options say not to) before its checkpoint.
    /// Without a validation set, a stratified part of the training set is held out to stand for
    /// one (<see cref="TrainingOptions.HoldOutFraction"/>; by default a tenth of a small set).
    /// Cancellation ends the run after the current batch, yielding nothing for the cut epoch.
    /// </summary>
    /// <param name="checkpointPath">Where to write a checkpoint after every epoch; null for none.</param>
    /// <param name="log">Records every batch, epoch and the final confusion matrix; null for none.</param>
    /// <param name="progress">Called after every batch, on the calling thread.</param>
    /// <exception cref="IOException">A checkpoint cannot be written.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while evaluating or calibrating.</exception>
    /// <exception cref="ArgumentException">The sets do not fit the model or the options (see <see cref="CheckSets"/>).</exception>
    /// <exception cref="TrainingDivergedException">The loss stopped being a finite number.</exception>
    public IEnumerable<EpochResult> Run(Dataset training, Dataset? validation = null, string? checkpointPath = null, TrainingLog? log = null,
        Action<BatchProgress>? progress = null, CancellationToken cancellation = default)
    {
        CheckSets(training, validation);
        (training, validation) = SetsFor(training, validation);
        var onBatch = log is null ? progress : batch => { log.LogBatch(batch); progress?.Invoke(batch); };
        while (CompletedEpochs < _options.Epochs && !cancellation.IsCancellationRequested)
        {
            var epoch = TrainEpoch(training, validation, onBatch, cancellation);
            if (epoch.Stopped) yield break;
            _model.TrainingSummary = $"{training.Name}, {_model.TrainedEpochs} epoch(s), {Optimizer.Kind}" +
                (epoch.ValidationAccuracy is double accuracy ? $", {validation!.Name} accuracy {accuracy:P2}" : $", training accuracy {epoch.TrainAccuracy:P2}");
            log?.LogEpoch(epoch);
            if (CompletedEpochs == _options.Epochs && epoch.Validation is { } evaluation)
            {
                log?.LogConfusion(evaluation.ConfusionMatrix);
                if (_options.Calibrate) epoch.CalibratedTemperature = Calibrate(validation!, cancellation);
            }
            if (checkpointPath is not null) SaveCheckpoint(checkpointPath);
            yield return epoch;
        }
    }

    /// <summary>
    /// Refuses, before any work, sets that cannot be trained on with this model and these
    /// options: classes other than the model's (ParamName "training" or "validation") and a
    /// batch larger than what is trained on (ParamName "BatchSize"), items the model does not read,
    /// and augmentation of items that are not images (ParamName "Augmentation").
    /// </summary>
    /// <exception cref="ArgumentException">Which one, and why.</exception>
    public void CheckSets(Dataset training, Dataset? validation)
    {
        if (LanguageModel is not null && validation is not null)
            throw new ArgumentException($"A language model trains on the whole of a corpus and is not validated on {validation.Name}; leave out the validation set.", nameof(validation));
        foreach (var (set, name) in new[] { (training, nameof(training)), (validation, nameof(validation)) })
        {
            if (set is null) continue;
            _model.RequireReads(set, name);
            if (LanguageModel is null && !set.ClassNames.SequenceEqual(_model.ClassNames))
                throw new ArgumentException($"{set.Name} has classes '{string.Join(" ", set.ClassNames)}' but the model has '{string.Join(" ", _model.ClassNames)}'.", name);
        }
        if (_options.Augmentation is not null && _model.Input is not ImageInput)
            throw new ArgumentException($"Augmentation distorts images; the {_model.Architecture} model reads {_model.Input.ItemNoun}.", nameof(TrainingOptions.Augmentation));
        int trainedOn = LanguageModel is { } windows ? windows.Windows(training).Count
            : HoldOutFraction(training, validation) is > 0 and var fraction ? training.TrainingCountAfterPartition(fraction) : training.Count;
        if (_options.BatchSize > trainedOn)
            throw new ArgumentOutOfRangeException(nameof(TrainingOptions.BatchSize), _options.BatchSize,
                $"A batch of {_options.BatchSize} is larger than the {trainedOn:N0} {(LanguageModel is null ? training.ItemNoun : "windows")} trained on"
                + (LanguageModel is null && trainedOn < training.Count ? $" (of {training.Name}'s {training.Count:N0}, after holding out a validation part)." : "."));
    }

    /// <summary>
    /// The sets a <see cref="Run"/> trains and validates on: as given, or without a validation set
    /// the training set split into the two (<see cref="TrainingOptions.HoldOutFraction"/>), the
    /// same way every time for a seed, so that a resumed run holds out the same items.
    /// A language model trains on windows cut from the corpus, with no validation set.
    /// </summary>
    public (Dataset Training, Dataset? Validation) SetsFor(Dataset training, Dataset? validation) =>
        LanguageModel is { } windows ? (windows.Windows(training), null)
        : HoldOutFraction(training, validation) is > 0 and var fraction ? training.Partition(fraction, _options.Seed) : (training, validation);

    /// <summary>The part of the training set held out to validate on: none when there is a validation set.</summary>
    double HoldOutFraction(Dataset training, Dataset? validation) =>
        validation is null ? _options.HoldOutFraction ?? TrainingDefaults.HoldOutFor(training.Count) : 0;

    /// <summary>The encoder that cuts a corpus into training windows, for a language model; null for a classifier.</summary>
    ISequenceTargets? LanguageModel => _model.Objective == Objective.NextCharacter ? _model.Input as ISequenceTargets : null;

    /// <summary>Fits the model's temperature to <paramref name="validation"/> (see <see cref="Calibration"/>) and notes it in the summary.</summary>
    public float Calibrate(Dataset validation, CancellationToken cancellation = default)
    {
        _model.Temperature = Calibration.FitTemperature(_model, validation, cancellation);
        _model.TrainingSummary += $", calibrated temperature {_model.Temperature:F3}";
        return _model.Temperature;
    }

    /// <summary>
    /// One pass over the training set, then (if given) an evaluation on the validation set.
    /// <paramref name="progress"/> is called after every batch, on the calling thread.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public EpochResult TrainEpoch(Dataset training, Dataset? validation = null,
        Action<BatchProgress>? progress = null, CancellationToken cancellation = default)
    {
        int epoch = CompletedEpochs + 1;
        var balance = _options.ClassBalance ?? TrainingDefaults.ClassBalanceFor(_model);
        var batcher = new Batcher(training, _options.BatchSize, _model.Input, _options.Augmentation, EpochRandom(epoch, 0), oversample: balance == ClassBalance.Oversampled);
        var classWeights = balance == ClassBalance.Weighted ? ClassWeights(training) : null;
        _tape.Random = EpochRandom(epoch, 1);
        var schedule = ScheduleFor(batcher.BatchCount);
        batcher.Shuffle();
        var clock = Stopwatch.StartNew();
        double lossSum = 0;
        int correct = 0, seen = 0, stepsOnOneThread = 0;
        float rate = 0;
        bool stopped = false;
        if (_stepThreads?.All != Parallelism.MaxThreads) _stepThreads = new StepThreads(Parallelism.MaxThreads);
        for (int b = 0; b < batcher.BatchCount; b++)
        {
            if (cancellation.IsCancellationRequested) { stopped = true; break; }
            long stepStarted = Stopwatch.GetTimestamp();
            int[] targets;
            Tensor logProbabilities, loss;
            int threads = _stepThreads.Threads;
            if (threads == 1 && _stepThreads.All > 1) stepsOnOneThread++;
            using (Parallelism.LimitThreads(threads))
            {
                (var input, targets) = batcher.Batch(b);
                _tape.Reset();
                _tape.Training = true;
                logProbabilities = _model.Forward(_tape, input);
                loss = NllLoss.Apply(_tape, logProbabilities, targets, classWeights);
                if (!float.IsFinite(loss.Data[0])) throw Diverged(epoch, b + 1, loss.Data[0]);
                if (b % GoodWeightsInterval == 0) KeepGoodWeights(epoch, b + 1);
                _tape.Backward(loss);
                _model.ClearGradientsNotReachedBy(_tape);
                foreach (var (offset, length) in _frozen) Array.Clear(_model.Gradients, offset, length);
                if (_options.ClipNorm is float clip) GradientClipping.ClipByNorm(_model.Gradients, clip);
                rate = schedule.At(Optimizer.StepCount, BaseLearningRate);
                Optimizer.Step(rate);
            }
            if (targets.Length == _options.BatchSize) _stepThreads.Record(Stopwatch.GetElapsedTime(stepStarted));

            float batchLoss = loss.Data[0];
            int batchCorrect = CountCorrect(logProbabilities.Data, targets);
            lossSum += batchLoss * targets.Length;
            correct += batchCorrect;
            seen += targets.Length;
            progress?.Invoke(new BatchProgress(epoch, b + 1, batcher.BatchCount, targets.Length, batchLoss, (double)batchCorrect / targets.Length,
                lossSum / seen, (double)correct / seen, seen / clock.Elapsed.TotalSeconds, rate, clock.Elapsed));
        }
        clock.Stop();
        if (!stopped)
        {
            CompletedEpochs = epoch;
            _model.TrainedEpochs++;
        }
        var evaluation = validation is null || stopped ? null : Evaluator.Evaluate(_model, validation, cancellation: cancellation);
        return new EpochResult
        {
            Validation = evaluation,
            Epoch = epoch,
            TrainLoss = seen == 0 ? double.NaN : lossSum / seen,
            TrainAccuracy = seen == 0 ? double.NaN : (double)correct / seen,
            LearningRate = rate,
            Duration = clock.Elapsed,
            Images = seen,
            ImagesPerSecond = seen / Math.Max(1e-9, clock.Elapsed.TotalSeconds),
            Stopped = stopped,
            StepsOnOneThread = stepsOnOneThread,
        };
    }

    /// <summary>The loss's class weights for <see cref="ClassBalance.Weighted"/>: N / (classes × count).</summary>
    static float[] ClassWeights(Dataset training)
    {
        int classes = training.ClassNames.Count;
        return training.ClassNames.Select(c => training.ClassCounts[c] is int count and > 0 ? (float)training.Count / (classes * count) : 1f).ToArray();
    }

    /// <summary>
    /// Every this many batches the weights that gave a finite loss are copied aside, to go back
    /// to if the loss turns NaN: often enough to lose little, rarely enough to cost nothing.
    /// </summary>
    const int GoodWeightsInterval = 16;
    float[]? _goodWeights;
    (int Epoch, int Batch) _goodWeightsFrom;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void KeepGoodWeights(int epoch, int batch)
    {
        _goodWeights ??= new float[_model.Values.Length];
        _model.Values.CopyTo(_goodWeights, 0);
        _goodWeightsFrom = (epoch, batch);
    }

    /// <summary>Puts the last weights that gave a finite loss back into the model, and says so.</summary>
    TrainingDivergedException Diverged(int epoch, int batch, float loss)
    {
        // Before the run's first step the weights are as they came.
        _goodWeights?.CopyTo(_model.Values, 0);
        string kept = _goodWeights is null ? "the weights it came with" : $"the weights it had at epoch {_goodWeightsFrom.Epoch}, batch {_goodWeightsFrom.Batch}, the last kept with a finite loss";
        return new TrainingDivergedException(
            $"The loss became {loss} at epoch {epoch}, batch {batch}, at learning rate {CurrentLearningRate:G3}: training stopped. The model has {kept}; "
            + "this epoch's checkpoint is not written. Train again with a lower learning rate, or clip the gradients.");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int CountCorrect(ReadOnlySpan<float> scores, int[] targets)
    {
        int classes = scores.Length / targets.Length, correct = 0;
        for (int r = 0; r < targets.Length; r++)
            if (Rows.IndexOfMax(scores.Slice(r * classes, classes)) == targets[r]) correct++;
        return correct;
    }
}

/// <summary>Training stopped because the loss was no longer a finite number; the model holds the last weights that gave a finite one.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>A checkpoint that is readable but belongs to another model or optimizer; its id is one of <see cref="CheckpointErrorIds"/>.</summary>
public sealed class CheckpointMismatchException(string errorId, string path, string problem) : FileProblemException(errorId, path, problem, null);

public static class CheckpointErrorIds
{
    public const string ModelMismatch = "CheckpointModelMismatch";
    public const string OptimizerMismatch = "CheckpointOptimizerMismatch";
}

/// <summary>Measures a model on a data set: accuracy, loss, per-class figures, confusion matrix, risk-coverage.</summary>
public static class Evaluator
{
    /// <exception cref="ArgumentException">The data set's class count is not the model's.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Evaluation Evaluate(Model model, Dataset data, CancellationToken cancellation = default)
    {
        int classes = model.ClassNames.Count;
        var confusion = new int[classes, classes];
        var answers = new List<(float Confidence, bool Correct)>(data.Count);
        double lossSum = 0;
        foreach (var batch in DatasetPrediction.Batches(model, data, cancellation: cancellation))
            for (int r = 0; r < batch.Count; r++)
            {
                var row = batch.Row(r);
                int predicted = Rows.IndexOfMax(row), actual = batch.Labels[r];
                confusion[actual, predicted]++;
                answers.Add((row[predicted], predicted == actual));
                lossSum -= TemperatureScaling.Log(row[actual]);
            }
        return new Evaluation(data.Name, model.ClassNames, confusion, data.Count == 0 ? 0 : lossSum / data.Count, RiskCoverage.From(answers));
    }
}
