using HelloDl.Autograd;
using HelloDl.Tensors;
using HelloDl.Kernels;
using static HelloDl.Tests.Autograd.GradientCheck;

namespace HelloDl.Tests.Autograd;

/// <summary>
/// One entry of the op catalogue: inputs drawn from a seed, the op's forward, its naive reference
/// (null only where the output is random, as dropout's), and the finite-difference step.
/// </summary>
public sealed record OpCase(string Name, Type Op, Func<Random, Tensor[]> Inputs, Func<Tape, Tensor[], Tensor> Forward,
    Func<Tensor[], Expected>? Reference, float Step = 1e-2f, string? ProfileName = null);

/// <summary>
/// Every op of the library, each through the one gradient check and (but for dropout) against a
/// naive double-precision forward; a test fails when an op is added without an entry here.
/// </summary>
public sealed class OpGradientTests
{
    static Tensor Input(Random random, int[] shape, float low = -1, float high = 1, float avoidNear = float.NaN) =>
        Tensor.Trainable(RandomValues(random, Tensor.Size(shape), low, high, avoidNear), shape);

    static int Size(Random random, int low = 1, int high = 5) => random.Next(low, high + 1);

    /// <summary>Distinct, well-separated values: a window's maximum never ties or swaps under a finite-difference step.</summary>
    static Tensor Separated(Random random, params int[] shape) =>
        Tensor.Trainable(Enumerable.Range(0, Tensor.Size(shape)).Select(i => i * 0.1f).OrderBy(_ => random.Next()).ToArray(), shape);

    /// <summary>The value of a blank MNIST pixel after normalisation.</summary>
    const float Blank = -0.42421296f;

    static int[] Targets(Random random, int rows, int classes) => Enumerable.Range(0, rows).Select(_ => random.Next(classes)).ToArray();

    static IEnumerable<OpCase> Catalogue()
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                yield return new($"MatMul{(ta ? " Aᵀ" : "")}{(tb ? " Bᵀ" : "")}", typeof(MatMul), r =>
                    {
                        int m = Size(r), n = Size(r), k = Size(r);
                        return [Input(r, ta ? [k, m] : [m, k]), Input(r, tb ? [n, k] : [k, n])];
                    },
                    (tape, x) => MatMul.Apply(tape, x[0], x[1], ta, tb), x => NaiveOps.MatMul(x[0], x[1], ta, tb));

        yield return new("Linear", typeof(Linear), r =>
            {
                int rows = Size(r), inputs = Size(r, 1, 9), outputs = Size(r);
                return [Input(r, [rows, inputs]), Input(r, [outputs, inputs]), Input(r, [outputs])];
            },
            (tape, x) => Linear.Apply(tape, x[0], x[1], x[2]), x => NaiveOps.Linear(x[0], x[1], x[2]));
        // Biases of ±0.5 keep most pre-activations away from the kink, where finite differences break down.
        yield return new("Linear with ReLU", typeof(Linear), r =>
            {
                int rows = Size(r), inputs = Size(r, 1, 9), outputs = Size(r);
                return [Input(r, [rows, inputs], -0.3f, 0.3f), Input(r, [outputs, inputs], -0.3f, 0.3f),
                    Tensor.Trainable(Enumerable.Range(0, outputs).Select(i => i % 2 == 0 ? 0.5f : -0.5f).ToArray(), outputs)];
            },
            (tape, x) => Linear.Apply(tape, x[0], x[1], x[2], relu: true), x => NaiveOps.Linear(x[0], x[1], x[2], relu: true), Step: 1e-3f);
        // Told the background most of x takes (a blank pixel's), it multiplies only x's other values,
        // on the AVX-512 and AVX2 paths; 160 outputs take both of the AVX-512 weight gradient's widths.
        foreach (bool relu in new[] { false, true })
            yield return new(relu ? "Linear over a background, with ReLU" : "Linear over a background", typeof(Linear), r =>
                {
                    int rows = Size(r), inputs = Size(r, 1, 20), outputs = r.Next(2) == 0 ? 32 : 160;
                    var x = Input(r, [rows, inputs], -0.3f, 0.3f);
                    var values = x.Data;
                    for (int i = 0; i < values.Length; i++) if (i % 4 != 1) values[i] = Blank;   // at most half inked: the kernels' share
                    return [x, Input(r, [outputs, inputs], -0.3f, 0.3f),
                        Tensor.Trainable(Enumerable.Range(0, outputs).Select(i => i % 2 == 0 ? 0.5f : -0.5f).ToArray(), outputs)];
                },
                (tape, x) => Linear.Apply(tape, x[0], x[1], x[2], relu, background: Blank), x => NaiveOps.Linear(x[0], x[1], x[2], relu),
                Step: 1e-3f, ProfileName: Gemm.Path != SimdPath.Portable ? "Linear (inked inputs)" : "Linear");

