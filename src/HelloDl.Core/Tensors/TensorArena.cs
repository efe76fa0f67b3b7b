using System.Runtime.CompilerServices;
namespace HelloDl.Tensors;

/// <summary>
/// Hands out float buffers in a fixed order and takes them all back at once. A training step asks
/// for the same sizes in the same order every batch, so after the first batch nothing is allocated.
/// </summary>
internal sealed class TensorArena
{
    readonly List<float[]> _buffers = [];
    readonly List<Tensor> _tensors = [];
    int _nextBuffer;
    int _nextTensor;

    /// <summary>A buffer of at least <paramref name="length"/> floats; contents are stale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public float[] Rent(int length)
    {
        if (_nextBuffer == _buffers.Count) _buffers.Add(new float[length]);
        else if (_buffers[_nextBuffer].Length < length) _buffers[_nextBuffer] = new float[length];
        return _buffers[_nextBuffer++];
    }

    /// <summary>A tensor of the given shape over a rented buffer; contents are stale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor NewTensor(int[] shape)
    {
        var data = Rent(Tensor.Size(shape));
        if (_nextTensor == _tensors.Count) _tensors.Add(new Tensor(data, 0, shape));
        else _tensors[_nextTensor].Reuse(data, shape);
        return _tensors[_nextTensor++];
    }

    /// <summary>A tensor of the given shape over <paramref name="source"/>'s values (a reshape without a copy).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor NewView(Tensor source, int[] shape)
    {
        if (_nextTensor == _tensors.Count) _tensors.Add(Tensor.ViewOf(source, shape));
        else _tensors[_nextTensor].ReuseAsViewOf(source, shape);
        return _tensors[_nextTensor++];
    }

    /// <summary>Takes every buffer back; tensors handed out before must no longer be used.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Reset()
    {
        _nextBuffer = 0;
        _nextTensor = 0;
    }
}
