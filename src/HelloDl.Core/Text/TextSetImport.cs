using System.Text;
using HelloDl.Data;

namespace HelloDl.Text;

/// <summary>A document to import and its class; Path is null for a CSV row.</summary>
public sealed record LabelledDocument(string Text, string Label, string? Path);

/// <summary>A text file or CSV that cannot be used; its id is one of <see cref="TextSetErrorIds"/>.</summary>
public sealed class TextSetException(string errorId, string path, string problem, Exception? inner = null)
    : FileProblemException(errorId, path, problem, inner);

public static class TextSetErrorIds
{
    public const string FileTooLarge = "TextFileTooLarge";
    public const string FileBinary = "TextFileBinary";
    public const string CsvBadHeader = "TextSetCsvBadHeader";
    public const string CsvBadRecord = "TextSetCsvBadRecord";
    public const string UnknownLabel = "TextSetUnknownLabel";
    public const string TooManyClasses = "TextSetTooManyClasses";
    public const string NoDocuments = "TextSetNoDocuments";
    public const string NoClassFolders = "TextSetNoClassFolders";
}

/// <summary>
/// Text files read with bounds: at most a given size (a mail with a large attachment, a log
/// file by mistake), and refused when they are binary (a NUL byte, or many control bytes: an
/// image, an archive). UTF-8 where the bytes are UTF-8 (a BOM also says UTF-16), else Latin-1,
/// which old mail mostly is and which maps every byte to a character.
/// </summary>
public static class TextFiles
{
    /// <summary>The default largest file read: 4 MiB, far beyond a message's text.</summary>
    public const long DefaultMaximumBytes = 4 << 20;

    /// <summary>Control bytes beyond this share of the first 8 KB (other than tab, line breaks, form feed, escape) mark a binary file.</summary>
    const double BinaryControlShare = 0.05;

    /// <exception cref="TextSetException">Too large, or binary.</exception>
    /// <exception cref="IOException">It cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">It may not be read.</exception>
    public static string Read(string path, long maximumBytes = DefaultMaximumBytes)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        if (file.Length > maximumBytes)
            throw new TextSetException(TextSetErrorIds.FileTooLarge, path, $"it is {file.Length:N0} bytes; documents are read up to {maximumBytes:N0} (-MaximumFileSize).");
        var bytes = new byte[file.Length];
        file.ReadExactly(bytes);
        return Decode(bytes, path);
    }

    /// <exception cref="TextSetException">The bytes are binary.</exception>
    public static string Decode(ReadOnlySpan<byte> bytes, string path)
    {
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE])) return Encoding.Unicode.GetString(bytes[2..]);
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF])) return Encoding.BigEndianUnicode.GetString(bytes[2..]);
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) bytes = bytes[3..];
        var head = bytes[..Math.Min(bytes.Length, 8192)];
        int controls = 0;
        foreach (byte b in head)
        {
            if (b == 0) throw new TextSetException(TextSetErrorIds.FileBinary, path, "it holds NUL bytes: a binary file, not text.");
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0C or 0x1B)) controls++;
        }
        if (controls > head.Length * BinaryControlShare)
            throw new TextSetException(TextSetErrorIds.FileBinary, path, $"{controls} of its first {head.Length} bytes are control codes: a binary file, not text.");
        try { return Strict.GetString(bytes); }
        catch (DecoderFallbackException) { return Encoding.Latin1.GetString(bytes); }
    }

    static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}

/// <summary>A CSV of documents: a header naming the columns, one document per record (quoted fields may span lines).</summary>
public static class TextCsv
{
    /// <summary>The documents of the CSV, labelled by the label column or by <paramref name="label"/>, and one problem per record that cannot be used.</summary>
    /// <param name="labelColumn">The column holding each document's class; null when <paramref name="label"/> names it for all.</param>
    /// <exception cref="TextSetException">The header lacks a column named; the file is too large.</exception>
    public static (IReadOnlyList<LabelledDocument> Documents, IReadOnlyList<TextSetException> Problems) Read(string path, string textColumn, string? labelColumn, string? label,
        long maximumBytes = TextFiles.DefaultMaximumBytes * 64)
    {
        using var reader = new StringReader(TextFiles.Read(path, maximumBytes));
        using var records = CsvRecords.Read(reader, lineBreaksInQuotes: true).GetEnumerator();
        var header = records.MoveNext() ? records.Current.Fields ?? [] : [];
        int Column(string name) => header.FindIndex(c => c.Trim().Equals(name, StringComparison.OrdinalIgnoreCase)) is int index and >= 0 ? index
            : throw new TextSetException(TextSetErrorIds.CsvBadHeader, path, $"its first line has no column '{name}' (it has {string.Join(", ", header.Select(h => $"'{h}'"))}).");
        int text = Column(textColumn), labels = labelColumn is null ? -1 : Column(labelColumn);
        var documents = new List<LabelledDocument>();
        var problems = new List<TextSetException>();
        while (records.MoveNext())
        {
            var (line, fields, raw) = records.Current;
            if (string.IsNullOrWhiteSpace(raw)) continue;
            string? document = fields is not null && text < fields.Count ? fields[text] : null;
            string? className = labels < 0 ? label : fields is not null && labels < fields.Count ? fields[labels].Trim() : null;
            if (document is null || string.IsNullOrEmpty(className))
            {
                problems.Add(new TextSetException(TextSetErrorIds.CsvBadRecord, path,
                    fields is null ? $"the record of line {line} opens a quote that never closes." : $"the record of line {line} has no {(document is null ? "text" : "label")}."));
                continue;
            }
            documents.Add(new LabelledDocument(document, className, null));
        }
        return (documents, problems);
    }
}

/// <summary>Collects labelled documents into a <see cref="TextDataset"/>, refusing labels outside fixed classes.</summary>
public sealed class TextSetBuilder(string name, string source, IReadOnlyList<string>? classNames = null)
{
    readonly List<LabelledDocument> _documents = [];
    readonly HashSet<string>? _fixed = classNames?.ToHashSet(StringComparer.Ordinal);

    /// <exception cref="TextSetException">The label is not one of the fixed classes.</exception>
    public void Add(LabelledDocument document)
    {
        if (_fixed is not null && !_fixed.Contains(document.Label))
            throw new TextSetException(TextSetErrorIds.UnknownLabel, document.Path ?? source, $"its label '{document.Label}' is not one of the classes {string.Join(", ", classNames!)}.");
        _documents.Add(document);
    }

    /// <summary>The data set of the documents added so far: classes in the fixed order, or else sorted (<see cref="ClassFolders.Order"/>).</summary>
    /// <exception cref="TextSetException">No document was added, or there are more than 256 classes.</exception>
    public TextDataset Build()
    {
        if (_documents.Count == 0) throw new TextSetException(TextSetErrorIds.NoDocuments, source, "no document could be imported.");
        var order = classNames ?? ClassFolders.Order(_documents.Select(d => d.Label));
        if (order.Count > 256) throw new TextSetException(TextSetErrorIds.TooManyClasses, source, $"it has {order.Count} classes; a data set holds at most 256.");
        var index = order.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        return TextDataset.FromDocuments(name, source, order, _documents.Select(d => d.Text).ToList(), _documents.Select(d => index[d.Label]).ToList(),
            _documents.Select(d => d.Path).ToList());
    }
}
