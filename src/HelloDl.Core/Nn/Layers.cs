using System.Runtime.CompilerServices;
using HelloDl.Autograd;
using HelloDl.Tensors;

namespace HelloDl.Nn;

/// <summary>Fully connected: y = x Wᵀ + b, weight [out, in].</summary>
public sealed class LinearLayer : Module
{
    public LinearLayer(int inputs, int outputs)
    {
        Inputs = inputs;
        Outputs = outputs;
        float bound = 1 / MathF.Sqrt(inputs);
        Weight = AddParameter("weight", [outputs, inputs], bound);
        Bias = AddParameter("bias", [outputs], bound);
    }

    public int Inputs { get; }
    public int Outputs { get; }
    public Parameter Weight { get; }
    public Parameter Bias { get; }
    public override string Describe => $"Linear({Inputs}→{Outputs})";
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override Tensor Forward(Tape tape, Tensor input) => Linear.Apply(tape, input, Weight.Value, Bias.Value);

    /// <summary>This layer and then a ReLU, as one op (same result, one pass less).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor ForwardWithRelu(Tape tape, Tensor input) => Linear.Apply(tape, input, Weight.Value, Bias.Value, relu: true);

    public override int[] OutputShape(int[] inputShape) => [Outputs];
}

/// <summary>2-D convolution, weight [out, in, k, k], one bias per output channel.</summary>
public sealed class Conv2dLayer : Module
{
    public Conv2dLayer(int inputChannels, int outputChannels, int kernel, int stride = 1, int padding = 0)
    {
        (InputChannels, OutputChannels, Kernel, Stride, Padding) = (inputChannels, outputChannels, kernel, stride, padding);
        float bound = 1 / MathF.Sqrt(inputChannels * kernel * kernel);
        Weight = AddParameter("weight", [outputChannels, inputChannels, kernel, kernel], bound);
        Bias = AddParameter("bias", [outputChannels], bound);
    }

    public int InputChannels { get; }
    public int OutputChannels { get; }
    public int Kernel { get; }
    public int Stride { get; }
    public int Padding { get; }
    public Parameter Weight { get; }
    public Parameter Bias { get; }
    public override string Describe => $"Conv2d({InputChannels}→{OutputChannels}, {Kernel}x{Kernel})";
    public override Tensor Forward(Tape tape, Tensor input) => Conv2d.Apply(tape, input, Weight.Value, Bias.Value, Stride, Padding);

    /// <summary>
    /// This convolution and then <paramref name="pool"/>, and a GELU when <paramref name="gelu"/>, as
    /// one op (same result, less memory traffic).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor ForwardPooled(Tape tape, Tensor input, MaxPool2dLayer pool, bool gelu = false) =>
        Conv2dMaxPool.Apply(tape, input, Weight.Value, Bias.Value, Stride, Padding, pool.Kernel, pool.Stride, pool.CeilMode, gelu);

    public override int[] OutputShape(int[] inputShape)
    {
        var g = Kernels.ConvGeometry.For(1, inputShape[0], inputShape[1], inputShape[2], Kernel, Kernel, Stride, Padding);
        return [OutputChannels, g.OutputHeight, g.OutputWidth];
    }
}

public sealed class MaxPool2dLayer(int kernel, int stride = 0, bool ceilMode = false) : Module
{
    public int Kernel => kernel;
    public int Stride => StrideOrKernel;
    public bool CeilMode => ceilMode;
    int StrideOrKernel => stride == 0 ? kernel : stride;
    public override string Describe => $"MaxPool2d({kernel}{(ceilMode ? ", ceil" : "")})";
    public override Tensor Forward(Tape tape, Tensor input) => MaxPool2d.Apply(tape, input, kernel, StrideOrKernel, ceilMode);
    public override int[] OutputShape(int[] inputShape) =>
        [inputShape[0], MaxPool2d.OutputSize(inputShape[1], kernel, StrideOrKernel, ceilMode), MaxPool2d.OutputSize(inputShape[2], kernel, StrideOrKernel, ceilMode)];
}

/// <summary>Inverted dropout; passes input through when the tape is not in training mode.</summary>
public sealed class DropoutLayer(float probability) : Module
{
    public float Probability => probability;
    public override string Describe => $"Dropout({probability})";
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override Tensor Forward(Tape tape, Tensor input) => Dropout.Apply(tape, input, probability);
    public override int[] OutputShape(int[] inputShape) => inputShape;
}

/// <summary>[N, ...] to [N, features].</summary>
public sealed class FlattenLayer : Module
{
    public override string Describe => "Flatten";
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override Tensor Forward(Tape tape, Tensor input) => input.Rank == 2 ? input : Reshape.Flatten(tape, input);
    public override int[] OutputShape(int[] inputShape) => [Tensor.Size(inputShape)];
}

public enum ActivationKind { Relu, Gelu, Sigmoid, Tanh }

/// <summary>An element-wise activation: ReLU, GELU, sigmoid or tanh.</summary>
public sealed class ActivationLayer : Module
{
    readonly Func<Tape, Tensor, Tensor> _apply;

