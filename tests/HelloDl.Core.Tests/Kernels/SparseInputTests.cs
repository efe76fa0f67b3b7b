using HelloDl.Autograd;
using HelloDl.Data;
using HelloDl.Kernels;
using HelloDl.Nn;
using HelloDl.Tensors;

namespace HelloDl.Tests.Kernels;

/// <summary>
/// The first layer summed over the pixels that are not blank, against x Wᵀ + b summed in double
/// over every pixel, and the MLP's predictions through it against the dense forward pass.
/// </summary>
[Collection(nameof(GlobalKernelSettings))]
public sealed class SparseInputTests
{
    const float Background = -0.42421296f;

    [Theory]
    [InlineData(1, 784, 128, 0.2, false)]    // one image: three empty rows in its group
    [InlineData(7, 784, 128, 0.2, true)]     // a group of four and one of three, with the ReLU
    [InlineData(9, 50, 32, 0.5, false)]      // inputs that end inside a pixel block
    [InlineData(6, 784, 64, 1.0, true)]      // no blank pixel at all
    [InlineData(5, 33, 96, 0.0, false)]      // nothing but blank pixels: the start row alone
    public void Matches_the_product_over_every_pixel(int rows, int inputs, int outputs, double ink, bool relu)
    {
        var random = new Random(rows * 31 + inputs);
        var x = Images(random, rows, inputs, ink);
        var weight = Values(random, outputs * inputs);
        var bias = Values(random, outputs);
        OnEveryPath(() => AssertIsTheProduct(Sparse(x, rows, inputs, weight, bias, outputs, relu), x, rows, inputs, weight, bias, outputs, relu));
    }

    [Fact]
    public void Runs_on_the_avx512_and_avx2_paths_and_not_the_portable_one()
    {
        var saved = Gemm.Path;
        try
        {
            foreach (var path in Enum.GetValues<SimdPath>().Where(p => p >= Gemm.Best))
            {
                Gemm.Path = path;
                Assert.Equal(path != SimdPath.Portable, SparseInput.Supports(784, 128));
                Assert.False(SparseInput.Supports(784, 100));    // not whole blocks of 32
                Assert.False(SparseInput.Supports(4096, 128));   // more inputs than the stack takes
            }
            Gemm.Path = SimdPath.Portable;
            Assert.Throws<NotSupportedException>(() => Sparse(new float[784], 1, 784, new float[128 * 784], new float[128], 128, relu: false));
        }
        finally { Gemm.Path = saved; }
    }

    [Fact]
    public void Every_path_gives_the_same_bits()
    {
        // Each output sums the same terms in the same order on 512-bit and 256-bit vectors.
        var random = new Random(23);
        const int Rows = 70, Inputs = 784, Outputs = 160;   // a block of 128 outputs and one of 32
        var x = Images(random, Rows, Inputs, 0.2);
        var weight = Values(random, Outputs * Inputs);
        var bias = Values(random, Outputs);
        var dy = Values(random, Rows * Outputs);
        var results = new List<float[][]>();
        OnEveryPath(() =>
        {
            var (y, dWeight) = Training(x, Rows, Inputs, weight, bias, dy, Outputs, relu: true);
            results.Add([Sparse(x, Rows, Inputs, weight, bias, Outputs, relu: false), y, dWeight]);
        });
        for (int i = 1; i < results.Count; i++)
            for (int k = 0; k < results[0].Length; k++) Assert.Equal(results[0][k], results[i][k]);
    }

    [Fact]
    public void An_images_result_does_not_depend_on_the_images_grouped_with_it()
    {
        var random = new Random(11);
        const int Count = 10;
        var x = Images(random, Count, 784, 0.2);
        var weight = Values(random, 128 * 784);
        var bias = Values(random, 128);
        OnEveryPath(() =>
        {
            var together = Sparse(x, Count, 784, weight, bias, 128, relu: true);
            for (int r = 0; r < Count; r++)
            {
                var alone = Sparse(x.AsSpan(r * 784, 784).ToArray(), 1, 784, weight, bias, 128, relu: true);
                Assert.Equal(alone, together.AsSpan(r * 128, 128).ToArray());
            }
        });
    }

    [Theory]
    [InlineData(64, 784, 128, 0.2, true)]    // the MLP's first layer on a training batch
    [InlineData(7, 50, 160, 0.3, false)]     // a block of 128 outputs and one of 32; inputs ending inside a pixel block
    [InlineData(130, 33, 32, 0.5, true)]     // rows in three words of bits
    [InlineData(5, 40, 128, 0.0, false)]     // nothing inked: the background terms alone
    [InlineData(3, 24, 96, 1.0, false)]      // everything inked
    [InlineData(9, 13, 128, 0.4, false)]     // an odd last pixel: a pair of one
    public void Training_forward_and_weight_gradient_match_the_products_over_every_pixel(int rows, int inputs, int outputs, double ink, bool relu)
    {
        var random = new Random(rows * 17 + inputs);
        var x = Images(random, rows, inputs, ink);
        var weight = Values(random, outputs * inputs);
        var bias = Values(random, outputs);
        var dy = Values(random, rows * outputs);
        OnEveryPath(() => AssertTrainingMatches(x, rows, inputs, weight, bias, dy, outputs, relu));
    }

