using HelloDl.Kernels;
using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>
/// 2-D convolution (cross-correlation, as every framework) of x [N, C, H, W] with weight
/// [O, C, KH, KW] plus bias [O]: im2col unfolds the batch into cols [C·KH·KW, N·OH·OW] and one
/// matrix multiply W·cols gives all outputs at once.
/// </summary>
public sealed class Conv2d : Op
{
    readonly Tensor _x, _weight, _bias;
    readonly ConvGeometry _geometry;
    readonly float[] _cols;

    Conv2d(Tensor x, Tensor weight, Tensor bias, ConvGeometry geometry, float[] cols)
    { _x = x; _weight = weight; _bias = bias; _geometry = geometry; _cols = cols; }

    public static Tensor Apply(Tape tape, Tensor x, Tensor weight, Tensor bias, int stride = 1, int padding = 0)
    {
        if (x.Rank != 4 || weight.Rank != 4 || bias.Rank != 1 || x.Dim(1) != weight.Dim(1) || bias.Dim(0) != weight.Dim(0))
            throw new ArgumentException($"Conv2d needs x [N, C, H, W], weight [O, C, KH, KW], bias [O]; got {x}, {weight}, {bias}.");
        var g = ConvGeometry.For(x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3), weight.Dim(2), weight.Dim(3), stride, padding);
        int outputs = weight.Dim(0);
        var cols = tape.Rent(g.Patch * g.Columns);
        Im2Col.Unfold(x.Data, cols, g);
        var product = tape.Rent(outputs * g.Columns);
        Gemm.Multiply(weight.Data, false, cols, false, product, outputs, g.Columns, g.Patch);

        var y = tape.NewTensor(g.Batch, outputs, g.OutputHeight, g.OutputWidth);
        Scatter(product, y.Data, bias.Data, g, outputs);
        tape.Record(new Conv2d(x, weight, bias, g, cols), y, x, weight, bias);
        return y;
    }

    /// <summary>[O, N·P] product to [N, O, P] output, adding the bias on the way.</summary>
    static void Scatter(ReadOnlySpan<float> product, Span<float> y, ReadOnlySpan<float> bias, ConvGeometry g, int outputs)
    {
        int p = g.Positions;
        for (int n = 0; n < g.Batch; n++)
            for (int o = 0; o < outputs; o++)
            {
                var source = product.Slice(o * g.Columns + n * p, p);
                var target = y.Slice((n * outputs + o) * p, p);
                System.Numerics.Tensors.TensorPrimitives.Add(source, bias[o], target);
            }
    }

    internal override void Backward(Tape tape)
    {
        var g = _geometry;
        int outputs = _weight.Dim(0), p = g.Positions;
        // dY [N, O, P] gathered to [O, N·P], the layout of the forward product.
        var dProduct = tape.Rent(outputs * g.Columns);
        ReadOnlySpan<float> dy = Output!.Grad;
        for (int n = 0; n < g.Batch; n++)
            for (int o = 0; o < outputs; o++)
                dy.Slice((n * outputs + o) * p, p).CopyTo(dProduct.AsSpan(o * g.Columns + n * p, p));

        if (_weight.RequiresGrad)
        {
            var dWeight = tape.GradOf(_weight);
            if (g.Patch >= outputs)
                Gemm.Multiply(dProduct, false, _cols, true, dWeight, outputs, g.Patch, g.Columns, accumulate: true);
            else
            {
                // A narrow patch (the first layer's 9) wastes most of a register tile as the output's
                // width: compute dWᵀ = cols · dYᵀ instead, then add it transposed.
                var transposed = tape.Rent(g.Patch * outputs);
                Gemm.Multiply(_cols, false, dProduct, true, transposed, g.Patch, outputs, g.Columns);
                for (int row = 0; row < g.Patch; row++)
                    for (int o = 0; o < outputs; o++) dWeight[o * g.Patch + row] += transposed[row * outputs + o];
            }
        }
        if (_bias.RequiresGrad)
        {
            var db = tape.GradOf(_bias);
            for (int o = 0; o < outputs; o++) db[o] += System.Numerics.Tensors.TensorPrimitives.Sum(dProduct.AsSpan(o * g.Columns, g.Columns));
        }
        if (_x.RequiresGrad)
        {
            var dCols = tape.Rent(g.Patch * g.Columns);
            Gemm.Multiply(_weight.Data, true, dProduct, false, dCols, g.Patch, g.Columns, outputs);
            Im2Col.FoldAdd(dCols, tape.GradOf(_x), g);
        }
    }
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

    public static Tensor Apply(Tape tape, Tensor x, int kernel, int stride = 0, bool ceilMode = false)
    {
        if (x.Rank != 4) throw new ArgumentException($"MaxPool2d takes [N, C, H, W], not {x}.");
        if (stride == 0) stride = kernel;
        int planes = x.Dim(0) * x.Dim(1), height = x.Dim(2), width = x.Dim(3);
        int outHeight = OutputSize(height, kernel, stride, ceilMode), outWidth = OutputSize(width, kernel, stride, ceilMode);
        var y = tape.NewTensor(x.Dim(0), x.Dim(1), outHeight, outWidth);
        var argmax = tape.Rent(y.Length);
        Pooling.MaxForward(x.Data, y.Data, argmax, planes, height, width, outHeight, outWidth, kernel, stride);
        tape.Record(new MaxPool2d(x, argmax), y, x);
        return y;
    }

    internal override void Backward(Tape tape) =>
        Pooling.MaxBackward(Output!.Grad, _argmax, tape.GradOf(_x), Output.Dim(2) * Output.Dim(3), _x.Dim(2) * _x.Dim(3));
}
