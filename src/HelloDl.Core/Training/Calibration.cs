using HelloDl.Data;
using HelloDl.Nn;

namespace HelloDl.Training;

/// <summary>
/// Temperature scaling (Guo et al., 2017): one number T divides the model's log-probabilities
/// before the softmax, chosen to minimise the negative log-likelihood on held-out data. It keeps
/// every prediction but makes the confidence honest: a model that says 90% is right about 90% of
/// the time.
/// </summary>
public static class Calibration
{
    /// <summary>The temperature that best fits <paramref name="validation"/>; the model itself is not changed.</summary>
    public static float FitTemperature(Model model, ImageDataset validation, CancellationToken cancellation = default)
    {
        int classes = model.ClassNames.Count;
        var logProbabilities = new float[validation.Count * classes];
        var targets = new int[validation.Count];
        var batcher = new Batcher(validation, 256, model.Normalization);
        var probabilities = new float[256 * classes];
        for (int b = 0, row = 0; b < batcher.BatchCount; b++)
        {
            cancellation.ThrowIfCancellationRequested();
            var (input, batchTargets) = batcher.Batch(b);
            model.PredictProbabilities(input, probabilities);
            for (int r = 0; r < batchTargets.Length; r++, row++)
            {
                targets[row] = batchTargets[r];
                for (int c = 0; c < classes; c++) logProbabilities[row * classes + c] = MathF.Log(Math.Max(probabilities[r * classes + c], 1e-30f));
            }
        }
        // Golden-section search on log T: the NLL is smooth and unimodal in T.
        double low = Math.Log(0.05), high = Math.Log(20), ratio = (Math.Sqrt(5) - 1) / 2;
        double a = high - ratio * (high - low), b2 = low + ratio * (high - low);
        double fa = Nll(logProbabilities, targets, classes, Math.Exp(a)), fb = Nll(logProbabilities, targets, classes, Math.Exp(b2));
        for (int i = 0; i < 60; i++)
        {
            if (fa < fb) { high = b2; b2 = a; fb = fa; a = high - ratio * (high - low); fa = Nll(logProbabilities, targets, classes, Math.Exp(a)); }
            else { low = a; a = b2; fa = fb; b2 = low + ratio * (high - low); fb = Nll(logProbabilities, targets, classes, Math.Exp(b2)); }
        }
        return (float)Math.Exp((low + high) / 2);
    }

    /// <summary>Mean negative log-likelihood of softmax(log p / T) for the targets.</summary>
    static double Nll(float[] logProbabilities, int[] targets, int classes, double temperature)
    {
        double total = 0;
        for (int r = 0; r < targets.Length; r++)
        {
            var row = logProbabilities.AsSpan(r * classes, classes);
            double max = double.MinValue;
            foreach (float v in row) max = Math.Max(max, v / temperature);
            double sum = 0;
            foreach (float v in row) sum += Math.Exp(v / temperature - max);
            total -= row[targets[r]] / temperature - max - Math.Log(sum);
        }
        return total / targets.Length;
    }
}
