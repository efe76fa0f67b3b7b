using System.Runtime.CompilerServices;
using HelloDl.Kernels;
using HelloDl.Tensors;

namespace HelloDl.Data;

/// <summary>
/// Cuts a data set into batches: shuffles the order each epoch, and fills one reused input tensor
/// [B, ...the encoder's item shape] and one reused target array per batch; images optionally
/// augmented, rarer classes optionally repeated.
/// </summary>
public sealed class Batcher
{
    readonly Dataset _data;
    readonly IInputEncoder _encoder;
    readonly Augmentation? _augmentation;
    readonly Random _random;
    readonly int[] _order;
    readonly int _itemSize;
    readonly byte[] _scratch = [];
    int[] _stepTargets = [];
    readonly Dictionary<int, (Tensor Input, int[] Targets)> _buffers = [];
    // What every batch asks, settled once: the encoder's kind, and the buffers of the last batch's
    // size (every batch but an epoch's last). Casts to an interface and dictionary lookups are calls
    // the runtime recompiles during a first epoch, on the core the run needs.
    readonly ISequenceTargets? _sequence;
    readonly bool _convertsOnThreads;
    (int Count, Tensor Input, int[] Targets) _lastBuffers;
    // The batch the threads are filling (see FillPiece): fields, not a closure, so a batch allocates nothing.
    readonly Action<int> _fillPiece;
    int _fillFirst, _fillCount, _fillPieces;
    (Tensor Input, int[] Targets) _filling;

    /// <summary>
    /// Converting a pixel costs about as much as a dozen of the matrix kernels' multiply-adds
    /// (Zen 3: 0.29 ns against 0.025), the unit in which <see cref="Parallelism"/> weighs work.
    /// </summary>
    const int PixelCost = 12;

