using System.Diagnostics;
using HelloDl.Autograd;
using HelloDl.Data;
using HelloDl.Nn;
using HelloDl.Optim;

namespace HelloDl.Training;

/// <summary>
/// Trains a model epoch by epoch: batches from a <see cref="Batcher"/>, forward on a tape that is
/// reset every batch (so buffers are reused), cross-entropy (NLL of the model's log-softmax),
/// backward, optional clipping, an optimizer step at the scheduled rate. Stops after the current
/// batch when cancelled, leaving the model consistent.
/// </summary>
public sealed class Trainer
{
    readonly Model _model;
    readonly TrainingOptions _options;
    readonly Tape _tape;
    LearningRateSchedule _schedule = LearningRateSchedule.Constant;

    public Trainer(Model model, TrainingOptions options)
    {
        options.Validate();
        _model = model;
        _options = options;
        _tape = new Tape();
        Optimizer = options.Optimizer switch
        {
            OptimizerKind.Sgd => new Sgd(model.Values, model.Gradients, options.Momentum, options.Nesterov, options.WeightDecay),
            OptimizerKind.Adam => new Adam(model.Values, model.Gradients, weightDecay: options.WeightDecay),
            OptimizerKind.AdamW => new Adam(model.Values, model.Gradients, weightDecay: options.WeightDecay, decoupled: true),
            _ => throw new ArgumentOutOfRangeException(nameof(options)),
        };
    }

    public Optimizer Optimizer { get; }

    /// <summary>Epochs completed so far.</summary>
    public int CompletedEpochs { get; private set; }

    public TrainingOptions Options => _options;

    /// <summary>
    /// Each epoch draws its shuffling, augmentation and dropout from random sources seeded by
    /// (seed, epoch), so a run resumed from a checkpoint continues exactly as if never stopped.
    /// </summary>
    Random EpochRandom(int epoch, int stream) => new(unchecked(_options.Seed * 1_000_003 + epoch * 7919 + stream));

    /// <summary>Continues from a checkpoint: optimizer state, step count and completed epochs.</summary>
    public void Restore(int completedEpochs, long optimizerSteps, IReadOnlyDictionary<string, float[]> optimizerState)
    {
        foreach (var (name, buffer) in Optimizer.State)
        {
            if (!optimizerState.TryGetValue(name, out var saved) || saved.Length != buffer.Length)
                throw new ArgumentException($"The checkpoint has no optimizer state '{name}' of {buffer.Length} values.");
            saved.CopyTo(buffer, 0);
        }
        Optimizer.RestoreStepCount(optimizerSteps);
        CompletedEpochs = completedEpochs;
    }

    /// <summary>When set, the time of every op's forward and backward pass is added to it (see OpProfile).</summary>
    public OpProfile? Profile { get => _tape.Profile; set => _tape.Profile = value; }

    /// <summary>The learning rate the next step will use.</summary>
    public float CurrentLearningRate => _schedule.At(Optimizer.StepCount, _options.EffectiveLearningRate);

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
    /// One pass over the training set, then (if given) an evaluation on the validation set.
    /// <paramref name="progress"/> is called after every batch, on the calling thread.
    /// </summary>
    public EpochResult TrainEpoch(ImageDataset training, ImageDataset? validation = null,
        Action<BatchProgress>? progress = null, CancellationToken cancellation = default)
    {
        int epoch = CompletedEpochs + 1;
        var batcher = new Batcher(training, _options.BatchSize, _model.Normalization, _options.Augmentation, EpochRandom(epoch, 0));
        _tape.Random = EpochRandom(epoch, 1);
        var schedule = ScheduleFor(batcher.BatchCount);
        batcher.Shuffle();
        var clock = Stopwatch.StartNew();
        double lossSum = 0;
        int correct = 0, seen = 0;
        float rate = 0;
        bool stopped = false;
        for (int b = 0; b < batcher.BatchCount; b++)
        {
            if (cancellation.IsCancellationRequested) { stopped = true; break; }
            var (input, targets) = batcher.Batch(b);
            _tape.Reset();
            _tape.Training = true;
            _model.ZeroGradients();
            var logProbabilities = _model.Forward(_tape, input);
            var loss = NllLoss.Apply(_tape, logProbabilities, targets);
            _tape.Backward(loss);
            if (_options.ClipNorm is float clip) GradientClipping.ClipByNorm(_model.Gradients, clip);
            rate = schedule.At(Optimizer.StepCount, _options.EffectiveLearningRate);
            Optimizer.Step(rate);

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
        };
    }

    internal static int CountCorrect(ReadOnlySpan<float> scores, int[] targets)
    {
        int classes = scores.Length / targets.Length, correct = 0;
        for (int r = 0; r < targets.Length; r++)
            if (System.Numerics.Tensors.TensorPrimitives.IndexOfMax(scores.Slice(r * classes, classes)) == targets[r]) correct++;
        return correct;
    }
}

/// <summary>Runs a model over a data set in evaluation mode.</summary>
public static class Evaluator
{
    public static Evaluation Evaluate(Model model, ImageDataset data, int batchSize = 256, CancellationToken cancellation = default)
    {
        if (data.ClassNames.Count != model.ClassNames.Count)
            throw new ArgumentException($"The model knows {model.ClassNames.Count} classes but {data.Name} has {data.ClassNames.Count}.");
        var batcher = new Batcher(data, batchSize, model.Normalization);
        int classes = model.ClassNames.Count;
        var confusion = new int[classes, classes];
        var probabilities = new float[batchSize * classes];
        var answers = new List<(float Confidence, bool Correct)>(data.Count);
        double lossSum = 0;
        for (int b = 0; b < batcher.BatchCount; b++)
        {
            cancellation.ThrowIfCancellationRequested();
            var (input, targets) = batcher.Batch(b);
            model.PredictProbabilities(input, probabilities);
            Inference.Classifier.Calibrate(probabilities.AsSpan(0, targets.Length * classes), classes, model.Temperature);
            for (int r = 0; r < targets.Length; r++)
            {
                var row = probabilities.AsSpan(r * classes, classes);
                int predicted = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row);
                confusion[targets[r], predicted]++;
                answers.Add((row[predicted], predicted == targets[r]));
                lossSum -= Math.Log(Math.Max(row[targets[r]], 1e-30f));
            }
        }
        return new Evaluation(data.Name, model.ClassNames, confusion, data.Count == 0 ? 0 : lossSum / data.Count, RiskCoverage.From(answers));
    }
}