        // Backpropagation through time over 1 to 4 steps: x (an embedding's output), both weights and both
        // biases are trained; h0 is data. With a mask, some sequences end early and carry their state.
        foreach (bool masked in new[] { false, true })
        {
            float[]? gruMask = null;
            Tensor gruInitial = Tensor.FromArray([0f], 1, 1);
            yield return new(masked ? "GruLayer with padded steps" : "GruLayer", typeof(GruLayer), r =>
                {
                    int sequences = Size(r, 1, 3), steps = Size(r, 1, 4), inputs = Size(r, 1, 5), hidden = Size(r, 1, 4);
                    gruInitial = Tensor.FromArray(Enumerable.Range(0, sequences * hidden).Select(_ => r.NextSingle() - 0.5f).ToArray(), sequences, hidden);
                    // Sequence n has n + 1 fewer steps than the longest when masked: once padded, always padded.
                    gruMask = masked ? Enumerable.Range(0, steps * sequences).Select(i => i / sequences < steps - i % sequences ? 1f : 0f).ToArray() : null;
                    return [Input(r, [steps * sequences, inputs]), Input(r, [3 * hidden, inputs]), Input(r, [3 * hidden, hidden]), Input(r, [3 * hidden]), Input(r, [3 * hidden])];
                },
                (tape, x) => GruLayer.Apply(tape, x[0], gruInitial, x[1], x[2], x[3], x[4], gruMask),
                x => NaiveOps.GruLayer(x[0], gruInitial, x[1], x[2], x[3], x[4], gruMask));
        }

        // Ids repeat within a row and some pairs are padding (id -1), as hashed documents have them.
        Tensor bagFeatures = new(1, 1, 2);
        yield return new("EmbeddingBag", typeof(EmbeddingBag), r =>
            {
                int rows = Size(r), pairs = Size(r, 1, 6), ids = Size(r, 2, 7), width = Size(r);
                bagFeatures = Tensor.FromArray(Enumerable.Range(0, rows * pairs)
                    .SelectMany(_ => r.Next(5) == 0 ? new[] { -1f, 0f } : [r.Next(ids), r.NextSingle() * 2 - 1]).ToArray(), rows, pairs, 2);
                return [Input(r, [ids, width]), Input(r, [width])];
            },
            (tape, x) => EmbeddingBag.Apply(tape, bagFeatures, x[0], x[1]), x => NaiveOps.EmbeddingBag(bagFeatures, x[0], x[1]));

