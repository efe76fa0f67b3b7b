using System.Globalization;
using System.Text;
using HelloDl.Imaging;

namespace HelloDl.Data;

/// <summary>An image file and the class it shows.</summary>
public sealed record LabelledFile(string Path, string Label);

/// <summary>A folder or manifest of one's own images that cannot be used; its id is one of <see cref="ImageSetErrorIds"/>.</summary>
public sealed class ImageSetException(string errorId, string path, string problem, Exception? inner = null)
    : FileProblemException(errorId, path, problem, inner);

/// <summary>Stable identifiers of import failures.</summary>
public static class ImageSetErrorIds
{
    public const string FolderMissing = "ImageSetFolderMissing";
    public const string NoClassFolders = "ImageSetNoClassFolders";
    public const string ManifestBadHeader = "ImageSetManifestBadHeader";
    public const string ManifestBadLine = "ImageSetManifestBadLine";
    public const string UnknownLabel = "ImageSetUnknownLabel";
    public const string TooManyClasses = "ImageSetTooManyClasses";
    public const string NoImages = "ImageSetNoImages";
}

/// <summary>
/// Folders named by class: a labelled set laid out as one subfolder per class, and the folder
/// name a label is written under (characters a file system refuses, and '%', as %XX).
/// </summary>
public static class ClassFolders
{
    static readonly char[] Unsafe = [.. Path.GetInvalidFileNameChars(), '/', '\\', ':', '*', '?', '"', '<', '>', '|', '%'];

    /// <summary>Every file below each subfolder of <paramref name="folder"/>, labelled with its class folder's name; hidden files and folders are left out.</summary>
    /// <exception cref="ImageSetException">The folder does not exist or has no subfolders.</exception>
    public static IReadOnlyList<LabelledFile> List(string folder)
    {
        if (!Directory.Exists(folder)) throw new ImageSetException(ImageSetErrorIds.FolderMissing, folder, "no such folder.");
        var classes = new DirectoryInfo(folder).EnumerateDirectories().Where(d => !IsHidden(d)).OrderBy(d => d.Name, StringComparer.Ordinal).ToList();
        if (classes.Count == 0)
            throw new ImageSetException(ImageSetErrorIds.NoClassFolders, folder, "it has no subfolders; put each class's images in a subfolder named by the class (digits/3/a.png), or pass -ManifestPath.");
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System };
        return classes.SelectMany(d => d.EnumerateFiles("*", options).Where(f => !IsHidden(f)).OrderBy(f => f.FullName, StringComparer.Ordinal)
            .Select(f => new LabelledFile(f.FullName, LabelOf(d.Name)))).ToList();
    }

    static bool IsHidden(FileSystemInfo item) => item.Name.StartsWith('.') || item.Attributes.HasFlag(FileAttributes.Hidden);

    /// <summary>The folder name for a class label.</summary>
    public static string FolderName(string label)
    {
        if (label is "." or "..") return string.Concat(label.Select(c => $"%{(int)c:X2}"));
        var name = new StringBuilder();
        foreach (char c in label)
            if (Array.IndexOf(Unsafe, c) >= 0 || char.IsControl(c)) name.Append(CultureInfo.InvariantCulture, $"%{(int)c:X2}");
            else name.Append(c);
        return name.ToString();
    }

    /// <summary>The class label a folder name stands for (the inverse of <see cref="FolderName"/>).</summary>
    public static string LabelOf(string folderName)
    {
        var label = new StringBuilder();
        for (int i = 0; i < folderName.Length; i++)
            if (folderName[i] == '%' && i + 2 < folderName.Length
                && int.TryParse(folderName.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int code))
            {
                label.Append((char)code);
                i += 2;
            }
            else label.Append(folderName[i]);
        return label.ToString();
    }

    /// <summary>Class names in order: numerically when every one is a whole number (2 before 10), otherwise ordinally.</summary>
    public static IReadOnlyList<string> Order(IEnumerable<string> labels)
    {
        var distinct = labels.Distinct(StringComparer.Ordinal).ToList();
        bool numbers = distinct.All(l => long.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out _));
        return numbers
            ? distinct.OrderBy(l => long.Parse(l, CultureInfo.InvariantCulture)).ThenBy(l => l, StringComparer.Ordinal).ToList()
            : distinct.OrderBy(l => l, StringComparer.Ordinal).ToList();
    }
}

