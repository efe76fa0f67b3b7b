using System.Runtime.CompilerServices;
namespace HelloDl.Data;

/// <summary>
/// A labelled data set of any kind (images, text): what training, evaluation, calibration and
/// the log need of it. The items themselves, and how they are copied, belong to the kind; the
/// labels and everything done with them (subsets, class selection, stratified partition, class
/// merging on join) live here once. Immutable once built, so one instance can be shared by
/// many threads.
/// </summary>
public abstract class Dataset
{
    readonly byte[] _labels;
    readonly string[] _classNames;
    IReadOnlyDictionary<string, int>? _classCounts;

    /// <exception cref="ArgumentException">A label outside the classes, or class names that are not 1 to 256 distinct names.</exception>
    protected Dataset(string name, DatasetSplit split, string source, byte[] labels, string[] classNames)
    {
        if (classNames.Length is < 1 or > 256) throw new ArgumentException($"{name}: {classNames.Length} classes; a data set holds 1 to 256.", nameof(classNames));
        if (classNames.Distinct(StringComparer.Ordinal).Count() != classNames.Length) throw new ArgumentException($"{name}: class names must be distinct.", nameof(classNames));
        int bad = Array.FindIndex(labels, l => l >= classNames.Length);
        if (bad >= 0) throw new ArgumentException($"{name}: label {labels[bad]} of item {bad} is not a class index.", nameof(labels));
        Name = name;
        Split = split;
        Source = source;
        _labels = labels;
        _classNames = classNames;
    }

    /// <summary>e.g. 'mnist-train', 'emnist-letters-test' or 'mail'.</summary>
    public string Name { get; }
    public DatasetSplit Split { get; }
    /// <summary>The file or folder it was read from.</summary>
    public string Source { get; }
    public int Count => _labels.Length;
    public IReadOnlyList<string> ClassNames => _classNames;

    /// <summary>What one item is called in messages: 'images', 'documents'.</summary>
    public abstract string ItemNoun { get; }

    /// <summary>Number of items per class name, in class order.</summary>
    public IReadOnlyDictionary<string, int> ClassCounts => _classCounts ??= CountClasses();

    IReadOnlyDictionary<string, int> CountClasses()
    {
        var counts = new int[_classNames.Length];
        foreach (byte label in _labels) counts[label]++;
        return _classNames.Select((n, i) => (n, counts[i])).ToDictionary(p => p.n, p => p.Item2);
    }

    /// <summary>The class index (0-based, into ClassNames) of one item.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int GetLabel(int index) => _labels[CheckIndex(index)];

    /// <summary>A new data set holding the given items, in the given order (e.g. a subset for a quick run).</summary>
    public abstract Dataset Select(IReadOnlyList<int> indices, string? name = null);

    /// <summary>The same items under other labels and class names (labels parallel to the items).</summary>
    protected abstract Dataset Relabel(string name, byte[] labels, string[] classNames);

    /// <summary>The labels of the given items, in that order.</summary>
    protected byte[] LabelsOf(IReadOnlyList<int> indices)
    {
        var labels = new byte[indices.Count];
        for (int i = 0; i < indices.Count; i++) labels[i] = _labels[CheckIndex(indices[i])];
        return labels;
    }

    /// <summary>
    /// Only the items of the named classes, relabelled in the given order (e.g. "3", "7" for
    /// hello-dl's 3-vs-7 classifier: 3 becomes class 0, 7 class 1).
    /// </summary>
    /// <exception cref="ArgumentException">A class the set does not have, or one named twice.</exception>
    public Dataset WithClasses(params string[] classNames)
    {
        var newIndex = new Dictionary<int, byte>();
        for (int i = 0; i < classNames.Length; i++)
        {
            int old = Array.IndexOf(_classNames, classNames[i]);
            if (old < 0) throw new ArgumentException($"{Name} has no class '{classNames[i]}'.", nameof(classNames));
            if (!newIndex.TryAdd(old, (byte)i)) throw new ArgumentException($"Class '{classNames[i]}' is named twice.", nameof(classNames));
        }
        var kept = Enumerable.Range(0, Count).Where(i => newIndex.ContainsKey(_labels[i])).ToArray();
        var labels = kept.Select(i => newIndex[_labels[i]]).ToArray();
        return Select(kept).Relabel($"{Name}-{string.Join("", classNames)}", labels, classNames.ToArray());
    }

