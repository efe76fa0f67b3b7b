using System.Runtime.Intrinsics;
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
        Assert.True(SparseInput.Supports(inputs, outputs) || !Vector512.IsHardwareAccelerated);
        if (!SparseInput.Supports(inputs, outputs)) return;
        var random = new Random(rows * 31 + inputs);
        var x = Images(random, rows, inputs, ink);
        var weight = Values(random, outputs * inputs);
        var bias = Values(random, outputs);
        var y = Sparse(x, rows, inputs, weight, bias, outputs, relu);
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outputs; o++)
            {
                double expected = bias[o];
                for (int j = 0; j < inputs; j++) expected += (double)x[r * inputs + j] * weight[o * inputs + j];
                if (relu) expected = Math.Max(0, expected);
                Assert.True(Math.Abs(expected - y[r * outputs + o]) < 2e-5 * (1 + Math.Abs(expected)), $"row {r} output {o}: {y[r * outputs + o]}, expected {expected}");
            }
    }

    [Fact]
    public void An_images_result_does_not_depend_on_the_images_grouped_with_it()
    {
        if (!SparseInput.Supports(784, 128)) return;
        var random = new Random(11);
        const int Count = 10;
        var x = Images(random, Count, 784, 0.2);
        var weight = Values(random, 128 * 784);
        var bias = Values(random, 128);
        var together = Sparse(x, Count, 784, weight, bias, 128, relu: true);
        for (int r = 0; r < Count; r++)
        {
            var alone = Sparse(x.AsSpan(r * 784, 784).ToArray(), 1, 784, weight, bias, 128, relu: true);
            Assert.Equal(alone, together.AsSpan(r * 128, 128).ToArray());
        }
    }

    [Fact]
    public void Only_the_mlp_on_images_predicts_through_it()
    {
        string[] classes = [.. Enumerable.Range(0, 10).Select(i => i.ToString())];
        Assert.Equal(Vector512.IsHardwareAccelerated, Model.Create(Architecture.Mlp, classes, seed: 1).PredictsWithSparseFirstLayer);
        Assert.False(Model.Create(Architecture.Mlp, classes, seed: 1, hiddenSize: 100).PredictsWithSparseFirstLayer);   // not whole blocks of 32
        Assert.False(Model.Create(Architecture.Linear, classes, seed: 1).PredictsWithSparseFirstLayer);                  // ten outputs
        Assert.False(Model.Create(Architecture.Cnn, classes, seed: 1).PredictsWithSparseFirstLayer);
    }

    [Fact]
    public void The_mlp_predicts_mnist_as_the_dense_forward_pass_does_and_follows_weights_written_in_place()
    {
        var test = MnistData.Test.Select([.. Enumerable.Range(0, 300)]);
        var model = Model.Create(Architecture.Mlp, test.ClassNames, seed: 2);
        var (input, _) = new Batcher(test, 300, model.Input).Batch(0);
        AssertPredictsAsDense(model, input);
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
        var dense = model.Forward(new Tape(recording: false) { Training = false }, input).Data.ToArray().Select(MathF.Exp).ToArray();
        var predicted = new float[count * classes];
        model.PredictProbabilities(input, predicted);
        for (int i = 0; i < dense.Length; i++)
            Assert.True(Math.Abs(dense[i] - predicted[i]) < 1e-5f, $"[{i}] {predicted[i]}, dense {dense[i]}");
        for (int r = 0; r < count; r++)
            Assert.Equal(Rows.IndexOfMax(dense.AsSpan(r * classes, classes)), Rows.IndexOfMax(predicted.AsSpan(r * classes, classes)));
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