        (int[], int[])[] broadcastShapes = [([3, 4], [3, 4]), ([2, 3, 4], [4]), ([2, 1, 4], [3, 1]), ([2, 3, 2, 2], [1, 3, 1, 1]), ([1], [2, 5])];
        foreach (var (a, b) in broadcastShapes)
        {
            string shapes = $"{Tensor.ShapeText(a)} {Tensor.ShapeText(b)}";
            yield return new($"Add {shapes}", typeof(Broadcast<AddRule>), r => [Input(r, a), Input(r, b)],
                (tape, x) => Broadcast<AddRule>.Apply(tape, x[0], x[1]), x => NaiveOps.Broadcast(x[0], x[1], (p, q) => p + q));
            yield return new($"Sub {shapes}", typeof(Broadcast<SubRule>), r => [Input(r, a), Input(r, b)],
                (tape, x) => Broadcast<SubRule>.Apply(tape, x[0], x[1]), x => NaiveOps.Broadcast(x[0], x[1], (p, q) => p - q));
            yield return new($"Mul {shapes}", typeof(Broadcast<MulRule>), r => [Input(r, a), Input(r, b)],
                (tape, x) => Broadcast<MulRule>.Apply(tape, x[0], x[1]), x => NaiveOps.Broadcast(x[0], x[1], (p, q) => p * q));
            // Divisors kept away from zero so the quotient stays smooth.
            yield return new($"Div {shapes}", typeof(Broadcast<DivRule>), r => [Input(r, a), Input(r, b, 0.5f, 2f)],
                (tape, x) => Broadcast<DivRule>.Apply(tape, x[0], x[1]), x => NaiveOps.Broadcast(x[0], x[1], (p, q) => p / q));
        }

        Func<Random, Tensor[]> cube = r => [Input(r, [Size(r), Size(r), Size(r)])];
        yield return new("Sum", typeof(Sum), cube, (tape, x) => Sum.Apply(tape, x[0]), x => NaiveOps.Scalar(x[0], v => v.Sum()));
        yield return new("Mean", typeof(Sum), cube, (tape, x) => Sum.Mean(tape, x[0]), x => NaiveOps.Scalar(x[0], v => v.Average()));
        yield return new("SumOfSquares", typeof(SumOfSquares), cube, (tape, x) => SumOfSquares.Apply(tape, x[0]), x => NaiveOps.Scalar(x[0], v => v.Sum(e => e * e)));

        yield return new("Reshape", typeof(Reshape), cube, (tape, x) => Reshape.Apply(tape, x[0], x[0].Dim(1), x[0].Dim(0) * x[0].Dim(2)),
            x => NaiveOps.Reshape(x[0], [x[0].Dim(1), x[0].Dim(0) * x[0].Dim(2)]));
        yield return new("Flatten", typeof(Reshape), r => [Input(r, [Size(r), Size(r), Size(r), 2])], (tape, x) => Reshape.Flatten(tape, x[0]),
            x => NaiveOps.Reshape(x[0], [x[0].Dim(0), x[0].Length / x[0].Dim(0)]));

        Func<Random, int[]> wide = r => [Size(r), Size(r, 9, 40)];
        yield return new("ReLU", typeof(Relu), r => [Input(r, wide(r), avoidNear: 0)], (tape, x) => Relu.Apply(tape, x[0]),
            x => NaiveOps.Elementwise(x[0], v => Math.Max(0, v)));
        yield return new("GELU", typeof(Gelu), r => [Input(r, wide(r), -3, 3)], (tape, x) => Gelu.Apply(tape, x[0]),
            x => NaiveOps.Elementwise(x[0], NaiveOps.Gelu));
        yield return new("Sigmoid", typeof(Unary<SigmoidRule>), r => [Input(r, wide(r), -3, 3)], (tape, x) => Unary<SigmoidRule>.Apply(tape, x[0]),
            x => NaiveOps.Elementwise(x[0], v => 1 / (1 + Math.Exp(-v))));
        yield return new("Tanh", typeof(Unary<TanhRule>), r => [Input(r, wide(r), -2, 2)], (tape, x) => Unary<TanhRule>.Apply(tape, x[0]),
            x => NaiveOps.Elementwise(x[0], Math.Tanh));

