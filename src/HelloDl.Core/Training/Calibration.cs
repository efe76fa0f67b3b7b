using System.Runtime.CompilerServices;
using HelloDl.Data;
using HelloDl.Inference;
using HelloDl.Nn;
using HelloDl.Tensors;

namespace HelloDl.Training;

/// <summary>
/// Temperature scaling (Guo et al., 2017): one number T divides the model's log-probabilities
/// before the softmax, chosen to minimise the negative log-likelihood on held-out data. It keeps
/// every prediction but makes the confidence honest: a model that says 90% is right about 90% of
/// the time.
/// </summary>
public static class Calibration
{
    /// <summary>Fewer validation mistakes than this cannot show that the model is underconfident.</summary>
    public const int MistakesToSharpen = 10;

    /// <summary>The temperature that best fits <paramref name="validation"/>; the model itself is not changed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float FitTemperature(Model model, Dataset validation, CancellationToken cancellation = default)
    {
        int classes = model.ClassNames.Count;
        var logProbabilities = new float[validation.Count * classes];
        var targets = new int[validation.Count];
        foreach (var batch in DatasetPrediction.Batches(model, validation, calibrated: false, cancellation: cancellation))
        {
            batch.Labels.CopyTo(targets.AsSpan(batch.First));
            var probabilities = batch.Probabilities;
            var logs = logProbabilities.AsSpan(batch.First * classes, batch.Count * classes);
            for (int i = 0; i < logs.Length; i++) logs[i] = TemperatureScaling.Log(probabilities[i]);
        }
        return FitTemperature(logProbabilities, targets, classes);
    }

    /// <summary>The temperature that minimises the mean NLL of softmax(z / T) for rows z [targets, classes] of log-probabilities.</summary>
    internal static float FitTemperature(float[] logProbabilities, int[] targets, int classes)
    {
        // With only a few mistakes to learn from (a small own set read almost perfectly) the NLL
        // falls for ever as T shrinks: it may soften the confidence then, never sharpen it.
        int mistakes = 0;
        for (int r = 0; r < targets.Length; r++)
            if (Rows.IndexOfMax(logProbabilities.AsSpan(r * classes, classes)) != targets[r]) mistakes++;
        // Golden-section search on log T: the NLL is smooth and unimodal in T. It stops when log T is
        // known to within what a float T holds: 38 steps from (0.05, 20), where 60 fixed ones took 62 passes over the rows.
        double low = Math.Log(mistakes < MistakesToSharpen ? 1 : 0.05), high = Math.Log(20), ratio = (Math.Sqrt(5) - 1) / 2;
        double a = high - ratio * (high - low), b = low + ratio * (high - low);
        double fa = Nll(logProbabilities, targets, classes, Math.Exp(a)), fb = Nll(logProbabilities, targets, classes, Math.Exp(b));
        while (high - low > LogTolerance)
        {
            if (fa < fb) { high = b; b = a; fb = fa; a = high - ratio * (high - low); fa = Nll(logProbabilities, targets, classes, Math.Exp(a)); }
            else { low = a; a = b; fa = fb; b = low + ratio * (high - low); fb = Nll(logProbabilities, targets, classes, Math.Exp(b)); }
        }
        return (float)Math.Exp((low + high) / 2);
    }

    /// <summary>The width of log T's interval at which the search stops: about a float's precision.</summary>
    const double LogTolerance = 1e-7;

    /// <summary>Rows one piece of <see cref="Nll"/> sums: the pieces depend only on the row count, so the sum does not depend on the thread count.</summary>
    const int RowsPerPiece = 1024;

    /// <summary>Mean negative log-likelihood of softmax(z / T) for the targets: the threads sum pieces of rows, added in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double Nll(float[] logProbabilities, int[] targets, int classes, double temperature)
    {
        int pieces = (targets.Length + RowsPerPiece - 1) / RowsPerPiece;
        var totals = new double[pieces];
        // Weighed as thirty of the multiply-adds Parallelism counts work in per element: a guess for a double exponential and a division.
        Kernels.Parallelism.For(pieces, (long)targets.Length * classes * 30, piece =>
        {
            Span<double> powers = classes <= 1024 ? stackalloc double[classes] : new double[classes];
            double total = 0;
            for (int r = piece * RowsPerPiece, end = Math.Min(targets.Length, r + RowsPerPiece); r < end; r++)
                total += TemperatureScaling.NegativeLogLikelihood(logProbabilities.AsSpan(r * classes, classes), targets[r], temperature, powers);
            totals[piece] = total;
        });
        double sum = 0;
        foreach (double total in totals) sum += total;
        return sum / targets.Length;
    }
}