    ActivationLayer(ActivationKind kind, string name, Func<Tape, Tensor, Tensor> apply) { Kind = kind; Describe = name; _apply = apply; }

    public static ActivationLayer Relu() => new(ActivationKind.Relu, "ReLU", HelloDl.Autograd.Relu.Apply);
    public static ActivationLayer Gelu() => new(ActivationKind.Gelu, "GELU", HelloDl.Autograd.Gelu.Apply);
    public static ActivationLayer Sigmoid() => new(ActivationKind.Sigmoid, "Sigmoid", Unary<SigmoidRule>.Apply);
    public static ActivationLayer Tanh() => new(ActivationKind.Tanh, "Tanh", Unary<TanhRule>.Apply);

    public ActivationKind Kind { get; }
    public override string Describe { get; }
    /// <summary>A ReLU, which a linear layer before it can apply itself.</summary>
    public bool IsRelu => Kind == ActivationKind.Relu;
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override Tensor Forward(Tape tape, Tensor input) => _apply(tape, input);
    public override int[] OutputShape(int[] inputShape) => inputShape;
}

public sealed class LogSoftmaxLayer : Module
{
    public override string Describe => "LogSoftmax";
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override Tensor Forward(Tape tape, Tensor input) => LogSoftmax.Apply(tape, input);
    public override int[] OutputShape(int[] inputShape) => inputShape;
}

/// <summary>
/// Turns one score s per row into two-class logits [0, s], so a one-output linear model ("sign
/// decides", hello-dl's 3-vs-7 classifier) trains with the same cross-entropy as the rest.
/// </summary>
public sealed class SignToLogitsLayer : Module
{
    public override string Describe => "[0, s]";

    public override Tensor Forward(Tape tape, Tensor input)
    {
        var zeros = tape.NewTensor(input.Dim(0), 1);
        zeros.Data.Clear();
        return Concat.Apply(tape, 1, zeros, input);
    }

    public override int[] OutputShape(int[] inputShape) => [2];
}

/// <summary>Named modules applied in order.</summary>
public sealed class Sequential : Module
{
    public Sequential(params (string Name, Module Module)[] layers)
    {
        foreach (var (name, module) in layers) AddModule(name, module);
    }

    public override string Describe => "Sequential";

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override Tensor Forward(Tape tape, Tensor input) => ForwardFrom(tape, input, 0);

    /// <summary>The children from <paramref name="first"/> on, applied to <paramref name="input"/> (what the ones before it made).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor ForwardFrom(Tape tape, Tensor input, int first)
    {
        var children = ChildSpan;
        for (int i = first; i < children.Length; i++)
        {
            var next = i + 1 < children.Length ? children[i + 1].Module : null;
            // A convolution straight into max pooling (and a GELU after it), or a linear layer into
            // a ReLU, runs as one op: the output is finished while still in cache.
            if (children[i].Module is Conv2dLayer convolution && next is MaxPool2dLayer pool)
            {
                bool gelu = i + 2 < children.Length && children[i + 2].Module is ActivationLayer { Kind: ActivationKind.Gelu };
                input = convolution.ForwardPooled(tape, input, pool, gelu);
                i += gelu ? 2 : 1;
            }
            else if (children[i].Module is LinearLayer linear && next is ActivationLayer { IsRelu: true })
            {
                input = linear.ForwardWithRelu(tape, input);
                i++;
            }
            else input = children[i].Module.Forward(tape, input);
        }
        return input;
    }

    public override int[] OutputShape(int[] inputShape)
    {
        foreach (var (_, module) in Children) inputShape = module.OutputShape(inputShape);
        return inputShape;
    }
}

/// <summary>A linear layer over sparse (id, weight) features [N, K, 2]: table [ids, outputs], one bias per output.</summary>
public sealed class EmbeddingBagLayer : Module
{
    public EmbeddingBagLayer(int ids, int outputs)
    {
        Ids = ids;
        Outputs = outputs;
        // A document's weights have unit length, so its input to a unit is about one table entry's
        // size: the bound that keeps that unit's start like a dense layer's (±1/√outputs).
        float bound = 1 / MathF.Sqrt(outputs);
        Table = AddParameter("weight", [ids, outputs], bound);
        Bias = AddParameter("bias", [outputs], bound);
    }

    public int Ids { get; }
    public int Outputs { get; }
    public Parameter Table { get; }
    public Parameter Bias { get; }
    public override string Describe => $"EmbeddingBag({Ids:N0}→{Outputs})";
    public override Tensor Forward(Tape tape, Tensor input) => EmbeddingBag.Apply(tape, input, Table.Value, Bias.Value);
    public override int[] OutputShape(int[] inputShape) => [Outputs];
}

/// <summary>Drops whole sparse features in training (see <see cref="FeatureDropout"/>); passes them through otherwise.</summary>
public sealed class FeatureDropoutLayer(float probability) : Module
{
    public float Probability => probability;
    public override string Describe => $"FeatureDropout({probability})";
    public override Tensor Forward(Tape tape, Tensor input) => FeatureDropout.Apply(tape, input, probability);
    public override int[] OutputShape(int[] inputShape) => inputShape;
}
