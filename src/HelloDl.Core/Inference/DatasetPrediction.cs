using HelloDl.Data;
using HelloDl.Nn;

namespace HelloDl.Inference;

/// <summary>One batch of a data set's predictions; its spans are valid until the next batch is taken.</summary>
public sealed class PredictedBatch
{
    readonly float[] _probabilities;
    int[] _labels = [];

    internal PredictedBatch(float[] probabilities, int classes) { _probabilities = probabilities; Classes = classes; }

    /// <summary>The data set index of the batch's first item.</summary>
    public int First { get; private set; }
    public int Count => _labels.Length;
    public int Classes { get; }
    /// <summary>The class index of each item.</summary>
    public ReadOnlySpan<int> Labels => _labels;
    /// <summary>[Count, Classes] class probabilities, row by row.</summary>
    public ReadOnlySpan<float> Probabilities => _probabilities.AsSpan(0, Count * Classes);
    public ReadOnlySpan<float> Row(int item) => _probabilities.AsSpan(item * Classes, Classes);

    internal Span<float> Fill(int first, int[] labels)
    {
        (First, _labels) = (first, labels);
        return _probabilities.AsSpan(0, Count * Classes);
    }
}

/// <summary>
/// A model over a whole data set in evaluation mode, a batch of 512 items at a time, in the data
/// set's order: the one loop behind evaluation, calibration and the misclassified gallery.
/// </summary>
public static class DatasetPrediction
{
    /// <summary>
    /// Images per batch (the model itself runs them through in cache-sized chunks). 512 rather than
    /// 256: each thread's MLP products are 256 rows deep, and the batch's fixed costs (filling it,
    /// two hand-overs between threads) come half as often; about 5% more MLP images/s on Zen 4.
    /// </summary>
    public const int BatchSize = 512;

    /// <param name="calibrated">Scale by the model's temperature (as classification reports confidence); false for the raw probabilities.</param>
    /// <exception cref="ArgumentException">The data set's class count is not the model's, or it holds items the model does not read.</exception>
    public static IEnumerable<PredictedBatch> Batches(Model model, Dataset data, bool calibrated = true, CancellationToken cancellation = default)
    {
        Classifier.RequireClassifier(model);
        if (data.ClassNames.Count != model.ClassNames.Count)
            throw new ArgumentException($"The model knows {model.ClassNames.Count} classes but {data.Name} has {data.ClassNames.Count}.");
        model.RequireReads(data, nameof(data));
        return Iterate(model, data, calibrated, cancellation);
    }

    static IEnumerable<PredictedBatch> Iterate(Model model, Dataset data, bool calibrated, CancellationToken cancellation)
    {
        var batcher = new Batcher(data, BatchSize, model.Input);
        int classes = model.ClassNames.Count;
        var batch = new PredictedBatch(new float[BatchSize * classes], classes);
        for (int b = 0; b < batcher.BatchCount; b++)
        {
            cancellation.ThrowIfCancellationRequested();
            var (input, labels) = batcher.Batch(b);
            var probabilities = batch.Fill(b * BatchSize, labels);
            model.PredictProbabilities(input, probabilities, calibrated ? model.Temperature : 1);
            yield return batch;
        }
    }
}
