using System.Runtime.CompilerServices;
namespace HelloDl.Nn;

/// <summary>
/// softmax(log p / T): a model's probabilities with their confidence rescaled by a temperature T
/// (T &gt; 1 softens, T &lt; 1 sharpens, the ranking never changes). The one formula behind
/// classification's confidence and the fitting of T (Training.Calibration).
/// </summary>
public static class TemperatureScaling
{
    /// <summary>The smallest probability whose logarithm is taken, so a zero does not become minus infinity.</summary>
    const float Floor = 1e-30f;
    static readonly float LogFloor = MathF.Log(Floor);

    /// <summary>
    /// Each row of <paramref name="logProbabilities"/> ([rows, classes]) as probabilities at
    /// <paramref name="temperature"/>: e^z at 1, else softmax(z / T) in double precision, with each
    /// log-probability taken as at least the log of <see cref="Floor"/>, as <see cref="Log"/> floors probabilities.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToProbabilities(ReadOnlySpan<float> logProbabilities, int classes, float temperature, Span<float> probabilities)
    {
        if (probabilities.Length < logProbabilities.Length) throw new ArgumentException("The probability buffer is shorter than the log-probabilities.", nameof(probabilities));
        if (temperature == 1)
        {
            // A plain loop: TensorPrimitives.Exp ran unoptimised through a first evaluation (see Tensors.Rows).
            for (int i = 0; i < logProbabilities.Length; i++) probabilities[i] = MathF.Exp(logProbabilities[i]);
            return;
        }
        Span<double> powers = classes <= 1024 ? stackalloc double[classes] : new double[classes];
        for (int r = 0; r < logProbabilities.Length / classes; r++)
        {
            double sum = Powers(logProbabilities.Slice(r * classes, classes), temperature, powers, out _);
            var output = probabilities.Slice(r * classes, classes);
            for (int c = 0; c < classes; c++) output[c] = (float)(powers[c] / sum);
        }
    }

    /// <summary>powers = e^(z/T - max) for a row z of log-probabilities (each at least the log of <see cref="Floor"/>); returns their sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static double Powers(ReadOnlySpan<float> logProbabilities, double temperature, Span<double> powers, out double max)
    {
        max = double.MinValue;
        for (int c = 0; c < logProbabilities.Length; c++) max = Math.Max(max, powers[c] = Math.Max(logProbabilities[c], LogFloor) / temperature);
        double sum = 0;
        for (int c = 0; c < logProbabilities.Length; c++) sum += powers[c] = Math.Exp(powers[c] - max);
        return sum;
    }

    /// <summary>The natural logarithm of a probability, floored as <see cref="ToProbabilities"/> floors log-probabilities.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Log(float probability) => MathF.Log(Math.Max(probability, Floor));

    /// <summary>
    /// -log softmax(z / T)[target] for one row z of log-probabilities, in double precision: computed as
    /// max + log Σ exp(z/T - max) - z[target]/T, so no term overflows and a far-off target gives a
    /// large finite loss rather than an infinite one. <paramref name="powers"/> is scratch of the row's length.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double NegativeLogLikelihood(ReadOnlySpan<float> logProbabilities, int target, double temperature, Span<double> powers)
    {
        double logSum = Math.Log(Powers(logProbabilities, temperature, powers, out double max)) + max;
        return logSum - Math.Max(logProbabilities[target], LogFloor) / temperature;
    }
}
