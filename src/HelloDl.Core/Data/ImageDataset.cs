using HelloDl.Imaging;

namespace HelloDl.Data;

/// <summary>
/// A labelled set of same-sized grey images, kept as bytes in MNIST orientation (row-major,
/// upright) so that even EMNIST ByClass (~700,000 images) stays around 550 MB.
/// Immutable once built, so one instance can be shared by many threads.
/// </summary>
public sealed class ImageDataset
{
    readonly byte[] _pixels;
    readonly byte[] _labels;
    readonly string[] _classNames;

    internal ImageDataset(string name, DatasetVariant variant, DatasetSplit split, string source,
        int rows, int columns, byte[] pixels, byte[] labels, string[] classNames)
    {
        if (pixels.Length != (long)labels.Length * rows * columns)
            throw new ArgumentException("Pixel buffer does not match the number of labels.", nameof(pixels));
        Name = name;
        Variant = variant;
        Split = split;
        Source = source;
        Rows = rows;
        Columns = columns;
        _pixels = pixels;
        _labels = labels;
        _classNames = classNames;
        var counts = new int[classNames.Length];
        foreach (byte label in labels) counts[label]++;
        ClassCounts = classNames.Select((n, i) => (n, counts[i])).ToDictionary(p => p.n, p => p.Item2);
    }

    /// <summary>e.g. 'mnist-train' or 'emnist-letters-test'.</summary>
    public string Name { get; }
    public DatasetVariant Variant { get; }
    public DatasetSplit Split { get; }
    /// <summary>The images file it was read from.</summary>
    public string Source { get; }
    public int Count => _labels.Length;
    public int Rows { get; }
    public int Columns { get; }
    public IReadOnlyList<string> ClassNames => _classNames;
    /// <summary>Number of images per class name, in class order.</summary>
    public IReadOnlyDictionary<string, int> ClassCounts { get; }

    /// <summary>The pixels of one image (Rows x Columns bytes, 0 = background).</summary>
    public ReadOnlySpan<byte> GetPixels(int index) => _pixels.AsSpan(CheckIndex(index) * Rows * Columns, Rows * Columns);

    /// <summary>The class index (0-based, into ClassNames) of one image.</summary>
    public int GetLabel(int index) => _labels[CheckIndex(index)];

    public Sample GetSample(int index) =>
        new(Name, index, GetLabel(index), _classNames[GetLabel(index)], new GrayImage(Rows, Columns, GetPixels(index).ToArray()));

    /// <summary>A new data set holding the given images, in the given order (e.g. a subset for a quick run).</summary>
    public ImageDataset Select(IReadOnlyList<int> indices, string? name = null)
    {
        int size = Rows * Columns;
        var pixels = new byte[(long)indices.Count * size];
        var labels = new byte[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            GetPixels(indices[i]).CopyTo(pixels.AsSpan(i * size, size));
            labels[i] = _labels[indices[i]];
        }
        return new ImageDataset(name ?? Name, Variant, Split, Source, Rows, Columns, pixels, labels, _classNames);
    }

    /// <summary>
    /// Only the images of the named classes, relabelled in the given order (e.g. "3", "7" for
    /// hello-dl's 3-vs-7 classifier: 3 becomes class 0, 7 class 1).
    /// </summary>
    public ImageDataset WithClasses(params string[] classNames)
    {
        var newIndex = new Dictionary<int, byte>();
        for (int i = 0; i < classNames.Length; i++)
        {
            int old = Array.IndexOf(_classNames, classNames[i]);
            if (old < 0) throw new ArgumentException($"{Name} has no class '{classNames[i]}'.", nameof(classNames));
            if (!newIndex.TryAdd(old, (byte)i)) throw new ArgumentException($"Class '{classNames[i]}' is named twice.", nameof(classNames));
        }
        var kept = Enumerable.Range(0, Count).Where(i => newIndex.ContainsKey(_labels[i])).ToArray();
        var subset = Select(kept);
        var labels = subset._labels;
        for (int i = 0; i < labels.Length; i++) labels[i] = newIndex[labels[i]];
        return new ImageDataset($"{Name}-{string.Join("", classNames)}", Variant, Split, Source, Rows, Columns, subset._pixels, labels, classNames.ToArray());
    }

    int CheckIndex(int index) =>
        (uint)index < (uint)_labels.Length ? index
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"{Name} has {Count} images (indices 0..{Count - 1}).");

    public override string ToString() => $"{Name} ({Count:N0} images, {_classNames.Length} classes)";
}