    /// <param name="oversample">Repeat each class's items about (largest class count / its count) times in every epoch.</param>
    /// <exception cref="ArgumentException">The encoder does not read the data set's items, or augmentation of items that are not images.</exception>
    public Batcher(Dataset data, int batchSize, IInputEncoder encoder, Augmentation? augmentation = null, Random? random = null, bool oversample = false)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize));
        if (!encoder.Reads(data)) throw new ArgumentException($"{data.Name} holds {data.ItemNoun}; the model reads {encoder.ItemNoun}.", nameof(data));
        if (augmentation is not null)
        {
            if (data is not ImageDataset images || encoder is not ImageInput)
                throw new ArgumentException($"Augmentation distorts images; {data.Name} holds {data.ItemNoun}.", nameof(augmentation));
            _scratch = new byte[images.Rows * images.Columns];
        }
        _data = data;
        _encoder = encoder;
        BatchSize = batchSize;
        _augmentation = augmentation;
        _random = random ?? new Random(0);
        _order = oversample ? Oversampled(data) : Enumerable.Range(0, data.Count).ToArray();
        _itemSize = Tensor.Size(encoder.ItemShape);
        _sequence = encoder as ISequenceTargets;
        _convertsOnThreads = augmentation is null && encoder is ImageInput;
        _fillPiece = FillPiece;
    }

    /// <summary>Every item, a rarer class's repeated (round(largest count / its count) times in all).</summary>
    static int[] Oversampled(Dataset data)
    {
        int largest = data.ClassCounts.Values.Max();
        var repeats = data.ClassNames.Select(c => Math.Max(1, (int)Math.Round((double)largest / Math.Max(1, data.ClassCounts[c])))).ToArray();
        return Enumerable.Range(0, data.Count).SelectMany(i => Enumerable.Repeat(i, repeats[data.GetLabel(i)])).ToArray();
    }

    public int BatchSize { get; }
    public int BatchCount => (_order.Length + BatchSize - 1) / BatchSize;

    /// <summary>A new random order for the next epoch (Fisher-Yates, from the batcher's random source).</summary>
    public void Shuffle() => _random.Shuffle(_order);

    /// <summary>
    /// The inputs and targets of batch <paramref name="index"/>: class indices, or for an encoder
    /// with <see cref="ISequenceTargets"/> each step's target, time-major; valid until the next
    /// call with the same batch size.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public (Tensor Input, int[] Targets) Batch(int index)
    {
        int first = index * BatchSize, count = Math.Min(BatchSize, _order.Length - first);
        if (index < 0 || count <= 0) throw new ArgumentOutOfRangeException(nameof(index));
        var sequence = _sequence;
        int targetsPerItem = sequence?.TargetsPerItem ?? 1;
        (Tensor Input, int[] Targets) buffers;
        if (_lastBuffers.Count == count) buffers = (_lastBuffers.Input, _lastBuffers.Targets);
        else
        {
            if (!_buffers.TryGetValue(count, out buffers))
                _buffers[count] = buffers = (new Tensor([count, .. _encoder.ItemShape]), new int[count * targetsPerItem]);
            _lastBuffers = (count, buffers.Input, buffers.Targets);
        }
        if (_convertsOnThreads)
        {
            // Rows are independent, so the threads share them: converting a batch of 256 on one thread
            // while the other waited was a tenth of the MLP's inference. (Text encoders prepare a data
            // set's documents on first use, which two threads would do twice.)
            (_fillFirst, _fillCount, _fillPieces, _filling) = (first, count, Math.Min(count, Parallelism.MaxThreads), buffers);
            Parallelism.For(_fillPieces, (long)count * _itemSize * PixelCost, _fillPiece);
            _filling = default;
            return buffers;
        }
        var input = buffers.Input.Data;
        for (int i = 0; i < count; i++)
        {
            int item = _order[first + i];
            var row = input.Slice(i * _itemSize, _itemSize);
            if (_augmentation is not null)
            {
                var images = (ImageDataset)_data;
                _augmentation.Apply(images.GetPixels(item), _scratch, images.Rows, images.Columns, _random);
                ((ImageInput)_encoder).WritePixels(_scratch, row);
            }
            else _encoder.Write(_data, item, row);
            if (sequence is null) buffers.Targets[i] = _data.GetLabel(item);
            else
            {
                // Time-major, as a recurrent network stacks its steps' outputs: step t of item i is row t x count + i.
                if (_stepTargets.Length < targetsPerItem) _stepTargets = new int[targetsPerItem];
                var steps = _stepTargets.AsSpan(0, targetsPerItem);
                sequence.WriteTargets(_data, item, steps);
                for (int t = 0; t < targetsPerItem; t++) buffers.Targets[t * count + i] = steps[t];
            }
        }
        return buffers;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void FillPiece(int piece)
    {
        var rows = _filling.Input.Data;
        int start = _fillCount * piece / _fillPieces, end = _fillCount * (piece + 1) / _fillPieces;
        var images = _data as ImageDataset;
        for (int i = start; i < Math.Min(end, start + PrefetchAhead) && images is not null; i++) Prefetch(images.GetPixels(_order[_fillFirst + i]));
        for (int i = start; i < end; i++)
        {
            if (images is not null && i + PrefetchAhead < end) Prefetch(images.GetPixels(_order[_fillFirst + i + PrefetchAhead]));
            int item = _order[_fillFirst + i];
            _encoder.Write(_data, item, rows.Slice(i * _itemSize, _itemSize));
            _filling.Targets[i] = _data.GetLabel(item);
        }
    }

    /// <summary>
    /// Images ahead of the one being converted whose pixels are asked for: a shuffled batch's images
    /// lie anywhere in the data set, and each waited for memory as its conversion began.
    /// </summary>
    const int PrefetchAhead = 2;

    /// <summary>Asks for an image's pixels without waiting for them (<see cref="CacheHints"/>).</summary>
    static unsafe void Prefetch(ReadOnlySpan<byte> pixels)
    {
        fixed (byte* first = pixels) CacheHints.Prefetch(first, pixels.Length);
    }
}
