using HelloDl.Autograd;
using HelloDl.Tensors;
using static HelloDl.Tests.Autograd.GradientCheck;

namespace HelloDl.Tests.Autograd;

/// <summary>Every op through the one gradient check, on shapes drawn at random.</summary>
public sealed class OpGradientTests
{
    static Tensor Input(Random random, int[] shape, float low = -1, float high = 1, float avoidNear = float.NaN) =>
        Tensor.Trainable(RandomValues(random, Tensor.Size(shape), low, high, avoidNear), shape);

    static int Size(Random random, int low = 1, int high = 5) => random.Next(low, high + 1);

    public static TheoryData<int> Seeds => [1, 2, 3];

    [Theory, MemberData(nameof(Seeds))]
    public void MatMul_in_all_four_layouts(int seed)
    {
        var random = new Random(seed);
        int m = Size(random), n = Size(random), k = Size(random);
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                Check((tape, x) => MatMul.Apply(tape, x[0], x[1], ta, tb),
                    [Input(random, ta ? [k, m] : [m, k]), Input(random, tb ? [n, k] : [k, n])], seed);
    }

    [Theory, MemberData(nameof(Seeds))]
    public void Linear(int seed)
    {
        var random = new Random(seed);
        int rows = Size(random), inputs = Size(random, 1, 9), outputs = Size(random);
        Check((tape, x) => HelloDl.Autograd.Linear.Apply(tape, x[0], x[1], x[2]),
            [Input(random, [rows, inputs]), Input(random, [outputs, inputs]), Input(random, [outputs])], seed);
    }

    [Theory, MemberData(nameof(Seeds))]
    public void Linear_with_relu(int seed)
    {
        var random = new Random(seed);
        int rows = Size(random), inputs = Size(random, 1, 9), outputs = Size(random);
        // Biases of ±0.5 keep most pre-activations away from the kink, where finite differences break down.
        var bias = Enumerable.Range(0, outputs).Select(i => i % 2 == 0 ? 0.5f : -0.5f).ToArray();
        Check((tape, x) => HelloDl.Autograd.Linear.Apply(tape, x[0], x[1], x[2], relu: true),
            [Input(random, [rows, inputs], -0.3f, 0.3f), Input(random, [outputs, inputs], -0.3f, 0.3f), Tensor.Trainable(bias, outputs)], seed, step: 1e-3f);
    }

    [Fact]
    public void Linear_with_relu_matches_linear_then_relu()
    {
        var random = new Random(4);
        var x = Input(random, [7, 20]);
        var weight = Input(random, [9, 20]);
        var bias = Input(random, [9]);
        var upstream = Enumerable.Range(0, 63).Select(_ => random.NextSingle() - 0.5f).ToArray();

        float[][] Run(bool fused)
        {
            var tape = new Tape();
            foreach (var t in new[] { x, weight, bias }) t.Grad.Clear();
            var y = fused ? HelloDl.Autograd.Linear.Apply(tape, x, weight, bias, relu: true)
                : Relu.Apply(tape, HelloDl.Autograd.Linear.Apply(tape, x, weight, bias));
            tape.BackwardFrom(y, upstream);
            return [y.Data.ToArray(), x.Grad.ToArray(), weight.Grad.ToArray(), bias.Grad.ToArray()];
        }

        var separate = Run(fused: false);
        var together = Run(fused: true);
        for (int t = 0; t < separate.Length; t++) Assert.Equal(separate[t], together[t]);
    }

    public static TheoryData<int[], int[]> BroadcastShapes => new()
    {
        { [3, 4], [3, 4] },
        { [2, 3, 4], [4] },
        { [2, 1, 4], [3, 1] },
        { [2, 3, 2, 2], [1, 3, 1, 1] },
        { [1], [2, 5] },
    };

    [Theory, MemberData(nameof(BroadcastShapes))]
    public void Add_sub_mul_div_with_broadcasting(int[] a, int[] b)
    {
        var random = new Random(a.Length * 10 + b.Length);
        Check((tape, x) => Broadcast<AddRule>.Apply(tape, x[0], x[1]), [Input(random, a), Input(random, b)]);
        Check((tape, x) => Broadcast<SubRule>.Apply(tape, x[0], x[1]), [Input(random, a), Input(random, b)]);
        Check((tape, x) => Broadcast<MulRule>.Apply(tape, x[0], x[1]), [Input(random, a), Input(random, b)]);
        // Divisors kept away from zero so the quotient stays smooth.
        Check((tape, x) => Broadcast<DivRule>.Apply(tape, x[0], x[1]), [Input(random, a), Input(random, b, 0.5f, 2f)]);
    }

