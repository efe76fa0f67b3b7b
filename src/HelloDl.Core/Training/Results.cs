using System.Runtime.CompilerServices;
namespace HelloDl.Training;

/// <summary>One epoch of training, as a row of a training log.</summary>
public sealed class EpochResult
{
    public int Epoch { get; init; }
    public double TrainLoss { get; init; }
    /// <summary>Fraction 0..1 of training images classified right during the epoch (before each step).</summary>
    public double TrainAccuracy { get; init; }
    public double? ValidationLoss => Validation?.MeanLoss;
    public double? ValidationAccuracy => Validation?.Accuracy;
    /// <summary>The rate of the epoch's last step.</summary>
    public double LearningRate { get; init; }
    public TimeSpan Duration { get; init; }
    public double ImagesPerSecond { get; init; }
    public int Images { get; init; }
    /// <summary>True when the epoch was cut short by cancellation.</summary>
    public bool Stopped { get; init; }
    /// <summary>
    /// Steps whose kernels ran on one thread although more were allowed: probes, or every step while
    /// the trainer found one thread faster (<see cref="StepThreads"/>); 0 where the kernels have one thread.
    /// </summary>
    public int StepsOnOneThread { get; init; }
    /// <summary>The full evaluation on the validation set (null without one).</summary>
    public Evaluation? Validation { get; init; }
    /// <summary>The temperature fitted to the validation set after this, the run's last epoch (null when not calibrated).</summary>
    public float? CalibratedTemperature { get; internal set; }
}

/// <summary>
/// Progress after one batch: that batch's own loss and accuracy, and the running means of the
/// epoch so far.
/// </summary>
public readonly record struct BatchProgress(int Epoch, int Batch, int BatchCount, int BatchSize, double BatchLoss, double BatchAccuracy,
    double Loss, double Accuracy, double ImagesPerSecond, float LearningRate, TimeSpan Elapsed);

/// <summary>Precision, recall and F1 of one class.</summary>
public sealed record ClassMetrics(string Class, int Support, double Precision, double Recall, double F1)
{
    /// <summary>One line, as lists of an evaluation show it (the record's default is a dump of every member).</summary>
    public override string ToString() => $"{Class}: precision {Precision:P1}, recall {Recall:P1}, F1 {F1:F3} ({Support:N0} images)";
}

/// <summary>Counts of [actual, predicted] class pairs; rows actual, columns predicted.</summary>
public sealed class ConfusionMatrix
{
    public ConfusionMatrix(IReadOnlyList<string> classNames, int[,] counts)
    {
        ClassNames = classNames;
        Counts = counts;
    }

    public IReadOnlyList<string> ClassNames { get; }
    public int[,] Counts { get; }
    public int this[int actual, int predicted] => Counts[actual, predicted];
    public int Total => Counts.Cast<int>().Sum();

    /// <summary>The matrix as a text table, like hello-dl prints it.</summary>
    public string ToTable()
    {
        int width = Math.Max(5, Counts.Cast<int>().Max().ToString("N0").Length + 1);
        var text = new System.Text.StringBuilder();
        text.Append("actual \\ predicted".PadRight(19));
        foreach (var name in ClassNames) text.Append(name.PadLeft(width));
        for (int a = 0; a < ClassNames.Count; a++)
        {
            text.Append('\n').Append(ClassNames[a].PadRight(19));
            for (int p = 0; p < ClassNames.Count; p++) text.Append(Counts[a, p].ToString("N0").PadLeft(width));
        }
        return text.ToString();
    }

    public override string ToString() => ToTable();
}

/// <summary>At one confidence threshold: the share of answers given (confident) and the error rate among them.</summary>
public sealed record RiskCoveragePoint(double Threshold, double Coverage, double ErrorRate, int Answered)
{
    public override string ToString() => $"at {Threshold:0.###}: {Coverage:P1} answered, {ErrorRate:P2} of them wrong";
}