    static void AssertTrainingMatches(float[] x, int rows, int inputs, float[] weight, float[] bias, float[] dy, int outputs, bool relu)
    {
        var (y, dWeight) = Training(x, rows, inputs, weight, bias, dy, outputs, relu);
        AssertIsTheProduct(y, x, rows, inputs, weight, bias, outputs, relu);
        var accumulated = Enumerable.Repeat(1f, outputs * inputs).ToArray();
        SparseInput.WeightGradient(x, rows, inputs, Background, dy, outputs, accumulated, accumulate: true,
            new float[SparseInput.WeightGradientScratchLength(rows, inputs, outputs)]);
        for (int o = 0; o < outputs; o++)
            for (int j = 0; j < inputs; j++)
            {
                double expected = 0, scale = 0;
                for (int r = 0; r < rows; r++)
                {
                    expected += (double)dy[r * outputs + o] * x[r * inputs + j];
                    scale += Math.Abs((double)dy[r * outputs + o] * x[r * inputs + j]);
                }
                int i = o * inputs + j;
                Assert.True(Math.Abs(expected - dWeight[i]) < 1e-6 + 2e-6 * scale, $"dW[{o}, {j}]: {dWeight[i]}, expected {expected}");
                Assert.True(Math.Abs(1 + expected - accumulated[i]) < 1e-5 + 2e-6 * scale, $"dW[{o}, {j}] added to 1: {accumulated[i]}, expected {1 + expected}");
            }
    }

    [Fact]
    public void Training_kernels_give_the_same_bits_on_any_number_of_threads()
    {
        var random = new Random(5);
        var x = Images(random, 64, 784, 0.2);
        var weight = Values(random, 128 * 784);
        var bias = Values(random, 128);
        var dy = Values(random, 64 * 128);
        int saved = Parallelism.MaxThreads;
        try
        {
            OnEveryPath(() =>
            {
                Parallelism.MaxThreads = 1;
                var (y, dWeight) = Training(x, 64, 784, weight, bias, dy, 128, relu: true);
                foreach (int threads in new[] { 2, 3 })
                {
                    Parallelism.MaxThreads = threads;
                    var (otherY, otherDWeight) = Training(x, 64, 784, weight, bias, dy, 128, relu: true);
                    Assert.Equal(y, otherY);
                    Assert.Equal(dWeight, otherDWeight);
                }
            });
        }
        finally { Parallelism.MaxThreads = saved; }
    }

    [Fact]
    public void A_training_step_of_the_mlp_takes_it_and_gives_the_dense_passs_gradients()
    {
        var test = MnistData.Test.Select([.. Enumerable.Range(0, 64)]);
        var model = Model.Create(Architecture.Mlp, test.ClassNames, seed: 3);
        var (input, targets) = new Batcher(test, 64, model.Input).Batch(0);
        OnEveryPath(() => AssertTrainingStepIsDense(model, input, targets));
    }

    static void AssertTrainingStepIsDense(Model model, Tensor input, int[] targets)
    {
        Array.Clear(model.Gradients);
        var profile = new OpProfile();
        var tape = new Tape { Profile = profile };
        tape.Reset();
        tape.Backward(NllLoss.Apply(tape, model.Forward(tape, input), targets));
        var sparse = model.Gradients.ToArray();
        Assert.Contains("Linear (inked inputs)", profile.Rows.Select(r => r.Op));
        Array.Clear(model.Gradients);
        var denseTape = new Tape();
        denseTape.Backward(NllLoss.Apply(denseTape, model.Network.Forward(denseTape, input), targets));
        float largest = model.Gradients.Max(MathF.Abs);
        for (int i = 0; i < sparse.Length; i++)
            Assert.True(Math.Abs(sparse[i] - model.Gradients[i]) <= 1e-5f * largest, $"gradient {i}: {sparse[i]}, dense {model.Gradients[i]}");
    }