    [Theory, MemberData(nameof(Seeds))]
    public void Sum_mean_and_sum_of_squares(int seed)
    {
        var random = new Random(seed);
        int[] shape = [Size(random), Size(random), Size(random)];
        Check((tape, x) => Sum.Apply(tape, x[0]), [Input(random, shape)], seed);
        Check((tape, x) => Sum.Mean(tape, x[0]), [Input(random, shape)], seed);
        Check((tape, x) => SumOfSquares.Apply(tape, x[0]), [Input(random, shape)], seed);
    }

    [Theory, MemberData(nameof(Seeds))]
    public void Reshape_and_flatten(int seed)
    {
        var random = new Random(seed);
        int n = Size(random), c = Size(random), h = Size(random);
        Check((tape, x) => Reshape.Apply(tape, x[0], c, n * h), [Input(random, [n, c, h])], seed);
        Check((tape, x) => Reshape.Flatten(tape, x[0]), [Input(random, [n, c, h, 2])], seed);
    }

    [Theory, MemberData(nameof(Seeds))]
    public void Activations(int seed)
    {
        var random = new Random(seed);
        int[] shape = [Size(random), Size(random, 9, 40)];
        Check((tape, x) => Relu.Apply(tape, x[0]), [Input(random, shape, avoidNear: 0)], seed);
        Check((tape, x) => Gelu.Apply(tape, x[0]), [Input(random, shape, -3, 3)], seed);
        Check((tape, x) => Unary<SigmoidRule>.Apply(tape, x[0]), [Input(random, shape, -3, 3)], seed);
        Check((tape, x) => Unary<TanhRule>.Apply(tape, x[0]), [Input(random, shape, -2, 2)], seed);
    }

    [Theory, MemberData(nameof(Seeds))]
    public void Log_softmax_nll_and_cross_entropy(int seed)
    {
        var random = new Random(seed);
        int rows = Size(random), classes = Size(random, 2, 7);
        var targets = Enumerable.Range(0, rows).Select(_ => random.Next(classes)).ToArray();
        Check((tape, x) => LogSoftmax.Apply(tape, x[0]), [Input(random, [rows, classes], -3, 3)], seed);
        Check((tape, x) => NllLoss.Apply(tape, x[0], targets), [Input(random, [rows, classes])], seed);
        Check((tape, x) => NllLoss.CrossEntropy(tape, x[0], targets), [Input(random, [rows, classes], -3, 3)], seed);
    }

    public static TheoryData<int, int, int> ConvSettings => new()
    {
        { 3, 1, 0 },
        { 3, 2, 1 },
        { 2, 1, 1 },
        { 1, 1, 0 },
    };

    [Theory, MemberData(nameof(ConvSettings))]
    public void Conv2d_with_stride_and_padding(int kernel, int stride, int padding)
    {
        var random = new Random(kernel * 100 + stride * 10 + padding);
        int n = Size(random, 1, 3), c = Size(random, 1, 3), o = Size(random, 1, 3), h = Size(random, kernel, 7), w = Size(random, kernel, 7);
        Check((tape, x) => Conv2d.Apply(tape, x[0], x[1], x[2], stride, padding),
            [Input(random, [n, c, h, w]), Input(random, [o, c, kernel, kernel]), Input(random, [o])]);
    }

    [Theory]
    [InlineData(3, 2, 2, false, 8)]
    [InlineData(3, 2, 2, true, 9)]
    [InlineData(2, 3, 2, false, 7)]
    public void Conv2d_then_max_pooling_as_one_op(int kernel, int poolKernel, int poolStride, bool ceil, int size)
    {
        var random = new Random(size * 10 + poolKernel);
        Check((tape, x) => Conv2dMaxPool.Apply(tape, x[0], x[1], x[2], 1, 0, poolKernel, poolStride, ceil),
            [Input(random, [2, 2, size, size]), Input(random, [3, 2, kernel, kernel]), Input(random, [3])], step: 1e-3f);
    }

