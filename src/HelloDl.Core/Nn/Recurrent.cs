using HelloDl.Autograd;
using HelloDl.Tensors;

namespace HelloDl.Nn;

/// <summary>
/// Symbol sequences [N, T] (values 0..symbols-1, -1 for padding) through an embedding and
/// stacked GRU layers, each layer over all steps of all rows in one op: the last state of the top layer
/// [N, hidden] (a classifier reads each sequence's own last state, as padding carries it
/// through), or with <see cref="EveryStep"/> the top layer's state at every step, time-major
/// [T·N, hidden] (a language model predicts from each). Parameters: embedding.weight/bias, then
/// per layer layerK.weight_ih [3H, in], layerK.weight_hh [3H, H], layerK.bias_ih, layerK.bias_hh.
/// </summary>
public sealed class GruEncoder : Module
{
    readonly Parameter _embedding, _embeddingBias;
    readonly (Parameter WeightIh, Parameter WeightHh, Parameter BiasIh, Parameter BiasHh)[] _layers;

    public GruEncoder(int symbols, int embedding, int hidden, int layers, bool everyStep)
    {
        if (symbols < 2 || embedding < 1 || hidden < 1 || layers < 1) throw new ArgumentOutOfRangeException(nameof(layers), "A GRU encoder needs 2 or more symbols and positive sizes.");
        (Symbols, Embedding, Hidden, EveryStep) = (symbols, embedding, hidden, everyStep);
        // An embedding is a lookup: its rows start like a unit-scale input (±1); GRU weights as PyTorch's (±1/√hidden).
        _embedding = AddParameter("embedding.weight", [symbols, embedding], 1);
        _embeddingBias = AddParameter("embedding.bias", [embedding], 0);
        float bound = 1 / MathF.Sqrt(hidden);
        _layers = Enumerable.Range(0, layers).Select(k => (
            AddParameter($"layer{k}.weight_ih", [3 * hidden, k == 0 ? embedding : hidden], bound),
            AddParameter($"layer{k}.weight_hh", [3 * hidden, hidden], bound),
            AddParameter($"layer{k}.bias_ih", [3 * hidden], bound),
            AddParameter($"layer{k}.bias_hh", [3 * hidden], bound))).ToArray();
    }

    public int Symbols { get; }
    public int Embedding { get; }
    public int Hidden { get; }
    public int Layers => _layers.Length;
    public bool EveryStep { get; }
    public override string Describe => $"Gru({Symbols}→{Embedding}→{string.Join("→", Enumerable.Repeat(Hidden, Layers))}{(EveryStep ? ", every step" : "")})";
    public override int[] OutputShape(int[] inputShape) => [Hidden];

    public override Tensor Forward(Tape tape, Tensor input)
    {
        if (input.Rank != 2) throw new ArgumentException($"A GRU reads sequences [N, T]; got {input}.", nameof(input));
        int rows = input.Dim(0), length = input.Dim(1);
        // A classifier stops after the longest sequence: the steps after it would only carry states.
        int steps = EveryStep ? length : LongestSequence(input.Data, rows, length);
        // Time-major symbols: row t·N + n is step t of sequence n.
        var symbols = new float[steps * rows];
        for (int t = 0; t < steps; t++)
            for (int n = 0; n < rows; n++) symbols[t * rows + n] = input.Data[n * length + t];
        var states = RunLayers(tape, symbols, InitialStates(tape, rows));
        var top = states[^1];
        return EveryStep ? top : Slice.Apply(tape, top, 0, (steps - 1) * rows, rows);
    }

    /// <summary>States of zero for every layer, [rows, hidden] each, not trained.</summary>
    public Tensor[] InitialStates(Tape tape, int rows)
    {
        var states = new Tensor[Layers];
        for (int k = 0; k < Layers; k++)
        {
            states[k] = tape.NewTensor(rows, Hidden);
            states[k].Data.Clear();
        }
        return states;
    }

    /// <summary>
    /// One step for every row: each row's symbol (negative: padding, which carries its states
    /// through) up through the layers; <paramref name="states"/> are replaced by the new ones.
    /// The top layer's new state is returned.
    /// </summary>
    public Tensor Step(Tape tape, ReadOnlySpan<float> symbols, Tensor[] states)
    {
        var next = RunLayers(tape, symbols, states);
        for (int k = 0; k < Layers; k++) states[k] = next[k];
        return states[^1];
    }

    /// <summary>Time-major symbols [T·N] through the embedding and every layer from <paramref name="initial"/>; each layer's states [T·N, H].</summary>
    Tensor[] RunLayers(Tape tape, ReadOnlySpan<float> symbols, Tensor[] initial)
    {
        int rows = symbols.Length;
        var features = tape.NewTensor(rows, 1, 2);
        var pairs = features.Data;
        float[]? mask = null;
        for (int i = 0; i < rows; i++)
        {
            bool present = symbols[i] >= 0;
            (pairs[2 * i], pairs[2 * i + 1]) = present ? (symbols[i], 1f) : (-1f, 0f);
            if (present) continue;
            if (mask is null)
            {
                mask = tape.Rent(rows);
                mask.AsSpan(0, rows).Fill(1);
            }
            mask[i] = 0;
        }
        var x = EmbeddingBag.Apply(tape, features, _embedding.Value, _embeddingBias.Value);
        var layers = new Tensor[Layers];
        for (int k = 0; k < Layers; k++)
        {
            var (weightIh, weightHh, biasIh, biasHh) = _layers[k];
            x = layers[k] = GruLayer.Apply(tape, x, initial[k], weightIh.Value, weightHh.Value, biasIh.Value, biasHh.Value, mask);
        }
        return layers;
    }

    static int LongestSequence(ReadOnlySpan<float> input, int rows, int length)
    {
        int longest = 0;
        for (int n = 0; n < rows; n++)
        {
            int end = length;
            while (end > longest && input[n * length + end - 1] < 0) end--;
            longest = Math.Max(longest, end);
        }
        return Math.Max(1, longest);
    }
}
