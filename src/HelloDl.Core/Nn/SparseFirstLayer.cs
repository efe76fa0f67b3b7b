using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HelloDl.Autograd;
using HelloDl.Data;
using HelloDl.Kernels;
using HelloDl.Tensors;

namespace HelloDl.Nn;

/// <summary>
/// How a model whose network starts with a flatten and a linear layer on images (the MLP, at
/// widths in whole blocks of <see cref="SparseInput.OutputBlock"/>) runs: the linear layer (and a
/// ReLU after it) through <see cref="SparseInput"/>, which skips the blank pixels, the rest of the
/// network as usual. Prediction keeps Wᵀ between calls; training, whose weights change every step,
/// makes it in each forward pass (<see cref="Linear"/> given the background).
/// </summary>
/// <remarks>
/// <see cref="SparseInput"/> needs Wᵀ and a start row made from W and b. They are remade when the
/// weights differ from the copy they were made from: a model's weights are written in place (by
/// training, loading, fine-tuning). On Zen 4 the comparison cost 10-30 µs a call, the MLP's batch
/// of 512 about 340 µs; remaking them (after every change, so once per validation pass in
/// training) 0.17-0.41 ms, mostly allocating and copying (making Wᵀ and the start row takes
/// 15-18 µs). The copy is replaced whole, so threads predicting at once each see one consistent set.
/// </remarks>
internal sealed class SparseFirstLayer
{
    readonly Sequential _network;
    readonly Module _flatten;
    readonly LinearLayer _layer;
    readonly bool _relu;
    readonly int _next;
    readonly float _background;
    Prepared? _prepared;

    SparseFirstLayer(Sequential network, Module flatten, LinearLayer layer, bool relu, int next, float background) =>
        (_network, _flatten, _layer, _relu, _next, _background) = (network, flatten, layer, relu, next, background);

    /// <summary>The plan for this network and input, or null where the layer is not one the kernel takes.</summary>
    public static SparseFirstLayer? For(Module network, IInputEncoder input)
    {
        if (network is not Sequential sequential || input is not ImageInput images) return null;
        var children = sequential.Children;
        if (children.Count < 2 || children[0].Module is not FlattenLayer flatten || children[1].Module is not LinearLayer layer) return null;
        if (layer.Outputs % SparseInput.OutputBlock != 0) return null;
        bool relu = children.Count > 2 && children[2].Module is ActivationLayer { IsRelu: true };
        // A blank pixel (0) becomes the normalisation's offset, exactly: 0 · scale + offset.
        return new SparseFirstLayer(sequential, flatten, layer, relu, relu ? 3 : 2, images.Normalization.Offset);
    }

    /// <summary>Whether the kernel runs on the SIMD path in use (tests change it) and this layer's sizes.</summary>
    public bool Runs
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        get => SparseInput.Supports(_layer.Inputs, _layer.Outputs);
    }

    /// <summary>Wᵀ and the start row for the weights as they are now (see the remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Prepared Current()
    {
        ReadOnlySpan<float> weight = _layer.Weight.Value.Data, bias = _layer.Bias.Value.Data;
        var prepared = Volatile.Read(ref _prepared);
        // Bit for bit (a float's own equality would take 0 for -0 and refuse NaN), and vectorised.
        if (prepared is not null && MemoryMarshal.AsBytes(weight).SequenceEqual(MemoryMarshal.AsBytes(prepared.Weight.AsSpan()))
            && MemoryMarshal.AsBytes(bias).SequenceEqual(MemoryMarshal.AsBytes(prepared.Bias.AsSpan()))) return prepared;
        prepared = new Prepared(weight.ToArray(), bias.ToArray(), new float[weight.Length], new float[bias.Length]);
        SparseInput.Prepare(weight, bias, _layer.Outputs, _layer.Inputs, _background, prepared.Transposed, prepared.Start);
        Volatile.Write(ref _prepared, prepared);
        return prepared;
    }

    /// <summary>The network's output for encoded images [N, ..], on any tape: the first layer's op is told the background.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Forward(Tape tape, Tensor input)
    {
        var flat = _flatten.Forward(tape, input);
        var hidden = Linear.Apply(tape, flat, _layer.Weight.Value, _layer.Bias.Value, _relu, _background);
        return _network.ForwardFrom(tape, hidden, _next);
    }

    /// <summary>The network's output for encoded images [N, ..] through <see cref="Current"/>'s buffers, on a tape that does not record.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Forward(Tape tape, Tensor input, Prepared prepared)
    {
        int rows = input.Dim(0);
        if (input.Length != rows * _layer.Inputs) throw new ArgumentException($"{_layer.Describe} takes {_layer.Inputs} values an image, not the {input.Length / Math.Max(1, rows)} of {input}.", nameof(input));
        var hidden = tape.NewTensor(rows, _layer.Outputs);
        SparseInput.Multiply(input.Data, rows, _layer.Inputs, _background, prepared.Transposed, prepared.Start, hidden.Data, _layer.Outputs, _relu);
        return _network.ForwardFrom(tape, hidden, _next);
    }

    /// <summary>The weights and bias the buffers were made from, Wᵀ, and b + background · Σⱼ W[:, j].</summary>
    internal sealed record Prepared(float[] Weight, float[] Bias, float[] Transposed, float[] Start);
}
