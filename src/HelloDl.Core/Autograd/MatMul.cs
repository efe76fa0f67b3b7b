using System.Runtime.CompilerServices;
using HelloDl.Kernels;
using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>C = op(A) op(B) for 2-D tensors; op transposes when asked.</summary>
public sealed class MatMul : Op
{
    readonly Tensor _a, _b;
    readonly bool _transA, _transB;

    MatMul(Tensor a, bool transA, Tensor b, bool transB) { _a = a; _transA = transA; _b = b; _transB = transB; }

    public static Tensor Apply(Tape tape, Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        if (a.Rank != 2 || b.Rank != 2) throw new ArgumentException($"MatMul takes 2-D tensors, not {a} and {b}.");
        int m = transA ? a.Dim(1) : a.Dim(0), k = transA ? a.Dim(0) : a.Dim(1);
        int kb = transB ? b.Dim(1) : b.Dim(0), n = transB ? b.Dim(0) : b.Dim(1);
        if (k != kb) throw new ArgumentException($"MatMul inner sizes differ: {a}{(transA ? "ᵀ" : "")} by {b}{(transB ? "ᵀ" : "")}.");
        var c = tape.NewTensor(m, n);
        Gemm.Multiply(a.Data, transA, b.Data, transB, c.Data, m, n, k);
        tape.Record(new MatMul(a, transA, b, transB), c, a, b);
        return c;
    }

    internal override void Backward(Tape tape)
    {
        var dc = Output!.Grad;
        int m = Output.Dim(0), n = Output.Dim(1), k = _transA ? _a.Dim(0) : _a.Dim(1);
        if (_a.RequiresGrad)
        {
            // dA = dC op(B)ᵀ, laid out as A is (transposed when A was).
            if (!_transA) Gemm.Multiply(dc, false, _b.Data, !_transB, tape.GradOf(_a), m, k, n, accumulate: true);
            else Gemm.Multiply(_b.Data, _transB, dc, true, tape.GradOf(_a), k, m, n, accumulate: true);
        }
        if (_b.RequiresGrad)
        {
            // dB = op(A)ᵀ dC, laid out as B is.
            if (!_transB) Gemm.Multiply(_a.Data, !_transA, dc, false, tape.GradOf(_b), k, n, m, accumulate: true);
            else Gemm.Multiply(dc, true, _a.Data, _transA, tape.GradOf(_b), n, k, m, accumulate: true);
        }
    }
}

/// <summary>
/// y = x Wᵀ + b, with W stored [out, in] as PyTorch and safetensors files do; with <c>relu</c>,
/// y = max(0, x Wᵀ + b). One op (rather than MatMul, Add and Relu) so the bias and the ReLU are
/// applied while the output is still in cache. Given the <c>background</c> most of x's values take
/// (a blank pixel's, for a first layer on images), x's other values alone are multiplied, forward
/// and for the weight gradient (<see cref="SparseInput"/>), when they are few enough to pay.
/// </summary>
public sealed class Linear : Op
{
    readonly Tensor _x, _weight, _bias;
    readonly bool _relu;
    readonly float? _sparseBackground;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    Linear(Tensor x, Tensor weight, Tensor bias, bool relu, float? sparseBackground) =>
        (_x, _weight, _bias, _relu, _sparseBackground) = (x, weight, bias, relu, sparseBackground);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Apply(Tape tape, Tensor x, Tensor weight, Tensor bias, bool relu = false, float? background = null)
    {
        if (x.Rank != 2 || weight.Rank != 2 || bias.Rank != 1 || x.Dim(1) != weight.Dim(1) || bias.Dim(0) != weight.Dim(0))
            throw new ArgumentException($"Linear needs x [N, in], weight [out, in], bias [out]; got {x}, {weight}, {bias}.");
        int rows = x.Dim(0), inputs = x.Dim(1), outputs = weight.Dim(0);
        var y = tape.NewTensor(rows, outputs);
        var data = y.Data;
        float? sparseBackground = background is float blank && SparseInput.Supports(inputs, outputs)
            && SparseInput.InkedFraction(x.Data, blank) <= SparseInput.WorthwhileInk ? blank : null;
        if (sparseBackground is float value)
            SparseInput.Forward(x.Data, rows, inputs, value, weight.Data, bias.Data, data, outputs, relu, tape.Rent(SparseInput.ForwardScratchLength(inputs, outputs)));
        else
        {
            Rows.Fill(bias.Data, data, rows);
            Gemm.Multiply(x.Data, false, weight.Data, true, data, rows, outputs, inputs, accumulate: true);
            if (relu) Activations.ReluForward(data, data);
        }
        tape.Record(new Linear(x, weight, bias, relu, sparseBackground), y, x, weight, bias);
        return y;
    }

    internal override string ProfileName => _sparseBackground is null ? "Linear" : "Linear (inked inputs)";

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal override void Backward(Tape tape)
    {
        ReadOnlySpan<float> dy = Output!.Grad;
        int rows = _x.Dim(0), inputs = _x.Dim(1), outputs = _weight.Dim(0);
        if (_relu)
        {
            // Through the ReLU first: the gradient passes where the output is positive.
            var masked = tape.Rent(dy.Length).AsSpan(0, dy.Length);
            masked.Clear();
            Activations.ReluBackward(Output.Data, dy, masked);
            dy = masked;
        }
        if (_x.RequiresGrad) Gemm.Multiply(dy, false, _weight.Data, false, tape.GradOf(_x), rows, inputs, outputs, accumulate: true);
        if (_weight.RequiresGrad)
        {
            var dWeight = tape.GradToOverwrite(_weight, out bool fresh);
            if (_sparseBackground is float blank)
                SparseInput.WeightGradient(_x.Data, rows, inputs, blank, dy, outputs, dWeight, accumulate: !fresh,
                    tape.Rent(SparseInput.WeightGradientScratchLength(rows, inputs, outputs)));
            else Gemm.Multiply(dy, true, _x.Data, false, dWeight, outputs, inputs, rows, accumulate: !fresh);
        }
        if (_bias.RequiresGrad)
        {
            var db = tape.GradOf(_bias);
            Rows.AddSums(dy, rows, db);
        }
    }
}
