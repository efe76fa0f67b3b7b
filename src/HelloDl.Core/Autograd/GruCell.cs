using HelloDl.Kernels;
using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>
/// One step of a gated recurrent unit (Cho et al., 2014, in PyTorch's form), for a batch:
/// r = σ(x·W_irᵀ + b_ir + h·W_hrᵀ + b_hr), z = σ(x·W_izᵀ + b_iz + h·W_hzᵀ + b_hz),
/// n = tanh(x·W_inᵀ + b_in + r ⊙ (h·W_hnᵀ + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h, with the weights
/// stacked [r; z; n] as weight_ih [3H, I] and weight_hh [3H, H]. Applied once per time step,
/// the tape's record of every step is backpropagation through time. Rows whose mask is 0
/// (padding after a short sequence) carry h through unchanged, so a batch of sequences of
/// different lengths ends with each one's own last state.
/// </summary>
public sealed class GruCell : Op
{
    readonly Tensor _x, _h, _weightIh, _weightHh, _biasIh, _biasHh;
    readonly float[]? _mask;
    readonly float[] _gates, _hiddenN;

    GruCell(Tensor x, Tensor h, Tensor weightIh, Tensor weightHh, Tensor biasIh, Tensor biasHh, float[]? mask, float[] gates, float[] hiddenN)
    {
        (_x, _h, _weightIh, _weightHh, _biasIh, _biasHh) = (x, h, weightIh, weightHh, biasIh, biasHh);
        (_mask, _gates, _hiddenN) = (mask, gates, hiddenN);
    }

    /// <param name="mask">Per row: 1 to step, 0 to carry h through; null for all 1. Kept unchanged until backward.</param>
    /// <exception cref="ArgumentException">Shapes that do not fit.</exception>
    public static Tensor Apply(Tape tape, Tensor x, Tensor h, Tensor weightIh, Tensor weightHh, Tensor biasIh, Tensor biasHh, float[]? mask = null)
    {
        if (x.Rank != 2 || h.Rank != 2 || x.Dim(0) != h.Dim(0))
            throw new ArgumentException($"A GRU step needs x [N, inputs] and h [N, hidden]; got {x}, {h}.");
        int rows = x.Dim(0), inputs = x.Dim(1), hidden = h.Dim(1), gates = 3 * hidden;
        if (weightIh.Rank != 2 || weightIh.Dim(0) != gates || weightIh.Dim(1) != inputs || weightHh.Rank != 2 || weightHh.Dim(0) != gates || weightHh.Dim(1) != hidden
            || biasIh.Rank != 1 || biasIh.Dim(0) != gates || biasHh.Rank != 1 || biasHh.Dim(0) != gates)
            throw new ArgumentException($"A GRU step of {inputs} inputs and {hidden} units needs weight_ih [{gates}, {inputs}], weight_hh [{gates}, {hidden}] and biases [{gates}]; got {weightIh}, {weightHh}, {biasIh}, {biasHh}.");
        if (mask is not null && mask.Length < rows) throw new ArgumentException($"{rows} rows but a mask of {mask.Length}.", nameof(mask));

        var fromInput = Projection(tape, x, weightIh, biasIh, rows, gates, inputs);
        var fromHidden = Projection(tape, h, weightHh, biasHh, rows, gates, hidden);
        var gateValues = tape.Rent(rows * gates);
        var hiddenN = tape.Rent(rows * hidden);
        var y = tape.NewTensor(rows, hidden);
        ReadOnlySpan<float> previous = h.Data;
        var output = y.Data;
        for (int n = 0; n < rows; n++)
        {
            int g = n * gates, o = n * hidden;
            if (mask is not null && mask[n] == 0)
            {
                previous.Slice(o, hidden).CopyTo(output.Slice(o, hidden));
                continue;
            }
            for (int j = 0; j < hidden; j++)
            {
                float r = Sigmoid(fromInput[g + j] + fromHidden[g + j]);
                float z = Sigmoid(fromInput[g + hidden + j] + fromHidden[g + hidden + j]);
                float hn = fromHidden[g + 2 * hidden + j];
                float candidate = MathF.Tanh(fromInput[g + 2 * hidden + j] + r * hn);
                (gateValues[g + j], gateValues[g + hidden + j], gateValues[g + 2 * hidden + j], hiddenN[o + j]) = (r, z, candidate, hn);
                output[o + j] = (1 - z) * candidate + z * previous[o + j];
            }
        }
        tape.Record(new GruCell(x, h, weightIh, weightHh, biasIh, biasHh, mask, gateValues, hiddenN), y, x, h, weightIh, weightHh, biasIh, biasHh);
        return y;
    }