    [Theory]
    [InlineData(1, 8, 28, false)]    // hello-dl's first layer: 28 -> 26 -> 13, one image per product
    [InlineData(8, 16, 13, true)]    // second: 13 -> 11 -> 6 (ceil), several images per product
    [InlineData(16, 8, 6, false)]    // third: 6 -> 4 -> 2
    public void Fused_convolution_and_pooling_match_the_two_ops(int channels, int outputs, int size, bool ceil)
    {
        var random = new Random(channels + outputs + size);
        var x = Input(random, [5, channels, size, size]);
        var weight = Input(random, [outputs, channels, 3, 3]);
        var bias = Input(random, [outputs]);
        var upstream = Enumerable.Range(0, 5 * outputs * 13 * 13).Select(_ => random.NextSingle() - 0.5f).ToArray();

        (float[] Output, float[] Dx, float[] DWeight, float[] DBias) Run(bool fused)
        {
            var tape = new Tape();
            foreach (var t in new[] { x, weight, bias }) t.Grad.Clear();
            var y = fused ? Conv2dMaxPool.Apply(tape, x, weight, bias, 1, 0, 2, 2, ceil)
                : MaxPool2d.Apply(tape, Conv2d.Apply(tape, x, weight, bias), 2, 2, ceil);
            tape.BackwardFrom(y, upstream.AsSpan(0, y.Length));
            return (y.Data.ToArray(), x.Grad.ToArray(), weight.Grad.ToArray(), bias.Grad.ToArray());
        }

        var separate = Run(fused: false);
        var together = Run(fused: true);
        foreach (var (a, b) in new[] { (separate.Output, together.Output), (separate.Dx, together.Dx), (separate.DWeight, together.DWeight), (separate.DBias, together.DBias) })
        {
            Assert.Equal(a.Length, b.Length);
            for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-4f * Math.Max(1, Math.Abs(a[i])), $"[{i}] {a[i]} vs {b[i]}");
        }
    }

    [Theory]
    [InlineData(2, 2, false, 6)]
    [InlineData(2, 2, true, 7)]
    [InlineData(3, 2, true, 6)]
    [InlineData(2, 1, false, 5)]
    public void MaxPool2d_with_and_without_ceil_mode(int kernel, int stride, bool ceil, int size)
    {
        var random = new Random(size * kernel);
        // Distinct, well-separated values: the maximum of a window never ties or swaps under a finite-difference step.
        var values = Enumerable.Range(0, 2 * 3 * size * size).Select(i => i * 0.1f).OrderBy(_ => random.Next()).ToArray();
        Check((tape, x) => MaxPool2d.Apply(tape, x[0], kernel, stride, ceil), [Tensor.Trainable(values, 2, 3, size, size)], step: 1e-3f);
    }

    [Fact]
    public void MaxPool2d_ceil_mode_turns_hello_dls_11_into_6()
    {
        Assert.Equal(6, MaxPool2d.OutputSize(11, 2, 2, ceilMode: true));
        Assert.Equal(5, MaxPool2d.OutputSize(11, 2, 2, ceilMode: false));
        Assert.Equal(13, MaxPool2d.OutputSize(26, 2, 2, ceilMode: true));
    }

    [Theory, MemberData(nameof(Seeds))]
    public void Dropout_in_training(int seed)
    {
        var random = new Random(seed);
        Check((tape, x) => HelloDl.Autograd.Dropout.Apply(tape, x[0], 0.5f), [Input(random, [Size(random), 8])], seed);
    }

    [Theory, MemberData(nameof(Seeds))]
    public void Slice_and_concat(int seed)
    {
        var random = new Random(seed);
        int a = Size(random, 2, 4), b = Size(random, 3, 5), c = Size(random);
        Check((tape, x) => HelloDl.Autograd.Slice.Apply(tape, x[0], 1, 1, b - 2), [Input(random, [a, b, c])], seed);
        Check((tape, x) => HelloDl.Autograd.Slice.Apply(tape, x[0], 0, 0, 1), [Input(random, [a, b])], seed);
        Check((tape, x) => Concat.Apply(tape, 1, x[0], x[1]), [Input(random, [a, b, c]), Input(random, [a, 2, c])], seed);
        Check((tape, x) => Concat.Apply(tape, 0, x[0], x[1]), [Input(random, [a, b]), Input(random, [1, b])], seed);
    }
}
