namespace HelloDl.Quantization;

/// <summary>
/// The range of a layer's input measured on calibration images, and the 7-bit unsigned code that
/// follows from it: x ≈ Scale · (q − ZeroPoint), q in 0..127. The range always holds 0, so zero
/// (padding, a ReLU's floor) is exact.
/// </summary>
public readonly record struct ActivationRange(float Min, float Max)
{
    public const int Levels = Kernels.Int8Gemm.MaxActivation;

    public float Scale => Max0 > Min0 ? (Max0 - Min0) / Levels : 1;
    public int ZeroPoint => (int)Math.Clamp(MathF.Round(-Min0 / Scale), 0, Levels);
    float Min0 => MathF.Min(Min, 0);
    float Max0 => MathF.Max(Max, 0);

    /// <summary>Widened to take in <paramref name="values"/>.</summary>
    public ActivationRange Including(ReadOnlySpan<float> values) =>
        values.IsEmpty ? this : new(MathF.Min(Min, System.Numerics.Tensors.TensorPrimitives.Min(values)), MathF.Max(Max, System.Numerics.Tensors.TensorPrimitives.Max(values)));

    public static ActivationRange Empty => new(float.PositiveInfinity, float.NegativeInfinity);

    public bool IsValid => float.IsFinite(Min) && float.IsFinite(Max) && Min <= Max;
}

/// <summary>hello-dl's 4-bit weights: each weight is the index of one of 16 values (two indices a byte, low nibble first).</summary>
public sealed record FourBitWeights(byte[] Nibbles, float[] Codebook)
{
    public const int Levels = 16;
}

/// <summary>
/// One fully connected or convolution layer in integers, as model files store it: signed 8-bit
/// weights in the float layer's layout ([out, in] or [out, in, k, k]) with one scale per output
/// channel, the float bias, and the calibrated range of the layer's input. A 4-bit layer also has
/// <see cref="FourBit"/>, which is what its file stores; its 8-bit weights are derived from it.
/// </summary>
public sealed class QuantizedLayer
{
    public QuantizedLayer(string name, int[] weightShape, sbyte[] weights, float[] weightScales, float[] bias, ActivationRange input, FourBitWeights? fourBit = null)
    {
        int outputs = weightShape[0];
        if (weights.Length != Tensors.Tensor.Size(weightShape)) throw new ArgumentException($"Layer {name}: {weights.Length} weights for shape [{string.Join(", ", weightShape)}].");
        if (weightScales.Length != outputs || bias.Length != outputs) throw new ArgumentException($"Layer {name}: one scale and one bias per output channel are needed.");
        if (weightScales.Any(s => !(s > 0) || !float.IsFinite(s))) throw new ArgumentException($"Layer {name}: weight scales must be positive numbers.");
        if (!input.IsValid) throw new ArgumentException($"Layer {name}: the input range [{input.Min}, {input.Max}] is not a range.");
        (Name, WeightShape, Weights, WeightScales, Bias, Input, FourBit) = (name, weightShape, weights, weightScales, bias, input, fourBit);
    }

    public string Name { get; }
    public int[] WeightShape { get; }
    public sbyte[] Weights { get; }
    public float[] WeightScales { get; }
    public float[] Bias { get; }
    public ActivationRange Input { get; }
    public FourBitWeights? FourBit { get; }
    public int Outputs => WeightShape[0];
    public int InputsPerOutput => Weights.Length / Outputs;

    /// <summary>A 4-bit layer: its 8-bit weights and scales are derived from the codebook's values.</summary>
    public static QuantizedLayer FromFourBit(string name, int[] weightShape, FourBitWeights fourBit, float[] bias, ActivationRange input)
    {
        var (codes, scales) = QuantizePerChannel(Expand(fourBit, Tensors.Tensor.Size(weightShape)), weightShape[0]);
        return new QuantizedLayer(name, weightShape, codes, scales, bias, input, fourBit);
    }

    /// <summary>Per output channel: scale = max |w| / 127, code = round(w / scale), within ±127.</summary>
    public static (sbyte[] Weights, float[] Scales) QuantizePerChannel(ReadOnlySpan<float> weights, int outputs)
    {
        int perOutput = weights.Length / outputs;
        var codes = new sbyte[weights.Length];
        var scales = new float[outputs];
        for (int o = 0; o < outputs; o++)
        {
            var row = weights.Slice(o * perOutput, perOutput);
            // MaxMagnitude returns the element, sign and all.
            float largest = MathF.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(row));
            float scale = largest > 0 ? largest / 127 : 1;
            scales[o] = scale;
            for (int i = 0; i < perOutput; i++) codes[o * perOutput + i] = (sbyte)Math.Clamp(MathF.Round(row[i] / scale), -127, 127);
        }
        return (codes, scales);
    }

    /// <summary>
    /// hello-dl's equal-population 4-bit scheme over the whole weight tensor: the weights sorted,
    /// cut into 16 runs of (nearly) equal length, each run represented by its mean; a weight
    /// becomes the index of its run.
    /// </summary>
    public static FourBitWeights EqualPopulation(ReadOnlySpan<float> weights)
    {
        int count = weights.Length;
        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        var keys = weights.ToArray();
        Array.Sort(keys, order);
        var codebook = new float[FourBitWeights.Levels];
        var nibbles = new byte[(count + 1) / 2];
        for (int level = 0; level < FourBitWeights.Levels; level++)
        {
            int first = (int)((long)count * level / FourBitWeights.Levels), end = (int)((long)count * (level + 1) / FourBitWeights.Levels);
            double sum = 0;
            for (int i = first; i < end; i++)
            {
                sum += keys[i];
                int index = order[i];
                nibbles[index / 2] |= (byte)(level << (index % 2 * 4));
            }
            // An empty run (fewer than 16 weights) repeats the previous value, so no index points at nothing.
            codebook[level] = end > first ? (float)(sum / (end - first)) : level > 0 ? codebook[level - 1] : 0;
        }
        return new FourBitWeights(nibbles, codebook);
    }

    /// <summary>The float weights a 4-bit layer stands for.</summary>
    public static float[] Expand(FourBitWeights fourBit, int count)
    {
        var weights = new float[count];
        for (int i = 0; i < count; i++) weights[i] = fourBit.Codebook[(fourBit.Nibbles[i / 2] >> (i % 2 * 4)) & 0xF];
        return weights;
    }

    /// <summary>The weights as the integers represent them.</summary>
    public float[] DequantizedWeights()
    {
        var values = new float[Weights.Length];
        int perOutput = InputsPerOutput;
        for (int i = 0; i < values.Length; i++) values[i] = Weights[i] * WeightScales[i / perOutput];
        return values;
    }
}
