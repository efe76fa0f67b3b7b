using HelloDl.Autograd;
using HelloDl.Tensors;

namespace HelloDl.Tests.Autograd;

/// <summary>The values an op should compute, from a naive double-precision reference.</summary>
public sealed record Expected(int[] Shape, double[] Values);

/// <summary>
/// The one gradient check every op goes through: the backward rule's gradient of
/// L = Σ output ⊙ R (R fixed random weights) against central finite differences,
/// (L(x + h) - L(x - h)) / 2h, with L summed in double precision; and, when a reference is
/// given, the forward output against it, so the check does not only compare the op with itself.
/// </summary>
public static class GradientCheck
{
    public static float[] RandomValues(Random random, int length, float low = -1, float high = 1, float avoidNear = float.NaN)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            do values[i] = low + (high - low) * random.NextSingle();
            // Keep away from kinks (ReLU's 0) where finite differences straddle two slopes.
            while (!float.IsNaN(avoidNear) && Math.Abs(values[i] - avoidNear) < 0.05f);
        }
        return values;
    }

    /// <param name="forward">Builds the op's output from the inputs on the given tape.</param>
    /// <param name="inputs">Trainable inputs; every one of them is checked.</param>
    /// <param name="reference">Computes the output naively in double precision from the inputs.</param>
    /// <returns>The names of the ops the forward pass recorded, in order.</returns>
    public static IReadOnlyList<string> Check(Func<Tape, Tensor[], Tensor> forward, Tensor[] inputs, int seed = 1, float step = 1e-2f,
        float absoluteTolerance = 2e-2f, float relativeTolerance = 2e-2f, Func<Tensor[], Expected>? reference = null)
    {
        const int DropoutSeed = 12345;
        var profile = new OpProfile();
        var tape = new Tape { Random = new Random(DropoutSeed), Profile = profile };
        tape.Reset();
        var output = forward(tape, inputs);
        if (reference is not null) CheckForward(output, reference(inputs));
        var weights = RandomValues(new Random(seed), output.Length);
        tape.BackwardFrom(output, weights);
        var analytic = inputs.Select(x => x.Grad.ToArray()).ToArray();
        CheckAccumulation(forward, inputs, weights, analytic, DropoutSeed);

        double Loss()
        {
            var probe = new Tape(recording: false) { Random = new Random(DropoutSeed) };
            var values = forward(probe, inputs).Data;
            double sum = 0;
            for (int i = 0; i < values.Length; i++) sum += (double)values[i] * weights[i];
            return sum;
        }

        for (int t = 0; t < inputs.Length; t++)
        {
            var data = inputs[t].Data;
            for (int i = 0; i < data.Length; i++)
            {
                float saved = data[i];
                data[i] = saved + step;
                double plus = Loss();
                data[i] = saved - step;
                double minus = Loss();
                data[i] = saved;
                double numeric = (plus - minus) / (2 * step);
                double error = Math.Abs(numeric - analytic[t][i]);
                Assert.True(error <= absoluteTolerance + relativeTolerance * Math.Abs(numeric),
                    $"input {t} element {i}: backward says {analytic[t][i]}, finite differences say {numeric}");
            }
        }
        return profile.Rows.Select(r => r.Op).ToList();
    }

    /// <summary>
    /// A second pass on a new tape adds to the gradients the first left (each op adds into its
    /// inputs' gradients rather than overwriting them), so they double.
    /// </summary>
    static void CheckAccumulation(Func<Tape, Tensor[], Tensor> forward, Tensor[] inputs, float[] weights, float[][] first, int dropoutSeed)
    {
        var tape = new Tape { Random = new Random(dropoutSeed) };
        tape.BackwardFrom(forward(tape, inputs), weights);
        for (int t = 0; t < inputs.Length; t++)
        {
            var grad = inputs[t].Grad;
            for (int i = 0; i < grad.Length; i++)
                Assert.True(Math.Abs(grad[i] - 2 * first[t][i]) <= 1e-5 + 1e-4 * Math.Abs(first[t][i]),
                    $"input {t} element {i}: after a second backward pass the gradient is {grad[i]}, the first pass gave {first[t][i]}");
        }
        for (int t = 0; t < inputs.Length; t++) first[t].CopyTo(inputs[t].Grad);
    }

    /// <summary>Float32 results against the double reference: within rounding of a few dozen terms.</summary>
    static void CheckForward(Tensor output, Expected expected)
    {
        Assert.True(output.Shape.SequenceEqual(expected.Shape), $"forward gives shape {Tensor.ShapeText(output.Shape)}, the reference {Tensor.ShapeText(expected.Shape)}");
        var values = output.Data;
        for (int i = 0; i < values.Length; i++)
            Assert.True(Math.Abs(values[i] - expected.Values[i]) <= 1e-5 + 1e-4 * Math.Abs(expected.Values[i]),
                $"forward element {i} is {values[i]}, the reference says {expected.Values[i]}");
    }
}
