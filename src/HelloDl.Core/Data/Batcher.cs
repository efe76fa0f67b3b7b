using HelloDl.Tensors;

namespace HelloDl.Data;

/// <summary>
/// Cuts a data set into batches: shuffles the order each epoch, and fills one reused input tensor
/// [B, 1, H, W] (normalised floats) and one reused target array per batch, optionally augmented.
/// </summary>
public sealed class Batcher
{
    readonly ImageDataset _data;
    readonly InputNormalization _normalization;
    readonly Augmentation? _augmentation;
    readonly Random _random;
    readonly int[] _order;
    readonly byte[] _scratch;
    readonly Dictionary<int, (Tensor Input, int[] Targets)> _buffers = [];

    public Batcher(ImageDataset data, int batchSize, InputNormalization normalization, Augmentation? augmentation = null, Random? random = null)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize));
        _data = data;
        BatchSize = batchSize;
        _normalization = normalization;
        _augmentation = augmentation;
        _random = random ?? new Random(0);
        _order = Enumerable.Range(0, data.Count).ToArray();
        _scratch = new byte[data.Rows * data.Columns];
    }

    public int BatchSize { get; }
    public int BatchCount => (_data.Count + BatchSize - 1) / BatchSize;

    /// <summary>A new random order for the next epoch (Fisher-Yates, from the batcher's random source).</summary>
    public void Shuffle() => _random.Shuffle(_order);

    /// <summary>The images and class indices of batch <paramref name="index"/>; valid until the next call with the same batch size.</summary>
    public (Tensor Input, int[] Targets) Batch(int index)
    {
        int first = index * BatchSize, count = Math.Min(BatchSize, _data.Count - first);
        if (index < 0 || count <= 0) throw new ArgumentOutOfRangeException(nameof(index));
        if (!_buffers.TryGetValue(count, out var buffers))
            _buffers[count] = buffers = (new Tensor(count, 1, _data.Rows, _data.Columns), new int[count]);
        int size = _data.Rows * _data.Columns;
        var input = buffers.Input.Data;
        for (int i = 0; i < count; i++)
        {
            int item = _order[first + i];
            ReadOnlySpan<byte> pixels = _data.GetPixels(item);
            if (_augmentation is not null)
            {
                _augmentation.Apply(pixels, _scratch, _data.Rows, _data.Columns, _random);
                pixels = _scratch;
            }
            _normalization.Apply(pixels, input.Slice(i * size, size));
            buffers.Targets[i] = _data.GetLabel(item);
        }
        return buffers;
    }
}
