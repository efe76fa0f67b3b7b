using System.Numerics;
using HelloDl.Kernels;
using HelloDl.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace HelloDl.Autograd;

/// <summary>
/// A gated recurrent unit layer (Cho et al., 2014, in PyTorch's form) over a whole batch of
/// sequences, time-major (row t·N + n is step t of sequence n):
/// r = σ(x·W_irᵀ + b_ir + h·W_hrᵀ + b_hr), z = σ(x·W_izᵀ + b_iz + h·W_hzᵀ + b_hz),
/// n = tanh(x·W_inᵀ + b_in + r ⊙ (h·W_hnᵀ + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h, with the weights
/// stacked [r; z; n] as weight_ih [3H, I] and weight_hh [3H, H]. Backward runs backpropagation
/// through time inside the op. Only h·W_hhᵀ must be taken step by step; the input products for
/// all steps, and in backward the input gradient and both weight gradients, are single large
/// matrix products (K = T·N), which is where a per-step formulation spent most of its time.
/// Rows whose mask is 0 (padding after a short sequence) carry h through unchanged, so every
/// sequence ends on its own last state. The initial state h0 is data, not trained.
/// </summary>
public sealed class GruLayer : Op
{
    readonly Tensor _x, _initial, _weightIh, _weightHh, _biasIh, _biasHh;
    readonly float[]? _mask;
    readonly float[] _gates, _hiddenN;

    GruLayer(Tensor x, Tensor initial, Tensor weightIh, Tensor weightHh, Tensor biasIh, Tensor biasHh, float[]? mask, float[] gates, float[] hiddenN)
    {
        (_x, _initial, _weightIh, _weightHh, _biasIh, _biasHh) = (x, initial, weightIh, weightHh, biasIh, biasHh);
        (_mask, _gates, _hiddenN) = (mask, gates, hiddenN);
    }

    /// <param name="x">[T·N, inputs], time-major.</param>
    /// <param name="initial">h0 [N, hidden]; not trained.</param>
    /// <param name="mask">Per row of x: 1 to step, 0 to carry h through; null for all 1. Kept unchanged until backward.</param>
    /// <returns>Every step's state [T·N, hidden], time-major.</returns>
    /// <exception cref="ArgumentException">Shapes that do not fit.</exception>
    public static Tensor Apply(Tape tape, Tensor x, Tensor initial, Tensor weightIh, Tensor weightHh, Tensor biasIh, Tensor biasHh, float[]? mask = null)
    {
        if (x.Rank != 2 || initial.Rank != 2 || initial.Dim(0) == 0 || x.Dim(0) % initial.Dim(0) != 0)
            throw new ArgumentException($"A GRU layer needs x [T·N, inputs] and h0 [N, hidden]; got {x}, {initial}.");
        int rows = x.Dim(0), sequences = initial.Dim(0), inputs = x.Dim(1), hidden = initial.Dim(1), gates = 3 * hidden;
        if (weightIh.Rank != 2 || weightIh.Dim(0) != gates || weightIh.Dim(1) != inputs || weightHh.Rank != 2 || weightHh.Dim(0) != gates || weightHh.Dim(1) != hidden
            || biasIh.Rank != 1 || biasIh.Dim(0) != gates || biasHh.Rank != 1 || biasHh.Dim(0) != gates)
            throw new ArgumentException($"A GRU layer of {inputs} inputs and {hidden} units needs weight_ih [{gates}, {inputs}], weight_hh [{gates}, {hidden}] and biases [{gates}]; got {weightIh}, {weightHh}, {biasIh}, {biasHh}.");
        if (mask is not null && mask.Length < rows) throw new ArgumentException($"{rows} rows but a mask of {mask.Length}.", nameof(mask));

        // Every step's input product at once.
        var fromInput = tape.Rent(rows * gates);
        for (int r = 0; r < rows; r++) biasIh.Data.CopyTo(fromInput.AsSpan(r * gates, gates));
        Gemm.Multiply(x.Data, false, weightIh.Data, true, fromInput.AsSpan(0, rows * gates), rows, gates, inputs, accumulate: true);
        var fromHidden = tape.Rent(sequences * gates).AsSpan(0, sequences * gates);
        var recurrent = new Recurrence(tape, weightHh.Data, gates, hidden, sequences, transpose: false);
        var gateValues = tape.Rent(rows * gates);
        var hiddenN = tape.Rent(rows * hidden);
        var y = tape.NewTensor(rows, hidden);
        var output = y.Data;
        for (int start = 0; start < rows; start += sequences)
        {
            ReadOnlySpan<float> previous = start == 0 ? initial.Data : output.Slice((start - sequences) * hidden, sequences * hidden);
            recurrent.Multiply(previous, fromHidden, biasHh.Data);
            for (int n = 0; n < sequences; n++)
            {
                int row = start + n, g = row * gates, o = row * hidden;
                var before = previous.Slice(n * hidden, hidden);
                var next = output.Slice(o, hidden);
                if (mask is not null && mask[row] == 0)
                {
                    before.CopyTo(next);
                    continue;
                }
                // Whole gate vectors at once: r and z are one sigmoid over 2H values, n one tanh.
                var rz = gateValues.AsSpan(g, 2 * hidden);
                TensorPrimitives.Add(fromInput.AsSpan(g, 2 * hidden), fromHidden.Slice(n * gates, 2 * hidden), rz);
                TensorPrimitives.Sigmoid(rz, rz);
                var hn = hiddenN.AsSpan(o, hidden);
                fromHidden.Slice(n * gates + 2 * hidden, hidden).CopyTo(hn);
                var candidate = gateValues.AsSpan(g + 2 * hidden, hidden);
                TensorPrimitives.FusedMultiplyAdd(rz[..hidden], hn, fromInput.AsSpan(g + 2 * hidden, hidden), candidate);
                TensorPrimitives.Tanh(candidate, candidate);
                // h' = n + z ⊙ (h − n)
                TensorPrimitives.Subtract(before, candidate, next);
                TensorPrimitives.FusedMultiplyAdd(rz[hidden..], next, candidate, next);
            }
        }
        tape.Record(new GruLayer(x, initial, weightIh, weightHh, biasIh, biasHh, mask, gateValues, hiddenN), y, x, weightIh, weightHh, biasIh, biasHh);
        return y;
    }

