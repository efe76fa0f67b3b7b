using System.Runtime.CompilerServices;
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Apply(Tape tape, Tensor x, Tensor weight, Tensor bias, int stride = 1, int padding = 0)
    {
        var g = GeometryOf(x, weight, bias, stride, padding);
        var y = tape.NewTensor(g.Batch, weight.Dim(0), g.OutputHeight, g.OutputWidth);
        Convolution.Forward(x.Data, weight.Data, bias.Data, y.Data, g, weight.Dim(0));
        tape.Record(new Conv2d(x, weight, bias, g), y, x, weight, bias);
        return y;
    }

    /// <summary>Checks the operands' shapes and gives the convolution's geometry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static ConvGeometry GeometryOf(Tensor x, Tensor weight, Tensor bias, int stride, int padding)
    {
        if (x.Rank != 4 || weight.Rank != 4 || bias.Rank != 1 || x.Dim(1) != weight.Dim(1) || bias.Dim(0) != weight.Dim(0))
            throw new ArgumentException($"Conv2d needs x [N, C, H, W], weight [O, C, KH, KW], bias [O]; got {x}, {weight}, {bias}.");
        return ConvGeometry.For(x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3), weight.Dim(2), weight.Dim(3), stride, padding);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal override void Backward(Tape tape) => BackwardThroughConvolution(tape, _x, _weight, _bias, Output!.Grad, null, null, null, _geometry);

    /// <summary>
    /// The gradients of a convolution (followed by a pooling when <paramref name="pool"/> is given,
    /// and a GELU when <paramref name="geluSlope"/> is) into x, weight and bias.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void BackwardThroughConvolution(Tape tape, Tensor x, Tensor weight, Tensor bias, ReadOnlySpan<float> dy, PoolGeometry? pool, float[]? argmax,
        float[]? geluSlope, ConvGeometry g)
    {
        int outputs = weight.Dim(0);
        // A parameter without a gradient still gets its sum computed, into scratch that is dropped.
        var dWeight = weight.RequiresGrad ? tape.GradOf(weight) : tape.Rent(weight.Length).AsSpan(0, weight.Length);
        var dBias = bias.RequiresGrad ? tape.GradOf(bias) : tape.Rent(outputs).AsSpan(0, outputs);
        var dx = x.RequiresGrad ? tape.GradOf(x) : [];
        Convolution.Backward(x.Data, weight.Data, dy, pool, argmax, geluSlope, dWeight, dBias, dx, tape.Rent(Convolution.BackwardScratch(g, outputs, pool)), g, outputs);
    }
}

/// <summary>
/// A convolution and the max pooling after it as one op (hello-dl's conv → pool pairs), and the
/// GELU after that when asked (hello-dl's conv → pool → GELU): the convolution's output is pooled
/// group by group while in cache and never stored whole, the GELU applied to the pooled values
/// there; backward rebuilds each group's output gradient from the pooled one, GELU's recorded
/// derivatives and the recorded winners. Same results as <see cref="Conv2d"/> then
/// <see cref="MaxPool2d"/> (then <see cref="Gelu"/>).
/// </summary>
public sealed class Conv2dMaxPool : Op
{
    readonly Tensor _x, _weight, _bias;
    readonly ConvGeometry _geometry;
    readonly PoolGeometry _pool;
    readonly float[] _argmax;
    readonly float[]? _geluSlope;

    Conv2dMaxPool(Tensor x, Tensor weight, Tensor bias, ConvGeometry geometry, PoolGeometry pool, float[] argmax, float[]? geluSlope)
    { _x = x; _weight = weight; _bias = bias; _geometry = geometry; _pool = pool; _argmax = argmax; _geluSlope = geluSlope; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Apply(Tape tape, Tensor x, Tensor weight, Tensor bias, int stride, int padding, int poolKernel, int poolStride, bool ceilMode,
        bool gelu = false)
    {
        var g = Conv2d.GeometryOf(x, weight, bias, stride, padding);
        var pool = MaxPool2d.Geometry(g.OutputHeight, g.OutputWidth, poolKernel, poolStride, ceilMode);
        var y = tape.NewTensor(g.Batch, weight.Dim(0), pool.OutputHeight, pool.OutputWidth);
        var argmax = tape.Recording ? tape.Rent(y.Length) : null;
        var geluSlope = gelu && tape.Recording ? tape.Rent(y.Length) : null;
        Convolution.Forward(x.Data, weight.Data, bias.Data, y.Data, g, weight.Dim(0), pool, argmax, gelu, geluSlope);
        tape.Record(new Conv2dMaxPool(x, weight, bias, g, pool, argmax ?? [], geluSlope), y, x, weight, bias);
        return y;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal override void Backward(Tape tape) =>
        Conv2d.BackwardThroughConvolution(tape, _x, _weight, _bias, Output!.Grad, _pool, _argmax, _geluSlope, _geometry);
}
