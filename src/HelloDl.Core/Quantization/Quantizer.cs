using HelloDl.Autograd;
using HelloDl.Data;
using HelloDl.Nn;

namespace HelloDl.Quantization;

/// <summary>
/// Turns a trained float model into one that classifies in integers (hello-dl chapter 7):
/// weights to 8 bits with one scale per output channel (or to hello-dl's 4-bit equal-population
/// codebook, then to 8 bits for the kernels), and each weighted layer's input to 7-bit codes
/// whose range is measured by running the float model over calibration images.
/// </summary>
public static class Quantizer
{
    /// <summary>At most this many calibration images are run, spread evenly over the set: ranges settle long before.</summary>
    public const int MaxCalibrationImages = 4096;

    /// <exception cref="ArgumentException">The model is already quantised, reads text or gives non-finite values (ParamName 'model'), or the
    /// calibration set is empty or not 28 x 28 (ParamName 'calibration').</exception>
    /// <exception cref="ArgumentOutOfRangeException">Bits is not 8 or 4.</exception>
    public static Model Quantize(Model model, ImageDataset calibration, int bits = 8, CancellationToken cancellation = default)
    {
        if (bits is not (8 or 4)) throw new ArgumentOutOfRangeException(nameof(bits), bits, "Weights are quantised to 8 or 4 bits.");
        if (model.Quantized is not null) throw new ArgumentException($"{model} is quantised already: quantise the float model it was made from.", nameof(model));
        if (model.ReadsText) throw new ArgumentException($"{model} reads text; quantisation is for the image models (Linear, Mlp, Cnn).", nameof(model));
        if (calibration.Count == 0) throw new ArgumentException($"The calibration set {calibration.Name} holds no images.", nameof(calibration));
        if (calibration.Rows != Model.ImageInputShape[1] || calibration.Columns != Model.ImageInputShape[2])
            throw new ArgumentException($"The calibration set {calibration.Name} has {calibration.Rows} x {calibration.Columns} images; the model takes 28 x 28.", nameof(calibration));

        var ranges = MeasureInputRanges(model, calibration, cancellation);
        if (ranges.FirstOrDefault(r => !r.Value.IsValid) is { Key: { } broken })
            throw new ArgumentException($"{model} gives NaN or infinite values at the input of layer {broken} on {calibration.Name}: it cannot be quantised.", nameof(model));
        var parameters = model.Parameters.ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
        var layers = new List<QuantizedLayer>();
        foreach (var name in model.TrainableLayers)
        {
            var weight = parameters[name + ".weight"];
            var bias = parameters[name + ".bias"].Data.ToArray();
            int[] shape = weight.Shape.ToArray();
            if (bits == 4) layers.Add(QuantizedLayer.FromFourBit(name, shape, QuantizedLayer.EqualPopulation(weight.Data), bias, ranges[name]));
            else
            {
                var (codes, scales) = QuantizedLayer.QuantizePerChannel(weight.Data, weight.Dim(0));
                layers.Add(new QuantizedLayer(name, shape, codes, scales, bias, ranges[name]));
            }
        }
        int used = Math.Min(calibration.Count, MaxCalibrationImages);
        return FromLayers(model, layers, bits, $"{calibration.Name}: {used:N0} images");
    }

    /// <summary>
    /// The quantised model for stored layers (a model file's): <paramref name="skeleton"/> gives the
    /// architecture, classes and history; its weights become the dequantised ones.
    /// </summary>
    /// <exception cref="ArgumentException">The layers do not fit the architecture.</exception>
    public static Model FromLayers(Model skeleton, IReadOnlyList<QuantizedLayer> layers, int bits, string calibration)
    {
        var expected = skeleton.TrainableLayers;
        if (!layers.Select(l => l.Name).SequenceEqual(expected, StringComparer.Ordinal))
            throw new ArgumentException($"A quantised {skeleton.Architecture} model has the layers {string.Join(", ", expected)}, not {string.Join(", ", layers.Select(l => l.Name))}.");
        var values = new float[skeleton.ParameterCount];
        var layout = skeleton.ParameterLayout.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var shapes = skeleton.Parameters.ToDictionary(p => p.Name, p => p.Value.Shape, StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            if (!layer.WeightShape.SequenceEqual(shapes[layer.Name + ".weight"]))
                throw new ArgumentException($"Layer {layer.Name} has weights [{string.Join(", ", layer.WeightShape)}]; the {skeleton.Architecture} model needs [{string.Join(", ", shapes[layer.Name + ".weight"])}].");
            layer.DequantizedWeights().CopyTo(values, layout[layer.Name + ".weight"].Offset);
            layer.Bias.CopyTo(values, layout[layer.Name + ".bias"].Offset);
        }
        var network = new Int8Network((Sequential)skeleton.Network, layers, bits, calibration);
        return Model.WithQuantizedNetwork(skeleton, values, network);
    }

    /// <summary>The range of each weighted layer's input over the calibration images, layer by layer through the float network.</summary>
    static Dictionary<string, ActivationRange> MeasureInputRanges(Model model, ImageDataset calibration, CancellationToken cancellation)
    {
        int used = Math.Min(calibration.Count, MaxCalibrationImages);
        var chosen = Enumerable.Range(0, used).Select(i => (int)((long)i * calibration.Count / used)).ToArray();
        var images = calibration.Select(chosen);
        var ranges = new Dictionary<string, ActivationRange>(StringComparer.Ordinal);
        var batcher = new Batcher(images, 256, model.Input);
        var tape = new Tape(recording: false) { Training = false };
        for (int b = 0; b < batcher.BatchCount; b++)
        {
            cancellation.ThrowIfCancellationRequested();
            tape.Reset();
            var (x, _) = batcher.Batch(b);
            foreach (var (name, layer) in model.Network.Children)
            {
                if (layer is LinearLayer or Conv2dLayer) ranges[name] = ranges.GetValueOrDefault(name, ActivationRange.Empty).Including(x.Data);
                x = layer.Forward(tape, x);
            }
        }
        return ranges;
    }
}
