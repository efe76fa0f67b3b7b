using System.Runtime.CompilerServices;
namespace HelloDl.Tensors;

/// <summary>
/// A contiguous float32 tensor of 1 to 4 dimensions (a batch of images is N, C, H, W), possibly a
/// view into a larger buffer (a model's parameters all live in one). Autograd state rides along:
/// whether it needs a gradient, and the gradient buffer once backward reaches it.
/// </summary>
public sealed class Tensor
{
    float[] _data;
    int _offset;
    float[]? _grad;
    int _gradOffset;
    bool _ownsGradient;

    public Tensor(params int[] shape) : this(new float[Size(shape)], 0, shape) { }

    public Tensor(float[] data, int offset, int[] shape)
    {
        int length = Size(shape);
        if ((uint)offset > (uint)data.Length || data.Length - offset < length)
            throw new ArgumentException($"A buffer of {data.Length} floats from offset {offset} cannot hold shape {ShapeText(shape)}.");
        _data = data;
        _offset = offset;
        Shape = (int[])shape.Clone();
        Length = length;
    }

    public int[] Shape { get; private set; }
    public int Rank => Shape.Length;
    public int Length { get; private set; }

    /// <summary>The values, row-major (last dimension fastest).</summary>
    public Span<float> Data => _data.AsSpan(_offset, Length);

    /// <summary>True for parameters and for anything computed from them while a tape records.</summary>
    public bool RequiresGrad { get; internal set; }

    /// <summary>The gradient of the loss with respect to this tensor; empty until backward reaches it.</summary>
    public Span<float> Grad => _grad is null ? Span<float>.Empty : _grad.AsSpan(_gradOffset, Length);
    public bool HasGrad => _grad is not null;

    /// <summary>A parameter's (or trainable tensor's): its gradient buffer is its own and outlives tape resets.</summary>
    internal bool OwnsGradient => _ownsGradient;

    /// <summary>The tape pass that last started this parameter's gradient (see <see cref="Autograd.Tape.FreshParameterGradients"/>).</summary>
    internal long GradientPass { get; set; }

    /// <summary>Size of dimension <paramref name="axis"/>; negative counts from the end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Dim(int axis) => Shape[axis < 0 ? Shape.Length + axis : axis];

    public float this[params int[] index]
    {
        get => Data[FlatIndex(index)];
        set => Data[FlatIndex(index)] = value;
    }

    public static Tensor FromArray(float[] values, params int[] shape)
    {
        if (values.Length != Size(shape)) throw new ArgumentException($"{values.Length} values do not fill shape {ShapeText(shape)}.");
        return new Tensor(values, 0, shape);
    }

    /// <summary>A tensor with its own gradient buffer, whose gradient backward fills.</summary>
    public static Tensor Trainable(float[] values, params int[] shape) => Parameter(values, new float[values.Length], 0, shape);

    /// <summary>A parameter: a view into the model's flat value and gradient buffers.</summary>
    internal static Tensor Parameter(float[] values, float[] grads, int offset, int[] shape) =>
        new(values, offset, shape) { _grad = grads, _gradOffset = offset, _ownsGradient = true, RequiresGrad = true };

    /// <summary>The same values under another shape of the same size (no copy, no gradient).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void ReuseAsViewOf(Tensor source, int[] shape) => Reuse(source._data, shape, source._offset);

    /// <summary>A new tensor over <paramref name="source"/>'s values with another shape of the same size.</summary>
    internal static Tensor ViewOf(Tensor source, int[] shape) => new(source._data, source._offset, shape);

    /// <summary>Items [first, first + count) along the first axis, sharing this tensor's data (no gradient).</summary>
    public Tensor BatchView(int first, int count)
    {
        int itemSize = Length / Dim(0);
        if (first < 0 || count < 1 || first + count > Dim(0)) throw new ArgumentOutOfRangeException(nameof(count), $"Items {first}..{first + count - 1} are not all in {this}.");
        var shape = (int[])Shape.Clone();
        shape[0] = count;
        return new Tensor(_data, _offset + first * itemSize, shape);
    }

    /// <summary>Points this tensor at buffers again (arena reuse across batches): shape may change, capacity must suffice.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void Reuse(float[] data, int[] shape, int offset = 0)
    {
        _data = data;
        _offset = offset;
        Shape = shape;
        Length = Size(shape);
        _grad = null;
        RequiresGrad = false;
    }

    /// <summary>Gives this tensor a zeroed gradient buffer (from the tape's arena) if it has none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal Span<float> EnsureGrad(Func<int, float[]> rent) => EnsureGrad(rent, clear: true, out _);

    /// <summary>
    /// The gradient buffer; a new one is zeroed only when <paramref name="clear"/>, and
    /// <paramref name="created"/> says it is new (its contents are then the caller's to write in full).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal Span<float> EnsureGrad(Func<int, float[]> rent, bool clear, out bool created)
    {
        created = _grad is null;
        if (created)
        {
            _grad = rent(Length);
            _gradOffset = 0;
            if (clear) _grad.AsSpan(0, Length).Clear();
        }
        return Grad;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Size(ReadOnlySpan<int> shape)
    {
        if (shape.Length is < 1 or > 4) throw new ArgumentException($"Tensors have 1 to 4 dimensions, not {shape.Length}.");
        long size = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"Negative dimension in shape {ShapeText(shape)}.");
            size *= d;
        }
        return size <= Array.MaxLength ? (int)size : throw new ArgumentException($"Shape {ShapeText(shape)} is too large.");
    }

    public static string ShapeText(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    int FlatIndex(int[] index)
    {
        if (index.Length != Rank) throw new ArgumentException($"Expected {Rank} indices.");
        int flat = 0;
        for (int i = 0; i < Rank; i++)
        {
            if ((uint)index[i] >= (uint)Shape[i]) throw new IndexOutOfRangeException($"Index {index[i]} is outside dimension {i} of size {Shape[i]}.");
            flat = flat * Shape[i] + index[i];
        }
        return flat;
    }

    public override string ToString() => $"Tensor{ShapeText(Shape)}";
}
