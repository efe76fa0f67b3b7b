using System.Runtime.CompilerServices;
using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>
/// Inverted dropout: in training each element is zeroed with probability p and the survivors are
/// scaled by 1/(1-p), so evaluation needs no rescaling and simply passes x through.
/// </summary>
public sealed class Dropout : Op
{
    readonly Tensor _x;
    readonly float[] _mask;

    Dropout(Tensor x, float[] mask) { _x = x; _mask = mask; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Apply(Tape tape, Tensor x, float p)
    {
        if (p is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be in [0, 1).");
        if (!tape.Training || p == 0) return x;
        var mask = tape.Rent(x.Length);
        float keep = 1 / (1 - p);
        var y = tape.NewTensor(x.Shape);
        ReadOnlySpan<float> input = x.Data;
        var output = y.Data;
        for (int i = 0; i < input.Length; i++)
        {
            mask[i] = tape.Random.NextSingle() < p ? 0 : keep;
            output[i] = input[i] * mask[i];
        }
        tape.Record(new Dropout(x, mask), y, x);
        return y;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal override void Backward(Tape tape)
    {
        ReadOnlySpan<float> dy = Output!.Grad;
        var dx = tape.GradOf(_x);
        for (int i = 0; i < dy.Length; i++) dx[i] += dy[i] * _mask[i];
    }
}
