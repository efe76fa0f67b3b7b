using HelloDl.Kernels;
using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>
/// 2-D convolution (cross-correlation, as every framework) of x [N, C, H, W] with weight
/// [O, C, KH, KW] plus bias [O], one im2col matrix multiply per small group of images (see Kernels.Convolution).
/// The patch matrices are not kept for the backward pass: recomputing them from x is cheaper
/// than writing and reading them back through memory.
/// </summary>
public sealed class Conv2d : Op
{
    readonly Tensor _x, _weight, _bias;
    readonly ConvGeometry _geometry;

    Conv2d(Tensor x, Tensor weight, Tensor bias, ConvGeometry geometry) { _x = x; _weight = weight; _bias = bias; _geometry = geometry; }

    public static Tensor Apply(Tape tape, Tensor x, Tensor weight, Tensor bias, int stride = 1, int padding = 0)
    {
        var g = GeometryOf(x, weight, bias, stride, padding);
        var y = tape.NewTensor(g.Batch, weight.Dim(0), g.OutputHeight, g.OutputWidth);
        Convolution.Forward(x.Data, weight.Data, bias.Data, y.Data, g, weight.Dim(0));
        tape.Record(new Conv2d(x, weight, bias, g), y, x, weight, bias);
        return y;
    }

    /// <summary>Checks the operands' shapes and gives the convolution's geometry.</summary>
    internal static ConvGeometry GeometryOf(Tensor x, Tensor weight, Tensor bias, int stride, int padding)
    {
        if (x.Rank != 4 || weight.Rank != 4 || bias.Rank != 1 || x.Dim(1) != weight.Dim(1) || bias.Dim(0) != weight.Dim(0))
            throw new ArgumentException($"Conv2d needs x [N, C, H, W], weight [O, C, KH, KW], bias [O]; got {x}, {weight}, {bias}.");
        return ConvGeometry.For(x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3), weight.Dim(2), weight.Dim(3), stride, padding);
    }

    internal override void Backward(Tape tape) => BackwardThroughConvolution(tape, _x, _weight, _bias, Output!.Grad, null, null, _geometry);

    /// <summary>The gradients of a convolution (followed by a pooling when <paramref name="pool"/> is given) into x, weight and bias.</summary>
    internal static void BackwardThroughConvolution(Tape tape, Tensor x, Tensor weight, Tensor bias, ReadOnlySpan<float> dy, PoolGeometry? pool, float[]? argmax, ConvGeometry g)
    {
        int outputs = weight.Dim(0);
        // A parameter without a gradient still gets its sum computed, into scratch that is dropped.
        var dWeight = weight.RequiresGrad ? tape.GradOf(weight) : tape.Rent(weight.Length).AsSpan(0, weight.Length);
        var dBias = bias.RequiresGrad ? tape.GradOf(bias) : tape.Rent(outputs).AsSpan(0, outputs);
        var dx = x.RequiresGrad ? tape.GradOf(x) : [];
        Convolution.Backward(x.Data, weight.Data, dy, pool, argmax, dWeight, dBias, dx, tape.Rent(Convolution.BackwardScratch(g, outputs)), g, outputs);
    }
}

/// <summary>
/// A convolution and the max pooling after it as one op (hello-dl's conv → pool pairs): the
/// convolution's output is pooled group by group while in cache and never stored whole; backward
/// rebuilds each group's output gradient from the pooled one and the recorded winners. Same
/// results as <see cref="Conv2d"/> then <see cref="MaxPool2d"/>.
/// </summary>
public sealed class Conv2dMaxPool : Op
{
    readonly Tensor _x, _weight, _bias;
    readonly ConvGeometry _geometry;
    readonly PoolGeometry _pool;
    readonly float[] _argmax;

    Conv2dMaxPool(Tensor x, Tensor weight, Tensor bias, ConvGeometry geometry, PoolGeometry pool, float[] argmax)
    { _x = x; _weight = weight; _bias = bias; _geometry = geometry; _pool = pool; _argmax = argmax; }

    public static Tensor Apply(Tape tape, Tensor x, Tensor weight, Tensor bias, int stride, int padding, int poolKernel, int poolStride, bool ceilMode)
    {
        var g = Conv2d.GeometryOf(x, weight, bias, stride, padding);
        var pool = MaxPool2d.Geometry(g.OutputHeight, g.OutputWidth, poolKernel, poolStride, ceilMode);
        var y = tape.NewTensor(g.Batch, weight.Dim(0), pool.OutputHeight, pool.OutputWidth);
        var argmax = tape.Recording ? tape.Rent(y.Length) : null;
        Convolution.Forward(x.Data, weight.Data, bias.Data, y.Data, g, weight.Dim(0), pool, argmax);
        tape.Record(new Conv2dMaxPool(x, weight, bias, g, pool, argmax ?? []), y, x, weight, bias);
        return y;
    }

    internal override void Backward(Tape tape) =>
        Conv2d.BackwardThroughConvolution(tape, _x, _weight, _bias, Output!.Grad, _pool, _argmax, _geometry);
}

/// <summary>
/// Max pooling over k x k windows with stride s. With ceil mode a last, partial window is kept
/// (hello-dl's 11x11 -> 6x6); the gradient goes to the position that held the maximum.
/// </summary>
public sealed class MaxPool2d : Op
{
    readonly Tensor _x;
    readonly float[] _argmax;   // index of the winner within its input plane, per output

    MaxPool2d(Tensor x, float[] argmax) { _x = x; _argmax = argmax; }

    public static int OutputSize(int input, int kernel, int stride, bool ceilMode)
    {
        int span = input - kernel;
        if (span < 0) throw new ArgumentException($"A pooling window of {kernel} does not fit an input of {input}.");
        int size = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
        // A window must start inside the input.
        if (ceilMode && (size - 1) * stride >= input) size--;
        return size;
    }

    /// <summary>The windows over a height x width plane.</summary>
    internal static PoolGeometry Geometry(int height, int width, int kernel, int stride, bool ceilMode) =>
        new(kernel, stride, OutputSize(height, kernel, stride, ceilMode), OutputSize(width, kernel, stride, ceilMode));

    public static Tensor Apply(Tape tape, Tensor x, int kernel, int stride = 0, bool ceilMode = false)
    {
        if (x.Rank != 4) throw new ArgumentException($"MaxPool2d takes [N, C, H, W], not {x}.");
        if (stride == 0) stride = kernel;
        int planes = x.Dim(0) * x.Dim(1), height = x.Dim(2), width = x.Dim(3);
        var window = Geometry(height, width, kernel, stride, ceilMode);
        var y = tape.NewTensor(x.Dim(0), x.Dim(1), window.OutputHeight, window.OutputWidth);
        var argmax = tape.Recording ? tape.Rent(y.Length) : null;
        Pooling.MaxForward(x.Data, y.Data, argmax, planes, height, width, window);
        tape.Record(new MaxPool2d(x, argmax ?? []), y, x);
        return y;
    }

    internal override void Backward(Tape tape)
    {
        var dx = tape.GradToOverwrite(_x, out bool fresh);
        Pooling.MaxBackward(Output!.Grad, _argmax, dx, Output.Dim(2) * Output.Dim(3), _x.Dim(2) * _x.Dim(3), clearFirst: fresh);
    }
}