    /// <summary>y against x Wᵀ + b (and the ReLU) summed in double over every pixel.</summary>
    static void AssertIsTheProduct(float[] y, float[] x, int rows, int inputs, float[] weight, float[] bias, int outputs, bool relu)
    {
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outputs; o++)
            {
                double expected = bias[o];
                for (int j = 0; j < inputs; j++) expected += (double)x[r * inputs + j] * weight[o * inputs + j];
                if (relu) expected = Math.Max(0, expected);
                Assert.True(Math.Abs(expected - y[r * outputs + o]) < 2e-5 * (1 + Math.Abs(expected)), $"row {r} output {o}: {y[r * outputs + o]}, expected {expected}");
            }
    }

    /// <summary>Training's forward pass and weight gradient, as the Linear op runs them.</summary>
    static (float[] Y, float[] DWeight) Training(float[] x, int rows, int inputs, float[] weight, float[] bias, float[] dy, int outputs, bool relu)
    {
        var y = new float[rows * outputs];
        SparseInput.Forward(x, rows, inputs, Background, weight, bias, y, outputs, relu, new float[SparseInput.ForwardScratchLength(inputs, outputs)]);
        var dWeight = Enumerable.Repeat(float.NaN, outputs * inputs).ToArray();   // overwritten, never read
        SparseInput.WeightGradient(x, rows, inputs, Background, dy, outputs, dWeight, accumulate: false,
            new float[SparseInput.WeightGradientScratchLength(rows, inputs, outputs)]);
        return (y, dWeight);
    }

    [Fact]
    public void Only_the_mlp_on_images_predicts_through_it()
    {
        string[] classes = [.. Enumerable.Range(0, 10).Select(i => i.ToString())];
        var mlp = Model.Create(Architecture.Mlp, classes, seed: 1);
        var saved = Gemm.Path;
        try
        {
            // The path is read at each call: a model made on one path predicts on another.
            foreach (var path in Enum.GetValues<SimdPath>().Where(p => p >= Gemm.Best))
            {
                Gemm.Path = path;
                Assert.Equal(path != SimdPath.Portable, mlp.UsesSparseFirstLayer);
            }
        }
        finally { Gemm.Path = saved; }
        Assert.False(Model.Create(Architecture.Mlp, classes, seed: 1, hiddenSize: 100).UsesSparseFirstLayer);   // not whole blocks of 32
        Assert.False(Model.Create(Architecture.Linear, classes, seed: 1).UsesSparseFirstLayer);                  // ten outputs
        Assert.False(Model.Create(Architecture.Cnn, classes, seed: 1).UsesSparseFirstLayer);
    }

    [Fact]
    public void The_mlp_predicts_mnist_as_the_dense_forward_pass_does_and_follows_weights_written_in_place()
    {
        var test = MnistData.Test.Select([.. Enumerable.Range(0, 300)]);
        var model = Model.Create(Architecture.Mlp, test.ClassNames, seed: 2);
        var (input, _) = new Batcher(test, 300, model.Input).Batch(0);
        OnEveryPath(() => AssertPredictsAsDense(model, input));
        // Weights written in place, as training and loading do: the next prediction uses them.
        var random = new Random(4);
        for (int i = 0; i < model.Values.Length; i++) model.Values[i] += (random.NextSingle() - 0.5f) * 0.05f;
        AssertPredictsAsDense(model, input);
        model.Values[model.Values.Length - 1] += 1;   // one bias of the last layer: not the first layer's
        AssertPredictsAsDense(model, input);
        var firstBias = ((LinearLayer)model.Network.Children[1].Module).Bias.Value.Data;
        firstBias[0] += 0.5f;
        AssertPredictsAsDense(model, input);
    }

    static void AssertPredictsAsDense(Model model, Tensor input)
    {
        int count = input.Dim(0), classes = model.ClassNames.Count;
        var dense = model.Network.Forward(new Tape(recording: false) { Training = false }, input).Data.ToArray().Select(MathF.Exp).ToArray();
        var predicted = new float[count * classes];
        model.PredictProbabilities(input, predicted);
        for (int i = 0; i < dense.Length; i++)
            Assert.True(Math.Abs(dense[i] - predicted[i]) < 1e-5f, $"[{i}] {predicted[i]}, dense {dense[i]}");
        for (int r = 0; r < count; r++)
            Assert.Equal(Rows.IndexOfMax(dense.AsSpan(r * classes, classes)), Rows.IndexOfMax(predicted.AsSpan(r * classes, classes)));
    }

    /// <summary>Runs <paramref name="check"/> on every SIMD path this CPU runs that takes the kernel (<see cref="Runs_on_the_avx512_and_avx2_paths_and_not_the_portable_one"/>).</summary>
    static void OnEveryPath(Action check)
    {
        var saved = Gemm.Path;
        try
        {
            foreach (var path in Enum.GetValues<SimdPath>().Where(p => p >= Gemm.Best && p != SimdPath.Portable))
            {
                Gemm.Path = path;
                check();
            }
        }
        finally { Gemm.Path = saved; }
    }

    static float[] Sparse(float[] x, int rows, int inputs, float[] weight, float[] bias, int outputs, bool relu)
    {
        var transposed = new float[inputs * outputs];
        var start = new float[outputs];
        SparseInput.Prepare(weight, bias, outputs, inputs, Background, transposed, start);
        var y = new float[rows * outputs];
        SparseInput.Multiply(x, rows, inputs, Background, transposed, start, y, outputs, relu);
        return y;
    }

    /// <summary>Rows of blank pixels (the background) with a share of inked ones.</summary>
    static float[] Images(Random random, int rows, int inputs, double ink) =>
        [.. Enumerable.Range(0, rows * inputs).Select(_ => random.NextDouble() < ink ? Background + random.NextSingle() * 3 : Background)];

    static float[] Values(Random random, int count) => [.. Enumerable.Range(0, count).Select(_ => random.NextSingle() - 0.5f)];
}