        yield return new("LogSoftmax", typeof(LogSoftmax), r => [Input(r, [Size(r), Size(r, 2, 7)], -3, 3)], (tape, x) => LogSoftmax.Apply(tape, x[0]),
            x => NaiveOps.LogSoftmax(x[0]));
        // Targets drawn from the same seed as the inputs, after them: a Func per case keeps them together.
        int[] nllTargets = [];
        yield return new("NllLoss", typeof(NllLoss), r =>
            {
                int rows = Size(r), classes = Size(r, 2, 7);
                nllTargets = Targets(r, rows, classes);
                return [Input(r, [rows, classes])];
            },
            (tape, x) => NllLoss.Apply(tape, x[0], nllTargets), x => NaiveOps.NllLoss(x[0], nllTargets));
        int[] weightedTargets = [];
        float[] classWeights = [];
        yield return new("NllLoss, class-weighted", typeof(NllLoss), r =>
            {
                int rows = Size(r), classes = Size(r, 2, 7);
                weightedTargets = Targets(r, rows, classes);
                classWeights = Enumerable.Range(0, classes).Select(_ => 0.2f + 3 * r.NextSingle()).ToArray();
                return [Input(r, [rows, classes])];
            },
            (tape, x) => NllLoss.Apply(tape, x[0], weightedTargets, classWeights), x => NaiveOps.WeightedNllLoss(x[0], weightedTargets, classWeights));
        int[] crossEntropyTargets = [];
        yield return new("CrossEntropy", typeof(NllLoss), r =>
            {
                int rows = Size(r), classes = Size(r, 2, 7);
                crossEntropyTargets = Targets(r, rows, classes);
                return [Input(r, [rows, classes], -3, 3)];
            },
            (tape, x) => NllLoss.CrossEntropy(tape, x[0], crossEntropyTargets), x => NaiveOps.NllLoss(NaiveOps.LogSoftmax(x[0]), crossEntropyTargets));

        foreach (var (kernel, stride, padding) in new[] { (3, 1, 0), (3, 2, 1), (2, 1, 1), (1, 1, 0), (3, 1, 2) })
            yield return new($"Conv2d {kernel}x{kernel} stride {stride} padding {padding}", typeof(Conv2d), r =>
                {
                    int n = Size(r, 1, 3), c = Size(r, 1, 3), o = Size(r, 1, 3), h = Size(r, kernel, 7), w = Size(r, kernel, 7);
                    return [Input(r, [n, c, h, w]), Input(r, [o, c, kernel, kernel]), Input(r, [o])];
                },
                (tape, x) => Conv2d.Apply(tape, x[0], x[1], x[2], stride, padding), x => NaiveOps.Conv2d(x[0], x[1], x[2], stride, padding));

        foreach (var (kernel, stride, ceil, size) in new[] { (2, 2, false, 6), (2, 2, true, 7), (3, 2, true, 6), (2, 1, false, 5), (2, 2, true, 11), (3, 3, true, 7) })
            yield return new($"MaxPool2d {kernel}/{stride}{(ceil ? " ceil" : "")} on {size}", typeof(MaxPool2d), r => [Separated(r, 2, 3, size, size)],
                (tape, x) => MaxPool2d.Apply(tape, x[0], kernel, stride, ceil), x => NaiveOps.MaxPool2d(x[0], kernel, stride, ceil), Step: 1e-3f);

        foreach (var (kernel, poolKernel, poolStride, ceil, size) in new[] { (3, 2, 2, false, 8), (3, 2, 2, true, 9), (2, 3, 2, false, 7) })
            yield return new($"Conv2dMaxPool {kernel}x{kernel}, pool {poolKernel}/{poolStride}{(ceil ? " ceil" : "")} on {size}", typeof(Conv2dMaxPool),
                r => [Input(r, [2, 2, size, size]), Input(r, [3, 2, kernel, kernel]), Input(r, [3])],
                (tape, x) => Conv2dMaxPool.Apply(tape, x[0], x[1], x[2], 1, 0, poolKernel, poolStride, ceil),
                x => NaiveOps.MaxPool2d(NaiveOps.Conv2d(x[0], x[1], x[2], 1, 0), poolKernel, poolStride, ceil), Step: 1e-3f);
        foreach (var (poolKernel, ceil, size) in new[] { (2, false, 8), (2, true, 9) })
            yield return new($"Conv2dMaxPool with GELU, pool {poolKernel}{(ceil ? " ceil" : "")} on {size}", typeof(Conv2dMaxPool),
                r => [Input(r, [2, 2, size, size]), Input(r, [3, 2, 3, 3]), Input(r, [3])],
                (tape, x) => Conv2dMaxPool.Apply(tape, x[0], x[1], x[2], 1, 0, poolKernel, poolKernel, ceil, gelu: true),
                x => NaiveOps.Elementwise(NaiveOps.MaxPool2d(NaiveOps.Conv2d(x[0], x[1], x[2], 1, 0), poolKernel, poolKernel, ceil), NaiveOps.Gelu), Step: 1e-3f);