/// <summary>
/// A CSV manifest of labelled images: a header with the columns <c>file</c> and <c>label</c> (in
/// any order, among others), one image per line, paths relative to the manifest's folder.
/// Fields may be quoted as RFC 4180 has it ("a, b.png", "say ""x""").
/// </summary>
public static class ImageManifest
{
    /// <summary>The files the manifest lists, and one problem per line that cannot be used.</summary>
    /// <exception cref="ImageSetException">The header lacks the file or label column.</exception>
    public static (IReadOnlyList<LabelledFile> Files, IReadOnlyList<ImageSetException> Problems) Read(string path)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var files = new List<LabelledFile>();
        var problems = new List<ImageSetException>();
        using var records = CsvRecords.Read(reader, lineBreaksInQuotes: false).GetEnumerator();
        var header = records.MoveNext() ? records.Current : null;
        var columns = header?.Fields ?? [];
        int fileColumn = columns.FindIndex(c => c.Trim().Equals("file", StringComparison.OrdinalIgnoreCase));
        int labelColumn = columns.FindIndex(c => c.Trim().Equals("label", StringComparison.OrdinalIgnoreCase));
        if (fileColumn < 0 || labelColumn < 0)
            throw new ImageSetException(ImageSetErrorIds.ManifestBadHeader, path, $"its first line must name the columns 'file' and 'label' (it is '{header?.Text}').");
        while (records.MoveNext())
        {
            var (number, fields, line) = records.Current;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string? file = fields is not null && fileColumn < fields.Count ? fields[fileColumn].Trim() : null;
            string? label = fields is not null && labelColumn < fields.Count ? fields[labelColumn].Trim() : null;
            if (string.IsNullOrEmpty(file) || string.IsNullOrEmpty(label))
            {
                problems.Add(new ImageSetException(ImageSetErrorIds.ManifestBadLine, path, $"line {number} ('{Shorten(line)}') has no file or no label."));
                continue;
            }
            if (file.Contains('\0'))
            {
                problems.Add(new ImageSetException(ImageSetErrorIds.ManifestBadLine, path, $"line {number} names a file with a NUL character, which no path can hold."));
                continue;
            }
            files.Add(new LabelledFile(Path.GetFullPath(Path.Combine(folder, file)), label));
        }
        return (files, problems);
    }

    static string Shorten(string line) => line.Length <= 80 ? line : line[..77] + "...";
}

/// <summary>What became of one file offered to an <see cref="ImageSetBuilder"/>.</summary>
public enum ImportStatus
{
    Added,
    /// <summary>Read, but no ink was found: skipped.</summary>
    Blank,
    /// <summary>Not readable, or its label is not one of the fixed classes.</summary>
    Failed,
}

public sealed record ImportOutcome(LabelledFile File, ImportStatus Status, Exception? Error);

/// <summary>
/// Builds a data set from one's own labelled image files. Each file is read exactly as
/// classification reads it (<see cref="CharacterFiles"/>: decoding, ink finding, the MNIST-style
/// 28x28 crop), so training and classifying see the same input; kept as bytes like MNIST.
/// </summary>
public sealed class ImageSetBuilder(string name, string source, IReadOnlyList<string>? classNames = null)
{
    readonly List<GrayImage> _images = [];
    readonly List<string> _labels = [];
    readonly HashSet<string>? _fixed = classNames?.ToHashSet(StringComparer.Ordinal);

    public int Count => _images.Count;
    public int BlankCount { get; private set; }
    public int FailedCount { get; private set; }

    /// <summary>Reads the files (in parallel) and adds those with ink; one outcome per file, in order.</summary>
    public IReadOnlyList<ImportOutcome> Add(IReadOnlyList<LabelledFile> files)
    {
        var outcomes = new ImportOutcome[files.Count];
        var known = new List<int>();
        for (int i = 0; i < files.Count; i++)
            if (_fixed is null || _fixed.Contains(files[i].Label)) known.Add(i);
            else outcomes[i] = new ImportOutcome(files[i], ImportStatus.Failed, new ImageSetException(ImageSetErrorIds.UnknownLabel, files[i].Path,
                $"its label '{files[i].Label}' is not one of the classes {string.Join(", ", classNames!)}."));
        var read = CharacterFiles.Read(known.Select(i => files[i].Path).ToList());
        for (int k = 0; k < known.Count; k++)
        {
            var file = files[known[k]];
            var (_, image, error) = read[k];
            if (error is not null) outcomes[known[k]] = new ImportOutcome(file, ImportStatus.Failed, error);
            else if (image is null) outcomes[known[k]] = new ImportOutcome(file, ImportStatus.Blank, null);
            else
            {
                _images.Add(image);
                _labels.Add(file.Label);
                outcomes[known[k]] = new ImportOutcome(file, ImportStatus.Added, null);
            }
        }
        BlankCount += outcomes.Count(o => o.Status == ImportStatus.Blank);
        FailedCount += outcomes.Count(o => o.Status == ImportStatus.Failed);
        return outcomes;
    }

    /// <summary>
    /// The data set of the images added so far: classes in the fixed order, or else numerically
    /// or ordinally sorted (<see cref="ClassFolders.Order"/>).
    /// </summary>
    /// <exception cref="ImageSetException">No image was added, or there are more than 256 classes.</exception>
    public ImageDataset Build()
    {
        if (_images.Count == 0)
            throw new ImageSetException(ImageSetErrorIds.NoImages, source,
                $"no image could be imported ({BlankCount} without ink, {FailedCount} unreadable or of unknown classes).");
        var order = classNames ?? ClassFolders.Order(_labels);
        if (order.Count > 256) throw new ImageSetException(ImageSetErrorIds.TooManyClasses, source, $"it has {order.Count} classes; a data set holds at most 256.");
        var index = order.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
        return ImageDataset.FromImages(name, source, order, _images, _labels.Select(l => index[l]).ToList());
    }
}
