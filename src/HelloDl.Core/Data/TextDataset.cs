namespace HelloDl.Data;

/// <summary>
/// A labelled set of text documents (messages, lines, files), each kept as read. How a document
/// becomes network input belongs to the model (hashed n-grams, characters), so one set serves
/// every text model. Immutable once built, so one instance can be shared by many threads.
/// </summary>
public sealed class TextDataset : Dataset
{
    readonly string[] _documents;
    readonly string?[] _paths;

    TextDataset(string name, DatasetSplit split, string source, string[] documents, string?[] paths, byte[] labels, string[] classNames)
        : base(name, split, source, labels, classNames)
    {
        if (documents.Length != labels.Length || paths.Length != labels.Length)
            throw new ArgumentException($"{name}: {documents.Length} documents, {paths.Length} paths but {labels.Length} labels.", nameof(labels));
        _documents = documents;
        _paths = paths;
    }

    public override string ItemNoun => "documents";

    /// <summary>The text of one document.</summary>
    public string GetText(int index) => _documents[CheckIndex(index)];

    /// <summary>The file a document was read from (null for a CSV row or a string).</summary>
    public string? GetPath(int index) => _paths[CheckIndex(index)];

    /// <summary>Characters in all documents together.</summary>
    public long CharacterCount => _documents.Sum(d => (long)d.Length);

    /// <summary>A data set of the given documents with class indices into <paramref name="classNames"/>.</summary>
    /// <param name="paths">Where each document came from (null entries for none); null when none came from files.</param>
    /// <exception cref="ArgumentException">Counts that differ, a label outside the classes, or class names that are not 1 to 256 distinct names.</exception>
    public static TextDataset FromDocuments(string name, string source, IReadOnlyList<string> classNames, IReadOnlyList<string> documents, IReadOnlyList<int> labels,
        IReadOnlyList<string?>? paths = null, DatasetSplit split = DatasetSplit.Train)
    {
        if (labels.Any(l => (uint)l >= (uint)classNames.Count)) throw new ArgumentException($"{name}: a label is not a class index.", nameof(labels));
        return new TextDataset(name, split, source, documents.ToArray(), paths?.ToArray() ?? new string?[documents.Count],
            labels.Select(l => (byte)l).ToArray(), classNames.ToArray());
    }

    public override TextDataset Select(IReadOnlyList<int> indices, string? name = null) =>
        new(name ?? Name, Split, Source, indices.Select(GetText).ToArray(), indices.Select(GetPath).ToArray(), LabelsOf(indices), ClassNames.ToArray());

    protected override TextDataset Relabel(string name, byte[] labels, string[] classNames) => new(name, Split, Source, _documents, _paths, labels, classNames);

    protected override TextDataset JoinSameKind(IReadOnlyList<Dataset> sets, string name)
    {
        var texts = sets.Cast<TextDataset>().ToList();
        var (classNames, labels) = MergeLabels(sets);
        return new TextDataset(name, JoinedSplit(sets), JoinedSource(sets), texts.SelectMany(t => t._documents).ToArray(),
            texts.SelectMany(t => t._paths).ToArray(), labels, classNames);
    }
}
