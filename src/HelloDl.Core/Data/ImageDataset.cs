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

    /// <summary>
    /// A data set of 28x28 MNIST-style images with class indices into <paramref name="classNames"/>
    /// (at most 256 classes, as labels are bytes).
    /// </summary>
    /// <exception cref="ArgumentException">Images and labels differ in number, an image is not 28x28, a label is outside the classes, or the class names are not distinct.</exception>
    public static ImageDataset FromImages(string name, string source, IReadOnlyList<string> classNames, IReadOnlyList<GrayImage> images, IReadOnlyList<int> labels,
        DatasetSplit split = DatasetSplit.Train)
    {
        const int Side = 28, Size = Side * Side;
        if (classNames.Count is < 1 or > 256) throw new ArgumentException($"{name}: {classNames.Count} classes; a data set holds 1 to 256.", nameof(classNames));
        if (classNames.Distinct(StringComparer.Ordinal).Count() != classNames.Count) throw new ArgumentException($"{name}: class names must be distinct.", nameof(classNames));
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

    /// <summary>
    /// Two disjoint sets, stratified by class: of each class, a random <paramref name="validationFraction"/>
    /// (rounded, and at least one image where the class has two or more) goes to the validation
    /// set, the rest to the training set; both keep the data set's order.
    /// </summary>
    /// <summary>How many of a class's <paramref name="members"/> <see cref="Partition"/> moves to validation: at least one, never all.</summary>
    static int ValidationShare(int members, double validationFraction) =>
        members < 2 ? 0 : Math.Clamp((int)Math.Round(members * validationFraction), 1, members - 1);

    /// <summary>The number of images <see cref="Partition"/> leaves for training, counted without building the sets.</summary>
    public int TrainingCountAfterPartition(double validationFraction) => Count - ClassCounts.Values.Sum(n => ValidationShare(n, validationFraction));

    public (ImageDataset Training, ImageDataset Validation) Partition(double validationFraction, int seed = 1)
    {
        if (validationFraction is <= 0 or >= 1 || double.IsNaN(validationFraction))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must be between 0 and 1.");
        var random = new Random(seed);
        var toValidation = new bool[Count];
        var byClass = Enumerable.Range(0, Count).ToLookup(i => _labels[i]);
        for (int c = 0; c < _classNames.Length; c++)
        {
            var members = byClass[(byte)c].ToArray();
            random.Shuffle(members);
            int take = ValidationShare(members.Length, validationFraction);
            foreach (int i in members.AsSpan(0, take)) toValidation[i] = true;
        }
        var training = Select(Enumerable.Range(0, Count).Where(i => !toValidation[i]).ToArray(), $"{Name}-training");
        var validation = Select(Enumerable.Range(0, Count).Where(i => toValidation[i]).ToArray(), $"{Name}-validation");
        return (training, validation);
    }

    /// <summary>
    /// All images of the given sets in one, classes merged by name: the first set's classes in its
    /// order, then each class new to a later set in that set's order (MNIST joined with one's own
    /// digits keeps MNIST's ten classes).
    /// </summary>
    /// <exception cref="ArgumentException">No sets, sets of different image sizes, or more than 256 classes together.</exception>
    public static ImageDataset Join(IReadOnlyList<ImageDataset> sets, string? name = null)
    {
        if (sets.Count == 0) throw new ArgumentException("Nothing to join.", nameof(sets));
        int rows = sets[0].Rows, columns = sets[0].Columns, size = rows * columns;
        if (sets.FirstOrDefault(s => s.Rows != rows || s.Columns != columns) is { } odd)
            throw new ArgumentException($"{odd.Name} holds {odd.Columns}x{odd.Rows} images, {sets[0].Name} {columns}x{rows}: only sets of one image size join.", nameof(sets));
        var classNames = new List<string>();
        foreach (var set in sets)
            foreach (var className in set._classNames)
                if (!classNames.Contains(className)) classNames.Add(className);
        if (classNames.Count > 256) throw new ArgumentException($"Together the sets have {classNames.Count} classes; a data set holds at most 256.", nameof(sets));
        long total = sets.Sum(s => (long)s.Count);
        var pixels = new byte[total * size];
        var labels = new byte[total];
        long next = 0;
        foreach (var set in sets)
        {
            var newIndex = set._classNames.Select(c => (byte)classNames.IndexOf(c)).ToArray();
            set._pixels.CopyTo(pixels, next * size);
            for (int i = 0; i < set.Count; i++) labels[next + i] = newIndex[set._labels[i]];
            next += set.Count;
        }
        bool sameKind = sets.All(s => s.Variant == sets[0].Variant && s._classNames.SequenceEqual(classNames));
        return new ImageDataset(name ?? string.Join("+", sets.Select(s => s.Name)), sameKind ? sets[0].Variant : DatasetVariant.Custom,
            sets.All(s => s.Split == sets[0].Split) ? sets[0].Split : DatasetSplit.Train, string.Join("; ", sets.Select(s => s.Source).Distinct()),
            rows, columns, pixels, labels, classNames.ToArray());
    }

    int CheckIndex(int index) =>
        (uint)index < (uint)_labels.Length ? index
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"{Name} has {Count} images (indices 0..{Count - 1}).");

    public override string ToString() => $"{Name} ({Count:N0} images, {_classNames.Length} classes)";
}