        // A first layer: the images are data, so the weights' gradient is summed at the pooling's winners
        // (Kernels/Convolution; more filters than patch taps, as there). One small image: the more windows,
        // the likelier a step swaps two near-equal candidates somewhere.
        foreach (var (kernel, poolKernel, ceil, gelu, size) in new[] { (2, 2, false, true, 7), (2, 2, true, false, 6) })
        {
            var image = Tensor.FromArray(RandomValues(new Random(size), size * size), 1, 1, size, size);
            yield return new($"Conv2dMaxPool on data {kernel}x{kernel}, pool {poolKernel}/2{(ceil ? " ceil" : "")}{(gelu ? " with GELU" : "")} on {size}",
                typeof(Conv2dMaxPool), r => [Input(r, [kernel * kernel + 2, 1, kernel, kernel]), Input(r, [kernel * kernel + 2])],
                (tape, x) => Conv2dMaxPool.Apply(tape, image, x[0], x[1], 1, 0, poolKernel, 2, ceil, gelu),
                x =>
                {
                    var pooled = NaiveOps.MaxPool2d(NaiveOps.Conv2d(image, x[0], x[1], 1, 0), poolKernel, 2, ceil);
                    return gelu ? NaiveOps.Elementwise(pooled, NaiveOps.Gelu) : pooled;
                }, Step: 1e-3f);
        }

        // Winograd (3x3 stride 1 with enough channels, Kernels/Winograd): plain and padded (its forward), and pooled in its
        // tiles on 13, as hello-dl's second layer (forward and backward; 9 tiles an image, the last vector of them short).
        int winogradChannels = Math.Max(Winograd.MinimumChannels, System.Numerics.Vector<float>.Count);
        foreach (var (padding, pooled, size) in new[] { (0, false, 6), (1, false, 5), (0, true, 13) })
            yield return new($"Conv2d by Winograd, {winogradChannels} channels, padding {padding}{(pooled ? ", pooled in its tiles" : "")} on {size}",
                pooled ? typeof(Conv2dMaxPool) : typeof(Conv2d),
                r => [Input(r, [2, winogradChannels, size, size]), Input(r, [3, winogradChannels, 3, 3]), Input(r, [3])],
                (tape, x) => pooled ? Conv2dMaxPool.Apply(tape, x[0], x[1], x[2], 1, padding, 2, 2, ceilMode: true) : Conv2d.Apply(tape, x[0], x[1], x[2], 1, padding),
                x => pooled ? NaiveOps.MaxPool2d(NaiveOps.Conv2d(x[0], x[1], x[2], 1, padding), 2, 2, ceilMode: true) : NaiveOps.Conv2d(x[0], x[1], x[2], 1, padding),
                Step: pooled ? 1e-3f : 1e-2f);

        // Dropout's output is random: the gradient is checked against the same mask, the forward has no reference.
        yield return new("Dropout", typeof(Dropout), r => [Input(r, [Size(r), 8])], (tape, x) => Dropout.Apply(tape, x[0], 0.5f), null);

