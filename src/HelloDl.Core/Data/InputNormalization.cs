using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HelloDl.Data;

/// <summary>How pixels (0..255) become network inputs: (pixel / 255 - Mean) / StandardDeviation.</summary>
public readonly record struct InputNormalization(float Mean, float StandardDeviation)
{
    public static InputNormalization Unit => new(0, 1);
    /// <summary>The mean and standard deviation of MNIST's training pixels.</summary>
    public static InputNormalization Mnist => new(0.1307f, 0.3081f);
    public float Scale => 1 / (255 * StandardDeviation);
    public float Offset => -Mean / StandardDeviation;

    /// <summary>Writes the network inputs for <paramref name="pixels"/> to <paramref name="inputs"/>, 16 pixels at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Apply(ReadOnlySpan<byte> pixels, Span<float> inputs)
    {
        if (inputs.Length < pixels.Length) throw new ArgumentException("The input buffer is shorter than the pixels.", nameof(inputs));
        float scale = Scale, offset = Offset;
        int i = 0;
        var scales = Vector256.Create(scale);
        var offsets = Vector256.Create(offset);
        for (; i <= pixels.Length - 16; i += 16)
        {
            // bytes -> 16-bit -> 32-bit integers -> floats, then one multiply-add.
            var (low, high) = Vector256.Widen(Vector256.Create(Vector128.WidenLower(Vector128.Create(pixels.Slice(i, 16))), Vector128.WidenUpper(Vector128.Create(pixels.Slice(i, 16)))));
            (Vector256.ConvertToSingle(low.AsInt32()) * scales + offsets).CopyTo(inputs.Slice(i));
            (Vector256.ConvertToSingle(high.AsInt32()) * scales + offsets).CopyTo(inputs.Slice(i + 8));
        }
        for (; i < pixels.Length; i++) inputs[i] = pixels[i] * scale + offset;
    }
}