    static float Sigmoid(float v) => 1 / (1 + MathF.Exp(-v));

    /// <summary>input·weightᵀ + bias, [rows, gates], in a buffer of the tape's.</summary>
    static float[] Projection(Tape tape, Tensor input, Tensor weight, Tensor bias, int rows, int gates, int width)
    {
        var result = tape.Rent(rows * gates);
        for (int n = 0; n < rows; n++) bias.Data.CopyTo(result.AsSpan(n * gates, gates));
        Gemm.Multiply(input.Data, false, weight.Data, true, result.AsSpan(0, rows * gates), rows, gates, width, accumulate: true);
        return result;
    }

    internal override void Backward(Tape tape)
    {
        ReadOnlySpan<float> dy = Output!.Grad, previous = _h.Data;
        int rows = _x.Dim(0), inputs = _x.Dim(1), hidden = _h.Dim(1), gates = 3 * hidden;
        // Gradients at the pre-activations, from the input side and from the hidden side (they differ only in the n gate).
        var dInput = tape.Rent(rows * gates).AsSpan(0, rows * gates);
        var dHidden = tape.Rent(rows * gates).AsSpan(0, rows * gates);
        var dh = _h.RequiresGrad ? tape.GradOf(_h) : default;
        for (int n = 0; n < rows; n++)
        {
            int g = n * gates, o = n * hidden;
            if (_mask is not null && _mask[n] == 0)
            {
                dInput.Slice(g, gates).Clear();
                dHidden.Slice(g, gates).Clear();
                if (!dh.IsEmpty) for (int j = 0; j < hidden; j++) dh[o + j] += dy[o + j];
                continue;
            }
            for (int j = 0; j < hidden; j++)
            {
                float r = _gates[g + j], z = _gates[g + hidden + j], candidate = _gates[g + 2 * hidden + j], hn = _hiddenN[o + j];
                float grad = dy[o + j];
                float dCandidate = grad * (1 - z) * (1 - candidate * candidate);
                float dz = grad * (previous[o + j] - candidate) * z * (1 - z);
                float dr = dCandidate * hn * r * (1 - r);
                (dInput[g + j], dInput[g + hidden + j], dInput[g + 2 * hidden + j]) = (dr, dz, dCandidate);
                (dHidden[g + j], dHidden[g + hidden + j], dHidden[g + 2 * hidden + j]) = (dr, dz, dCandidate * r);
                if (!dh.IsEmpty) dh[o + j] += grad * z;
            }
        }
        if (_x.RequiresGrad) Gemm.Multiply(dInput, false, _weightIh.Data, false, tape.GradOf(_x), rows, inputs, gates, accumulate: true);
        if (!dh.IsEmpty) Gemm.Multiply(dHidden, false, _weightHh.Data, false, dh, rows, hidden, gates, accumulate: true);
        if (_weightIh.RequiresGrad) Gemm.Multiply(dInput, true, _x.Data, false, tape.GradOf(_weightIh), gates, inputs, rows, accumulate: true);
        if (_weightHh.RequiresGrad) Gemm.Multiply(dHidden, true, previous, false, tape.GradOf(_weightHh), gates, hidden, rows, accumulate: true);
        AddRows(tape, _biasIh, dInput, rows, gates);
        AddRows(tape, _biasHh, dHidden, rows, gates);
    }

    static void AddRows(Tape tape, Tensor bias, ReadOnlySpan<float> rowsOfGradient, int rows, int width)
    {
        if (!bias.RequiresGrad) return;
        var db = tape.GradOf(bias);
        for (int n = 0; n < rows; n++) System.Numerics.Tensors.TensorPrimitives.Add(db, rowsOfGradient.Slice(n * width, width), db);
    }
}