    internal override void Backward(Tape tape)
    {
        ReadOnlySpan<float> dy = Output!.Grad, states = Output.Data;
        int rows = _x.Dim(0), sequences = _initial.Dim(0), inputs = _x.Dim(1), hidden = _initial.Dim(1), gates = 3 * hidden;
        // Gradients at the gates' pre-activations, input side and hidden side (they differ only in the n gate).
        var dInput = tape.Rent(rows * gates).AsSpan(0, rows * gates);
        var dHidden = tape.Rent(rows * gates).AsSpan(0, rows * gates);
        // The state each step started from, all steps stacked: for the hidden weights' gradient.
        var previousStates = tape.Rent(rows * hidden).AsSpan(0, rows * hidden);
        _initial.Data.CopyTo(previousStates);
        states[..((rows - sequences) * hidden)].CopyTo(previousStates[(sequences * hidden)..]);
        // dL/dh flowing back into step t from step t + 1, and the total at step t.
        var carried = tape.Rent(sequences * hidden).AsSpan(0, sequences * hidden);
        var total = tape.Rent(sequences * hidden).AsSpan(0, sequences * hidden);
        carried.Clear();
        var recurrent = new Recurrence(tape, _weightHh.Data, hidden, gates, sequences, transpose: true);
        for (int start = rows - sequences; start >= 0; start -= sequences)
        {
            TensorPrimitives.Add(dy.Slice(start * hidden, sequences * hidden), carried, total);
            carried.Clear();
            for (int n = 0; n < sequences; n++)
            {
                int row = start + n, g = row * gates, o = row * hidden;
                var grad = total.Slice(n * hidden, hidden);
                if (_mask is not null && _mask[row] == 0)
                {
                    dInput.Slice(g, gates).Clear();
                    dHidden.Slice(g, gates).Clear();
                    grad.CopyTo(carried.Slice(n * hidden, hidden));
                    continue;
                }
                GateGradients(_gates.AsSpan(g, gates), _hiddenN.AsSpan(o, hidden), previousStates.Slice(o, hidden), grad,
                    dInput.Slice(g, gates), dHidden.Slice(g, gates), carried.Slice(n * hidden, hidden));
            }
            if (start > 0) recurrent.Multiply(dHidden.Slice(start * gates, sequences * gates), carried, add: true);
        }
        if (_x.RequiresGrad) Gemm.Multiply(dInput, false, _weightIh.Data, false, tape.GradOf(_x), rows, inputs, gates, accumulate: true);
        if (_weightIh.RequiresGrad) Gemm.Multiply(dInput, true, _x.Data, false, tape.GradOf(_weightIh), gates, inputs, rows, accumulate: true);
        if (_weightHh.RequiresGrad) Gemm.Multiply(dHidden, true, previousStates, false, tape.GradOf(_weightHh), gates, hidden, rows, accumulate: true);
        AddRows(tape, _biasIh, dInput, rows, gates);
        AddRows(tape, _biasHh, dHidden, rows, gates);
    }