/// <summary>
/// The risk-coverage trade-off of a model's confidence: raising the threshold answers fewer
/// inputs and gets fewer of those wrong.
/// </summary>
public sealed class RiskCoverage
{
    static readonly double[] Thresholds = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999];

    RiskCoverage(IReadOnlyList<RiskCoveragePoint> points, double? threshold, double coverage)
    {
        Points = points;
        ThresholdForOnePercentError = threshold;
        CoverageAtOnePercentError = coverage;
    }

    public IReadOnlyList<RiskCoveragePoint> Points { get; }
    /// <summary>The lowest threshold at which at most 1% of the confident answers are wrong (null if none).</summary>
    public double? ThresholdForOnePercentError { get; }
    /// <summary>The share of inputs answered confidently at that threshold.</summary>
    public double CoverageAtOnePercentError { get; }

    /// <summary>The trade-off in one sentence, as an evaluation shows it.</summary>
    public override string ToString() => ThresholdForOnePercentError is double threshold
        ? $"Confidence: at threshold {threshold:F3}, {CoverageAtOnePercentError:P1} of answers are confident and at most 1% of those are wrong."
        : "Confidence: no threshold keeps the error among confident answers at or under 1%.";

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static RiskCoverage From(IReadOnlyList<(float Confidence, bool Correct)> answers)
    {
        // One sort, most confident first: every threshold's confident answers are then a prefix.
        // Each answer is one 31-bit key, 1.0's bits minus the confidence's (confidences in [0, 1]
        // order as their bits), then a bit for wrong; a radix sort orders them in four passes. A
        // comparison sort took 10-20 ms of a 60,000-image evaluation. Equal confidences may come
        // in any order: thresholds fall between different confidences.
        const int One = 0x3F800000;
        var keys = new uint[answers.Count];
        for (int i = 0; i < keys.Length; i++)
        {
            int bits = BitConverter.SingleToInt32Bits(Math.Clamp(answers[i].Confidence, 0f, 1f));
            keys[i] = (uint)(One - bits) << 1 | (answers[i].Correct ? 0u : 1u);
        }
        RadixSort(keys);
        var sorted = new (float Confidence, bool Correct)[keys.Length];
        for (int i = 0; i < keys.Length; i++) sorted[i] = (BitConverter.Int32BitsToSingle(One - (int)(keys[i] >> 1)), (keys[i] & 1) == 0);
        var wrongBefore = new int[sorted.Length + 1];
        for (int i = 0; i < sorted.Length; i++) wrongBefore[i + 1] = wrongBefore[i] + (sorted[i].Correct ? 0 : 1);
        var points = Thresholds.Select(t =>
        {
            int confident = 0;
            while (confident < sorted.Length && sorted[confident].Confidence >= t) confident++;
            return new RiskCoveragePoint(t, sorted.Length == 0 ? 0 : (double)confident / sorted.Length,
                confident == 0 ? 0 : (double)wrongBefore[confident] / confident, confident);
        }).ToList();
        // The threshold can sit at any confidence seen: the lowest whose answers at or above it are at most 1% wrong.
        double? threshold = null;
        double coverage = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            bool lastOfItsConfidence = i + 1 == sorted.Length || sorted[i + 1].Confidence < sorted[i].Confidence;
            if (lastOfItsConfidence && wrongBefore[i + 1] <= 0.01 * (i + 1))
            {
                threshold = sorted[i].Confidence;
                coverage = (double)(i + 1) / sorted.Length;
            }
        }
        return new RiskCoverage(points, threshold, coverage);
    }

    /// <summary>Sorts ascending, a byte at a time from the lowest (each pass stable).</summary>
    static void RadixSort(uint[] keys)
    {
        var from = keys;
        var to = new uint[keys.Length];
        Span<int> starts = stackalloc int[256];
        for (int shift = 0; shift < 32; shift += 8)
        {
            starts.Clear();
            foreach (uint key in from) starts[(int)(key >> shift) & 0xFF]++;
            for (int b = 0, total = 0; b < 256; b++) (starts[b], total) = (total, total + starts[b]);
            foreach (uint key in from) to[starts[(int)(key >> shift) & 0xFF]++] = key;
            (from, to) = (to, from);
        }
        // Four passes: the last result is back in keys.
    }
}

/// <summary>A model's results on a data set: accuracy, loss, per-class metrics, the confusion matrix and the risk-coverage trade-off.</summary>
public sealed class Evaluation
{
    public Evaluation(string dataset, IReadOnlyList<string> classNames, int[,] confusion, double meanLoss, RiskCoverage riskCoverage)
    {
        Dataset = dataset;
        RiskCoverage = riskCoverage;
        ConfusionMatrix = new ConfusionMatrix(classNames, confusion);
        MeanLoss = meanLoss;
        int classes = classNames.Count;
        var metrics = new ClassMetrics[classes];
        for (int c = 0; c < classes; c++)
        {
            int truePositives = confusion[c, c], actual = 0, predicted = 0;
            for (int o = 0; o < classes; o++) { actual += confusion[c, o]; predicted += confusion[o, c]; }
            Count += actual;
            Correct += truePositives;
            double precision = predicted == 0 ? 0 : (double)truePositives / predicted, recall = actual == 0 ? 0 : (double)truePositives / actual;
            metrics[c] = new ClassMetrics(classNames[c], actual, precision, recall, precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall));
        }
        PerClass = metrics;
    }

    public string Dataset { get; }
    public int Count { get; }
    public int Correct { get; }
    /// <summary>Fraction 0..1 of images classified right.</summary>
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;
    /// <summary>Mean negative log-likelihood of the right class.</summary>
    public double MeanLoss { get; }
    public IReadOnlyList<ClassMetrics> PerClass { get; }
    public ConfusionMatrix ConfusionMatrix { get; }
    public IReadOnlyList<string> ClassNames => ConfusionMatrix.ClassNames;
    /// <summary>Coverage and error of the confident answers at several thresholds (calibrated confidence).</summary>
    public RiskCoverage RiskCoverage { get; }

    public override string ToString() => $"{Dataset}: accuracy {Accuracy:P2} ({Correct:N0} of {Count:N0} right), mean loss {MeanLoss:F4}";
}