    /// <summary>How many of a class's <paramref name="members"/> <see cref="Partition"/> moves to validation: at least one, never all.</summary>
    static int ValidationShare(int members, double validationFraction) =>
        members < 2 ? 0 : Math.Clamp((int)Math.Round(members * validationFraction), 1, members - 1);

    /// <summary>The number of items <see cref="Partition"/> leaves for training, counted without building the sets.</summary>
    public int TrainingCountAfterPartition(double validationFraction) => Count - ClassCounts.Values.Sum(n => ValidationShare(n, validationFraction));

    /// <summary>
    /// Two disjoint sets, stratified by class: of each class, a random <paramref name="validationFraction"/>
    /// (rounded, and at least one item where the class has two or more) goes to the validation
    /// set, the rest to the training set; both keep the data set's order.
    /// </summary>
    public (Dataset Training, Dataset Validation) Partition(double validationFraction, int seed = 1)
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
    /// All items of the given sets in one, classes merged by name: the first set's classes in its
    /// order, then each class new to a later set in that set's order (MNIST joined with one's own
    /// digits keeps MNIST's ten classes). Sets of one kind only.
    /// </summary>
    /// <exception cref="ArgumentException">No sets, sets of different kinds or image sizes, or more than 256 classes together.</exception>
    public static Dataset Join(IReadOnlyList<Dataset> sets, string? name = null)
    {
        if (sets.Count == 0) throw new ArgumentException("Nothing to join.", nameof(sets));
        if (sets.FirstOrDefault(s => s.GetType() != sets[0].GetType()) is { } other)
            throw new ArgumentException($"{other.Name} holds {other.ItemNoun}, {sets[0].Name} {sets[0].ItemNoun}: only sets of one kind join.", nameof(sets));
        return sets[0].JoinSameKind(sets, name ?? string.Join("+", sets.Select(s => s.Name)));
    }

    /// <summary>Joins sets all of this one's type (see <see cref="Join"/>); <see cref="MergeLabels"/> does the classes.</summary>
    protected abstract Dataset JoinSameKind(IReadOnlyList<Dataset> sets, string name);

    /// <summary>The joined class list and every item's label in it, sets one after another.</summary>
    /// <exception cref="ArgumentException">More than 256 classes together.</exception>
    protected static (string[] ClassNames, byte[] Labels) MergeLabels(IReadOnlyList<Dataset> sets)
    {
        var classNames = new List<string>();
        foreach (var set in sets)
            foreach (var className in set._classNames)
                if (!classNames.Contains(className)) classNames.Add(className);
        if (classNames.Count > 256) throw new ArgumentException($"Together the sets have {classNames.Count} classes; a data set holds at most 256.", nameof(sets));
        var labels = new byte[sets.Sum(s => (long)s.Count)];
        long next = 0;
        foreach (var set in sets)
        {
            var newIndex = set._classNames.Select(c => (byte)classNames.IndexOf(c)).ToArray();
            for (int i = 0; i < set.Count; i++) labels[next + i] = newIndex[set._labels[i]];
            next += set.Count;
        }
        return (classNames.ToArray(), labels);
    }

    /// <summary>Whether all sets have the same classes in the same order as the join's.</summary>
    protected static bool SameClasses(IReadOnlyList<Dataset> sets, string[] classNames) => sets.All(s => s._classNames.SequenceEqual(classNames));

    /// <summary>The split of joined sets: theirs if they agree, Train otherwise.</summary>
    protected static DatasetSplit JoinedSplit(IReadOnlyList<Dataset> sets) => sets.All(s => s.Split == sets[0].Split) ? sets[0].Split : DatasetSplit.Train;

    /// <summary>The sources of joined sets, each once.</summary>
    protected static string JoinedSource(IReadOnlyList<Dataset> sets) => string.Join("; ", sets.Select(s => s.Source).Distinct());

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected int CheckIndex(int index) =>
        (uint)index < (uint)_labels.Length ? index
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"{Name} has {Count} {ItemNoun} (indices 0..{Count - 1}).");

    public override string ToString() => $"{Name} ({Count:N0} {ItemNoun}, {_classNames.Length} classes)";
}