        yield return new("Slice inner axis", typeof(Slice), r => [Input(r, [Size(r, 2, 4), Size(r, 3, 5), Size(r)])],
            (tape, x) => Slice.Apply(tape, x[0], 1, 1, x[0].Dim(1) - 2), x => NaiveOps.Slice(x[0], 1, 1, x[0].Dim(1) - 2));
        yield return new("Slice first axis", typeof(Slice), r => [Input(r, [Size(r, 2, 4), Size(r, 3, 5)])],
            (tape, x) => Slice.Apply(tape, x[0], 0, 0, 1), x => NaiveOps.Slice(x[0], 0, 0, 1));
        yield return new("Concat inner axis", typeof(Concat), r => { int a = Size(r, 2, 4), b = Size(r, 3, 5), c = Size(r); return [Input(r, [a, b, c]), Input(r, [a, 2, c])]; },
            (tape, x) => Concat.Apply(tape, 1, x[0], x[1]), x => NaiveOps.Concat(1, x[0], x[1]));
        yield return new("Concat first axis", typeof(Concat), r => { int b = Size(r, 3, 5); return [Input(r, [Size(r, 2, 4), b]), Input(r, [1, b])]; },
            (tape, x) => Concat.Apply(tape, 0, x[0], x[1]), x => NaiveOps.Concat(0, x[0], x[1]));
    }

    static readonly IReadOnlyList<OpCase> Cases = Catalogue().ToList();

    public static TheoryData<string, int> CaseNames()
    {
        var data = new TheoryData<string, int>();
        foreach (var entry in Cases)
            foreach (int seed in new[] { 1, 2, 3 })
                data.Add(entry.Name, seed);
        return data;
    }

    [Theory, MemberData(nameof(CaseNames))]
    public void Every_op_matches_its_reference_and_finite_differences(string name, int seed)
    {
        var entry = Cases.Single(c => c.Name == name);
        var recorded = Check(entry.Forward, entry.Inputs(new Random(seed * 7919 + name.Length)), seed, entry.Step, reference: entry.Reference);
        Assert.Contains(entry.ProfileName ?? entry.Op.Name, recorded);
    }

    /// <summary>Every concrete op type; a generic op once for every rule its type parameter's constraint admits.</summary>
    static IEnumerable<Type> OpTypes()
    {
        var types = typeof(Op).Assembly.GetTypes();
        foreach (var type in types.Where(t => t.IsSubclassOf(typeof(Op)) && !t.IsAbstract))
        {
            if (!type.IsGenericTypeDefinition) { yield return type; continue; }
            var constraints = type.GetGenericArguments()[0].GetGenericParameterConstraints().Where(c => c.IsInterface).ToArray();
            foreach (var rule in types.Where(t => t.IsValueType && constraints.All(c => c.IsAssignableFrom(t))))
                yield return type.MakeGenericType(rule);
        }
    }

    [Fact]
    public void The_catalogue_covers_every_op_in_the_library()
    {
        var covered = Cases.Select(c => c.Op).ToHashSet();
        var missing = OpTypes().Where(t => !covered.Contains(t)).Select(t => t.IsGenericType ? $"{t.Name}[{t.GetGenericArguments()[0].Name}]" : t.Name).ToList();
        Assert.True(missing.Count == 0, $"ops without a catalogue entry: {string.Join(", ", missing)}");
        Assert.Contains(typeof(Broadcast<DivRule>), OpTypes());   // the generic ops are expanded by rule
        Assert.True(OpTypes().Count() >= 18);
    }

    [Fact]
    public void Every_op_but_dropout_has_a_forward_reference()
    {
        Assert.Equal([typeof(Dropout)], Cases.Where(c => c.Reference is null).Select(c => c.Op).Distinct());
    }

    [Fact]
    public void The_forward_reference_catches_a_wrong_forward()
    {
        var entry = Cases.Single(c => c.Name == "Sigmoid");
        // Tanh where the reference expects the sigmoid: the gradient check alone would pass it.
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() =>
            Check((tape, x) => Unary<TanhRule>.Apply(tape, x[0]), entry.Inputs(new Random(1)), reference: entry.Reference));
        Check((tape, x) => Unary<TanhRule>.Apply(tape, x[0]), entry.Inputs(new Random(1)));
    }

    [Fact]
    public void The_naive_erf_matches_known_values()
    {
        Assert.Equal(0.8427007929497149, NaiveOps.Erf(1), 12);
        Assert.Equal(-0.9953222650189527, NaiveOps.Erf(-2), 12);
        Assert.Equal(0.9999779095030014, NaiveOps.Erf(3), 11);
        Assert.Equal(0.9999999845827421, NaiveOps.Erf(4), 9);
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
            var y = fused ? Linear.Apply(tape, x, weight, bias, relu: true) : Relu.Apply(tape, Linear.Apply(tape, x, weight, bias));
            tape.BackwardFrom(y, upstream);
            return [y.Data.ToArray(), x.Grad.ToArray(), weight.Grad.ToArray(), bias.Grad.ToArray()];
        }

        var separate = Run(fused: false);
        var together = Run(fused: true);
        for (int t = 0; t < separate.Length; t++) Assert.Equal(separate[t], together[t]);
    }

    [Theory]
    [InlineData(1, 8, 28, false, false)]    // hello-dl's first layer: 28 -> 26 -> 13, one image per product
    [InlineData(8, 16, 13, true, false)]    // second: 13 -> 11 -> 6 (ceil), several images per product
    [InlineData(16, 8, 6, false, false)]    // third: 6 -> 4 -> 2
    [InlineData(1, 8, 28, false, true)]     // each with the GELU after the pooling, as hello-dl's CNN has it
    [InlineData(8, 16, 13, true, true)]
    [InlineData(16, 8, 6, false, true)]
    [InlineData(2, 4, 13, false, false)]    // floor mode on 11: the last row and column belong to no window
    [InlineData(2, 4, 35, false, true)]     // floor mode on 33: sixteen windows a row and a column left over
    [InlineData(2, 4, 19, true, false)]     // ceil mode on 17: nine windows a row, the last cut by the edge
    public void Fused_convolution_and_pooling_match_the_separate_ops_and_the_reference(int channels, int outputs, int size, bool ceil, bool gelu)
    {
        int saved = Pooling.WindowsPerStep;
        try
        {
            // Every path this CPU runs for the pooling and its gradient.
            foreach (int step in Pooling.WindowsPerStepChoices)
            {
                Pooling.WindowsPerStep = step;
                CheckFusedConvolution(channels, outputs, size, ceil, gelu);
            }
        }
        finally { Pooling.WindowsPerStep = saved; }
    }

    static void CheckFusedConvolution(int channels, int outputs, int size, bool ceil, bool gelu)
    {
        var random = new Random(channels + outputs + size);
        var x = Input(random, [5, channels, size, size]);
        var weight = Input(random, [outputs, channels, 3, 3]);
        var bias = Input(random, [outputs]);
        var upstream = Enumerable.Range(0, 5 * outputs * size * size).Select(_ => random.NextSingle() - 0.5f).ToArray();

        (float[] Output, float[] Dx, float[] DWeight, float[] DBias) Run(bool fused)
        {
            var tape = new Tape();
            foreach (var t in new[] { x, weight, bias }) t.Grad.Clear();
            var y = fused ? Conv2dMaxPool.Apply(tape, x, weight, bias, 1, 0, 2, 2, ceil, gelu)
                : MaxPool2d.Apply(tape, Conv2d.Apply(tape, x, weight, bias), 2, 2, ceil);
            if (gelu && !fused) y = Gelu.Apply(tape, y);
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
        var expected = NaiveOps.MaxPool2d(NaiveOps.Conv2d(x, weight, bias, 1, 0), 2, 2, ceil);
        if (gelu) expected = NaiveOps.Elementwise(expected, NaiveOps.Gelu);
        for (int i = 0; i < expected.Values.Length; i++)
            Assert.True(Math.Abs(together.Output[i] - expected.Values[i]) <= 1e-4 * Math.Max(1, Math.Abs(expected.Values[i])), $"[{i}] {together.Output[i]} vs reference {expected.Values[i]}");
    }

    [Fact]
    public void MaxPool2d_ceil_mode_turns_hello_dls_11_into_6()
    {
        Assert.Equal(6, MaxPool2d.OutputSize(11, 2, 2, ceilMode: true));
        Assert.Equal(5, MaxPool2d.OutputSize(11, 2, 2, ceilMode: false));
        Assert.Equal(13, MaxPool2d.OutputSize(26, 2, 2, ceilMode: true));
    }
}
