using System.Runtime.CompilerServices;
using HelloDl.Kernels;
using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>
/// Max pooling over k x k windows with stride s. With ceil mode a last, partial window is kept
/// (hello-dl's 11x11 -> 6x6); the gradient goes to the position that held the maximum.
/// </summary>
public sealed class MaxPool2d : Op
{
    readonly Tensor _x;
    readonly float[] _argmax;   // index of the winner within its input plane, per output

    MaxPool2d(Tensor x, float[] argmax) { _x = x; _argmax = argmax; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
