namespace HelloDl.Training;

/// <summary>One epoch of training, as a row of a training log.</summary>
public sealed class EpochResult
{
    public int Epoch { get; init; }
    public double TrainLoss { get; init; }
    /// <summary>Fraction 0..1 of training images classified right during the epoch (before each step).</summary>
    public double TrainAccuracy { get; init; }
    public double? ValidationLoss { get; init; }
    public double? ValidationAccuracy { get; init; }
    /// <summary>The rate of the epoch's last step.</summary>
    public double LearningRate { get; init; }
    public TimeSpan Duration { get; init; }
    public double ImagesPerSecond { get; init; }
    public int Images { get; init; }
    /// <summary>True when the epoch was cut short by cancellation.</summary>
    public bool Stopped { get; init; }
}

/// <summary>Progress within an epoch, reported every few batches.</summary>
public readonly record struct BatchProgress(int Epoch, int Batch, int BatchCount, double Loss, double Accuracy, double ImagesPerSecond, float LearningRate);

/// <summary>A model's results on a data set: accuracy, loss and the confusion matrix.</summary>
public sealed class Evaluation
{
    public Evaluation(string dataset, IReadOnlyList<string> classNames, int[,] confusion, double meanLoss)
    {
        Dataset = dataset;
        ClassNames = classNames;
        Confusion = confusion;
        MeanLoss = meanLoss;
        for (int a = 0; a < classNames.Count; a++)
            for (int p = 0; p < classNames.Count; p++)
            {
                Count += confusion[a, p];
                if (a == p) Correct += confusion[a, p];
            }
    }

    public string Dataset { get; }
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>[actual, predicted] counts.</summary>
    public int[,] Confusion { get; }
    public int Count { get; }
    public int Correct { get; }
    /// <summary>Fraction 0..1.</summary>
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;
    public double MeanLoss { get; }
}
