using System.Runtime.CompilerServices;
using HelloDl.Imaging;

namespace HelloDl.Data;

/// <summary>
/// A labelled set of same-sized grey images, kept as bytes in MNIST orientation (row-major,
/// upright) so that even EMNIST ByClass (~700,000 images) stays around 550 MB.
/// Immutable once built, so one instance can be shared by many threads.
/// </summary>
public sealed class ImageDataset : Dataset
{
    readonly byte[] _pixels;

    internal ImageDataset(string name, DatasetVariant variant, DatasetSplit split, string source,
        int rows, int columns, byte[] pixels, byte[] labels, string[] classNames) : base(name, split, source, labels, classNames)
    {
        if (pixels.Length != (long)labels.Length * rows * columns)
            throw new ArgumentException("Pixel buffer does not match the number of labels.", nameof(pixels));
        Variant = variant;
        Rows = rows;
        Columns = columns;
        _pixels = pixels;
    }

    public DatasetVariant Variant { get; }
    public int Rows { get; }
    public int Columns { get; }
    public override string ItemNoun => "images";

    /// <summary>The pixels of one image (Rows x Columns bytes, 0 = background).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ReadOnlySpan<byte> GetPixels(int index) => _pixels.AsSpan(CheckIndex(index) * Rows * Columns, Rows * Columns);

    public Sample GetSample(int index) =>
        new(Name, index, GetLabel(index), ClassNames[GetLabel(index)], new GrayImage(Rows, Columns, GetPixels(index).ToArray()));

    public override ImageDataset Select(IReadOnlyList<int> indices, string? name = null)
    {
        int size = Rows * Columns;
        var pixels = new byte[(long)indices.Count * size];
        for (int i = 0; i < indices.Count; i++) GetPixels(indices[i]).CopyTo(pixels.AsSpan(i * size, size));
        return new ImageDataset(name ?? Name, Variant, Split, Source, Rows, Columns, pixels, LabelsOf(indices), ClassNames.ToArray());
    }

    protected override ImageDataset Relabel(string name, byte[] labels, string[] classNames) =>
        new(name, Variant, Split, Source, Rows, Columns, _pixels, labels, classNames);

    /// <summary>Only the images of the named classes, relabelled in the given order (see <see cref="Dataset.WithClasses"/>).</summary>
    public new ImageDataset WithClasses(params string[] classNames) => (ImageDataset)base.WithClasses(classNames);

    /// <summary>
    /// A data set of 28x28 MNIST-style images with class indices into <paramref name="classNames"/>
    /// (at most 256 classes, as labels are bytes).
    /// </summary>
    /// <exception cref="ArgumentException">Images and labels differ in number, an image is not 28x28, a label is outside the classes, or the class names are not distinct.</exception>
    public static ImageDataset FromImages(string name, string source, IReadOnlyList<string> classNames, IReadOnlyList<GrayImage> images, IReadOnlyList<int> labels,
        DatasetSplit split = DatasetSplit.Train)
    {
        const int Side = 28, Size = Side * Side;
        if (images.Count != labels.Count) throw new ArgumentException($"{name}: {images.Count} images but {labels.Count} labels.", nameof(labels));
        var pixels = new byte[(long)images.Count * Size];
        var bytes = new byte[labels.Count];
        for (int i = 0; i < images.Count; i++)
        {
            if (images[i].Rows != Side || images[i].Columns != Side) throw new ArgumentException($"{name}: image {i} is {images[i].Columns}x{images[i].Rows}, not 28x28.", nameof(images));
            if ((uint)labels[i] >= (uint)classNames.Count) throw new ArgumentException($"{name}: label {labels[i]} of image {i} is not a class index.", nameof(labels));
            images[i].Pixels.CopyTo(pixels, (long)i * Size);
            bytes[i] = (byte)labels[i];
        }
        return new ImageDataset(name, DatasetVariant.Custom, split, source, Side, Side, pixels, bytes, classNames.ToArray());
    }

    /// <summary>All images of the given sets in one (see <see cref="Dataset.Join"/>).</summary>
    /// <exception cref="ArgumentException">No sets, sets of different image sizes, or more than 256 classes together.</exception>
    public static ImageDataset Join(IReadOnlyList<ImageDataset> sets, string? name = null) => (ImageDataset)Dataset.Join(sets, name);

    protected override ImageDataset JoinSameKind(IReadOnlyList<Dataset> sets, string name)
    {
        var images = sets.Cast<ImageDataset>().ToList();
        int rows = Rows, columns = Columns, size = rows * columns;
        if (images.FirstOrDefault(s => s.Rows != rows || s.Columns != columns) is { } odd)
            throw new ArgumentException($"{odd.Name} holds {odd.Columns}x{odd.Rows} images, {Name} {columns}x{rows}: only sets of one image size join.", nameof(sets));
        var (classNames, labels) = MergeLabels(sets);
        var pixels = new byte[labels.LongLength * size];
        long next = 0;
        foreach (var set in images)
        {
            set._pixels.CopyTo(pixels, next * size);
            next += set.Count;
        }
        bool sameKind = images.All(s => s.Variant == Variant) && SameClasses(sets, classNames);
        return new ImageDataset(name, sameKind ? Variant : DatasetVariant.Custom, JoinedSplit(sets), JoinedSource(sets), rows, columns, pixels, labels, classNames);
    }
}
