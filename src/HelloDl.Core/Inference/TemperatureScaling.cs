using System.Runtime.CompilerServices;
namespace HelloDl.Inference;

/// <summary>
/// softmax(log p / T): a model's probabilities with their confidence rescaled by a temperature T
/// (T &gt; 1 softens, T &lt; 1 sharpens, the ranking never changes). The one formula behind
/// classification's confidence and the fitting of T (Training.Calibration).
/// </summary>
public static class TemperatureScaling
{
    /// <summary>The smallest probability whose logarithm is taken, so a zero does not become minus infinity.</summary>
    const float Floor = 1e-30f;

    /// <summary>Rescales each row of <paramref name="probabilities"/> ([rows, classes]) in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply(Span<float> probabilities, int classes, float temperature)
    {
        if (temperature == 1) return;
        Span<float> logs = classes <= 1024 ? stackalloc float[classes] : new float[classes];
        Span<double> scaled = classes <= 1024 ? stackalloc double[classes] : new double[classes];
        for (int r = 0; r < probabilities.Length / classes; r++)
        {
            var row = probabilities.Slice(r * classes, classes);
            for (int c = 0; c < classes; c++) logs[c] = Log(row[c]);
            LogSoftmax(logs, temperature, scaled);
            for (int c = 0; c < classes; c++) row[c] = (float)Math.Exp(scaled[c]);
        }
    }

    /// <summary>The natural logarithm of a probability, as <see cref="LogSoftmax"/> expects it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Log(float probability) => MathF.Log(Math.Max(probability, Floor));

    /// <summary>
    /// log softmax(z / T) of one row z of log-probabilities, in double precision: computed as
    /// z/T - max - log Σ exp(z/T - max), so no term overflows and a far-off class keeps its
    /// (very negative) log rather than underflowing to zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LogSoftmax(ReadOnlySpan<float> logProbabilities, double temperature, Span<double> scaled)
    {
        double max = double.MinValue;
        foreach (float v in logProbabilities) max = Math.Max(max, v / temperature);
        double sum = 0;
        foreach (float v in logProbabilities) sum += Math.Exp(v / temperature - max);
        double logSum = max + Math.Log(sum);
        for (int c = 0; c < logProbabilities.Length; c++) scaled[c] = logProbabilities[c] / temperature - logSum;
    }
}