    /// <summary>
    /// One row's gradients at the gate pre-activations, from dL/dh' = <paramref name="dy"/>: input
    /// side [dr, dz, dn], hidden side [dr, dz, dn ⊙ r]; <paramref name="dh"/> gains dy ⊙ z, the
    /// direct path to the previous state. One vectorised pass.
    /// </summary>
    static void GateGradients(ReadOnlySpan<float> gates, ReadOnlySpan<float> hiddenN, ReadOnlySpan<float> previous, ReadOnlySpan<float> dy,
        Span<float> dInput, Span<float> dHidden, Span<float> dh)
    {
        int hidden = hiddenN.Length, j = 0, width = Vector<float>.Count;
        var one = Vector<float>.One;
        for (; j <= hidden - width; j += width)
        {
            var r = new Vector<float>(gates[j..]);
            var z = new Vector<float>(gates[(hidden + j)..]);
            var candidate = new Vector<float>(gates[(2 * hidden + j)..]);
            var grad = new Vector<float>(dy[j..]);
            var dCandidate = grad * (one - z) * (one - candidate * candidate);
            var dz = grad * (new Vector<float>(previous[j..]) - candidate) * z * (one - z);
            var dr = dCandidate * new Vector<float>(hiddenN[j..]) * r * (one - r);
            dr.CopyTo(dInput[j..]);
            dz.CopyTo(dInput[(hidden + j)..]);
            dCandidate.CopyTo(dInput[(2 * hidden + j)..]);
            dr.CopyTo(dHidden[j..]);
            dz.CopyTo(dHidden[(hidden + j)..]);
            (dCandidate * r).CopyTo(dHidden[(2 * hidden + j)..]);
            (new Vector<float>(dh[j..]) + grad * z).CopyTo(dh[j..]);
        }
        for (; j < hidden; j++)
        {
            float r = gates[j], z = gates[hidden + j], candidate = gates[2 * hidden + j], grad = dy[j];
            float dCandidate = grad * (1 - z) * (1 - candidate * candidate);
            float dz = grad * (previous[j] - candidate) * z * (1 - z);
            float dr = dCandidate * hiddenN[j] * r * (1 - r);
            (dInput[j], dInput[hidden + j], dInput[2 * hidden + j]) = (dr, dz, dCandidate);
            (dHidden[j], dHidden[hidden + j], dHidden[2 * hidden + j]) = (dr, dz, dCandidate * r);
            dh[j] += grad * z;
        }
    }

    /// <summary>
    /// The per-step product with the fixed hidden weights, rows [N, k] times op(W_hh) into
    /// [N, m]: computed as op(W_hh)ᵀ-side packed once for all steps (m x k) times the rows
    /// transposed, then transposed back. Packing W_hh afresh every step cost more than the
    /// product of a batch of 16 rows itself.
    /// </summary>
    readonly ref struct Recurrence
    {
        readonly Span<float> _packed, _columns;
        readonly int _m, _k, _rows;

        /// <param name="transpose">False: op(W) = W [m, k] (forward, m = 3H); true: op(W) = Wᵀ (backward, W [k, m], m = H).</param>
        public Recurrence(Tape tape, ReadOnlySpan<float> weight, int m, int k, int rows, bool transpose)
        {
            (_m, _k, _rows) = (m, k, rows);
            _packed = tape.Rent(Gemm.PackedLeftLength(m, k)).AsSpan(0, Gemm.PackedLeftLength(m, k));
            Gemm.PackLeft(weight, transpose, m, k, _packed);
            _columns = tape.Rent(m * rows).AsSpan(0, m * rows);
        }

        /// <summary>result[n, i] = (add ? result : bias ?? 0)[n, i] + Σ_j op(W)[i, j] · rows[n, j].</summary>
        public void Multiply(ReadOnlySpan<float> rows, Span<float> result, ReadOnlySpan<float> bias = default, bool add = false)
        {
            Gemm.MultiplyPacked(_packed, _m, _k, rows, transB: true, _columns, _rows);
            for (int n = 0; n < _rows; n++)
            {
                var row = result.Slice(n * _m, _m);
                for (int i = 0; i < _m; i++)
                {
                    float value = _columns[i * _rows + n];
                    row[i] = add ? row[i] + value : bias.IsEmpty ? value : value + bias[i];
                }
            }
        }
    }

    static void AddRows(Tape tape, Tensor bias, ReadOnlySpan<float> rowsOfGradient, int rows, int width)
    {
        if (!bias.RequiresGrad) return;
        var db = tape.GradOf(bias);
        for (int n = 0; n < rows; n++) TensorPrimitives.Add(db, rowsOfGradient.Slice(n * width, width), db);
    }
}
