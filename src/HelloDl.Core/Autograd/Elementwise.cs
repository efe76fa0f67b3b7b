using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>An element-wise binary rule: the value and its two partial derivatives, side by side.</summary>
public interface IBinaryRule
{
    /// <summary>Same-shape operands over whole spans (vectorised): the common, fast case.</summary>
    static abstract void Forward(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);
    static abstract float Forward(float a, float b);
    static abstract float DerivativeA(float a, float b);
    static abstract float DerivativeB(float a, float b);
}

public readonly struct AddRule : IBinaryRule
{
    public static void Forward(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => System.Numerics.Tensors.TensorPrimitives.Add(a, b, y);
    public static float Forward(float a, float b) => a + b;
    public static float DerivativeA(float a, float b) => 1;
    public static float DerivativeB(float a, float b) => 1;
}

public readonly struct SubRule : IBinaryRule
{
    public static void Forward(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => System.Numerics.Tensors.TensorPrimitives.Subtract(a, b, y);
    public static float Forward(float a, float b) => a - b;
    public static float DerivativeA(float a, float b) => 1;
    public static float DerivativeB(float a, float b) => -1;
}

public readonly struct MulRule : IBinaryRule
{
    public static void Forward(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => System.Numerics.Tensors.TensorPrimitives.Multiply(a, b, y);
    public static float Forward(float a, float b) => a * b;
    public static float DerivativeA(float a, float b) => b;
    public static float DerivativeB(float a, float b) => a;
}

public readonly struct DivRule : IBinaryRule
{
    public static void Forward(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => System.Numerics.Tensors.TensorPrimitives.Divide(a, b, y);
    public static float Forward(float a, float b) => a / b;
    public static float DerivativeA(float a, float b) => 1 / b;
    public static float DerivativeB(float a, float b) => -a / (b * b);
}

/// <summary>
/// a (op) b with NumPy broadcasting (a dimension of 1 stretches to match). The backward rule adds
/// each output position's contribution at the input position it came from, which sums over the
/// stretched dimensions.
/// </summary>
public sealed class Broadcast<TRule> : Op where TRule : struct, IBinaryRule
{
    readonly Tensor _a, _b;
    readonly BroadcastPlan _plan;

    Broadcast(Tensor a, Tensor b, BroadcastPlan plan) { _a = a; _b = b; _plan = plan; }

    public static Tensor Apply(Tape tape, Tensor a, Tensor b)
    {
        var plan = BroadcastPlan.For(a.Shape, b.Shape);
        var y = tape.NewTensor(plan.OutputShape);
        ReadOnlySpan<float> x1 = a.Data, x2 = b.Data;
        var output = y.Data;
        if (x1.Length == x2.Length && x1.Length == output.Length)
        {
            TRule.Forward(x1, x2, output);
        }
        else
        {
            int index = 0;
            foreach (var (i, j) in plan.Pairs())
                output[index++] = TRule.Forward(x1[i], x2[j]);
        }
        tape.Record(new Broadcast<TRule>(a, b, plan), y, a, b);
        return y;
    }

    internal override void Backward(Tape tape)
    {
        var dy = Output!.Grad;
        ReadOnlySpan<float> x1 = _a.Data, x2 = _b.Data;
        var da = _a.RequiresGrad ? tape.GradOf(_a) : Span<float>.Empty;
        var db = _b.RequiresGrad ? tape.GradOf(_b) : Span<float>.Empty;
        int index = 0;
        foreach (var (i, j) in _plan.Pairs())
        {
            float g = dy[index++];
            if (!da.IsEmpty) da[i] += g * TRule.DerivativeA(x1[i], x2[j]);
            if (!db.IsEmpty) db[j] += g * TRule.DerivativeB(x1[i], x2[j]);
        }
    }
}
