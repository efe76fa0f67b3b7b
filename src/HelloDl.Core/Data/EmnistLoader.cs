using System.Text.RegularExpressions;

namespace HelloDl.Data;

/// <summary>
/// Loads MNIST and every EMNIST split from the files people actually have: a folder, NIST's
/// gzip.zip (read in place), or one images file with its labels file beside it; gzipped or raw.
/// </summary>
public static partial class EmnistLoader
{
    // MNIST: train-images-idx3-ubyte, t10k-images.idx3-ubyte; EMNIST: emnist-letters-test-images-idx3-ubyte.gz
    [GeneratedRegex(@"^(?:emnist-(?<variant>mnist|digits|letters|balanced|byclass|bymerge)-)?(?<split>train|test|t10k)-images[-.]idx3-ubyte(?:\.gz)?$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ImagesFileName();

    /// <summary>Loads one data set.</summary>
    /// <param name="path">A folder, a .zip archive, or an images file.</param>
    /// <param name="variant">Which variant; inferred from file names when null.</param>
    /// <param name="split">Which split; inferred from the file name, else Train, when null.</param>
    public static ImageDataset Load(string path, DatasetVariant? variant = null, DatasetSplit? split = null)
    {
        if (Directory.Exists(path))
        {
            using var folder = IdxFileSet.ForFolder(path, includeSubfolders: true);
            return LoadFrom(folder, ChooseImagesFile(folder, path, variant, split), variant, split);
        }
        if (!File.Exists(path))
            throw new DatasetFormatException(DatasetErrorIds.ImagesFileMissing, path, "no such file or folder.");
        if (IsZip(path))
        {
            using var zip = IdxFileSet.ForZip(path);
            return LoadFrom(zip, ChooseImagesFile(zip, path, variant, split), variant, split);
        }
        using var beside = IdxFileSet.ForFolder(Path.GetDirectoryName(Path.GetFullPath(path))!, includeSubfolders: false);
        return LoadFrom(beside, Path.GetFileName(path), variant, split);
    }

    static ImageDataset LoadFrom(IdxFileSet files, string imagesName, DatasetVariant? variant, DatasetSplit? split)
    {
        var (namedVariant, namedSplit) = ParseName(imagesName);
        var chosenVariant = variant ?? namedVariant ?? DatasetVariant.Mnist;
        var chosenSplit = split ?? namedSplit ?? DatasetSplit.Train;

        IdxImages images;
        string imagesPath;
        using (var entry = files.Open(imagesName))
        {
            imagesPath = entry.DisplayPath;
            images = IdxReader.ReadImages(entry.Stream, entry.DisplayPath, entry.Length);
        }

        string? labelsName = LabelsNameFor(imagesName);
        string? labelsFound = labelsName is null ? null : files.Names.FirstOrDefault(n => StripGz(n).Equals(labelsName, StringComparison.OrdinalIgnoreCase));
        if (labelsFound is null)
            throw new DatasetFormatException(DatasetErrorIds.LabelsFileMissing, imagesPath,
                $"no labels file beside it in {files.Describe} (looked for '{labelsName ?? "a name with 'labels-idx1' in place of 'images-idx3'"}', raw or .gz).");
        byte[] labels;
        string labelsPath;
        using (var entry = files.Open(labelsFound))
        {
            labelsPath = entry.DisplayPath;
            labels = IdxReader.ReadLabels(entry.Stream, entry.DisplayPath, entry.Length);
        }
        if (labels.Length != images.Count)
            throw new DatasetFormatException(DatasetErrorIds.CountMismatch, labelsPath,
                $"holds {labels.Length:N0} labels but {imagesPath} holds {images.Count:N0} images.");

        var classNames = ReadClassNames(files, chosenVariant);
        ToClassIndices(labels, labelsPath, chosenVariant, classNames.Length);

        bool transposed = chosenVariant != DatasetVariant.Mnist;
        var pixels = transposed ? Transpose(images) : images.Pixels;
        int rows = transposed ? images.Columns : images.Rows, columns = transposed ? images.Rows : images.Columns;
        return new ImageDataset(DatasetName(chosenVariant, chosenSplit), chosenVariant, chosenSplit, imagesPath,
            rows, columns, pixels, labels, classNames);
    }

    public static string DatasetName(DatasetVariant variant, DatasetSplit split) =>
        $"{(variant == DatasetVariant.Mnist ? "mnist" : "emnist-" + VariantFileWord(variant))}-{split.ToString().ToLowerInvariant()}";

    /// <summary>The word NIST's file names use for a variant ('mnist' for EmnistMnist).</summary>
    public static string VariantFileWord(DatasetVariant variant) =>
        variant == DatasetVariant.EmnistMnist ? "mnist" : variant.ToString().ToLowerInvariant();

    static string ChooseImagesFile(IdxFileSet files, string path, DatasetVariant? variant, DatasetSplit? split)
    {
        var candidates = files.Names
            .Select(n => (name: n, parsed: ParseName(n)))
            .Where(c => c.parsed.variant is not null)
            .Select(c => (c.name, variant: c.parsed.variant!.Value, split: c.parsed.split!.Value))
            .Where(c => (variant is null || c.variant == variant) && (split is null || c.split == split))
            .ToList();
        if (candidates.Count == 0)
            throw new DatasetFormatException(DatasetErrorIds.ImagesFileMissing, path,
                $"no {(variant is null ? "" : variant + " ")}{(split is null ? "" : split + " ")}images file (such as 'train-images-idx3-ubyte' or 'emnist-letters-train-images-idx3-ubyte.gz') in {files.Describe}.");
        var variants = candidates.Select(c => c.variant).Distinct().ToList();
        if (variants.Count > 1)
            throw new DatasetFormatException(DatasetErrorIds.AmbiguousVariant, path,
                $"holds several variants ({string.Join(", ", variants.Order())}); choose one with -Variant.");
        // Train unless asked otherwise; among equal names prefer the raw file over its .gz twin.
        return candidates.OrderBy(c => c.split).ThenBy(c => c.name.Length).First().name;
    }

    static (DatasetVariant? variant, DatasetSplit? split) ParseName(string fileName)
    {
        var match = ImagesFileName().Match(fileName);
        if (!match.Success) return (null, null);
        DatasetVariant variant = match.Groups["variant"].Success
            ? match.Groups["variant"].Value.ToLowerInvariant() switch
            {
                "mnist" => DatasetVariant.EmnistMnist,
                var word => Enum.Parse<DatasetVariant>(word, ignoreCase: true),
            }
            : DatasetVariant.Mnist;
        var split = match.Groups["split"].Value.Equals("train", StringComparison.OrdinalIgnoreCase) ? DatasetSplit.Train : DatasetSplit.Test;
        return (variant, split);
    }

    static string? LabelsNameFor(string imagesName)
    {
        string name = StripGz(imagesName);
        int at = name.IndexOf("images", StringComparison.OrdinalIgnoreCase);
        if (at < 0) return null;
        return (name[..at] + "labels" + name[(at + 6)..]).Replace("idx3", "idx1", StringComparison.OrdinalIgnoreCase);
    }

    static string StripGz(string name) => name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? name[..^3] : name;

    static string[] ReadClassNames(IdxFileSet files, DatasetVariant variant)
    {
        // Letters' mapping lists upper and lower case for one label; the built-in table says the same.
        if (variant is DatasetVariant.Mnist or DatasetVariant.Letters) return ClassTables.BuiltIn(variant);
        string mappingName = $"emnist-{VariantFileWord(variant)}-mapping.txt";
        if (!files.Names.Contains(mappingName, StringComparer.OrdinalIgnoreCase)) return ClassTables.BuiltIn(variant);
        using var entry = files.Open(files.Names.First(n => n.Equals(mappingName, StringComparison.OrdinalIgnoreCase)));
        using var reader = new StreamReader(entry.Stream);
        return ClassTables.ParseMapping(reader, entry.DisplayPath, variant);
    }

    /// <summary>Turns file labels into 0-based class indices in place, checking every one.</summary>
    static void ToClassIndices(byte[] labels, string path, DatasetVariant variant, int classCount)
    {
        int first = ClassTables.FirstLabel(variant);
        for (int i = 0; i < labels.Length; i++)
        {
            int index = labels[i] - first;
            if ((uint)index >= (uint)classCount)
                throw new DatasetFormatException(DatasetErrorIds.LabelOutOfRange, path,
                    $"label {labels[i]} of item {i} is outside the {classCount} classes of {variant} (labels {first}..{first + classCount - 1}).");
            labels[i] = (byte)index;
        }
    }

    /// <summary>EMNIST stores each image column-major (transposed against MNIST); make it upright.</summary>
    static byte[] Transpose(IdxImages images)
    {
        int rows = images.Rows, columns = images.Columns, size = rows * columns;
        var upright = new byte[images.Pixels.Length];
        Parallel.For(0, images.Count, n =>
        {
            var source = images.Pixels.AsSpan(n * size, size);
            var target = upright.AsSpan(n * size, size);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < columns; c++)
                    target[c * rows + r] = source[r * columns + c];
        });
        return upright;
    }

    static bool IsZip(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using var file = File.OpenRead(path);
        return file.Read(magic) == 4 && magic[0] == (byte)'P' && magic[1] == (byte)'K' && magic[2] == 3 && magic[3] == 4;
    }
}
