using System.Buffers.Binary;
using System.IO.Compression;

namespace HelloDl.Data;

/// <summary>
/// Writes a data set back out as IDX files, in MNIST layout or in EMNIST's transposed layout and
/// label numbering; a name ending in .gz is gzipped. Used to make EMNIST-format test material
/// from MNIST and to hand subsets to other tools.
/// </summary>
public static class IdxWriter
{
    /// <summary>
    /// Writes the data set into <paramref name="folder"/> (created if missing) under the names
    /// Import-EmnistSet and NIST use: MNIST's train-/t10k-images-idx3-ubyte, or
    /// emnist-{variant}-{train|test}-images-idx3-ubyte with the variant's mapping file; gzipped
    /// (.gz) when <paramref name="compress"/>. Returns the files written.
    /// </summary>
    /// <exception cref="ArgumentException">The data set has more classes than the variant's labels can hold.</exception>
    public static IReadOnlyList<string> WriteFolder(ImageDataset dataset, string folder, DatasetVariant variant, bool compress = false)
    {
        // One's own classes are written as ByClass files, whose mapping file carries the names.
        if (variant == DatasetVariant.Custom) variant = DatasetVariant.ByClass;
        if (variant != DatasetVariant.Mnist) CheckMappable(dataset);   // before any file is written
        string split = dataset.Split == DatasetSplit.Train ? "train" : variant == DatasetVariant.Mnist ? "t10k" : "test";
        string prefix = variant == DatasetVariant.Mnist ? split : $"emnist-{EmnistLoader.VariantFileWord(variant)}-{split}";
        string extension = compress ? ".gz" : "";
        string images = Path.Combine(folder, $"{prefix}-images-idx3-ubyte{extension}");
        string labels = Path.Combine(folder, $"{prefix}-labels-idx1-ubyte{extension}");
        Directory.CreateDirectory(folder);
        Write(dataset, images, labels, variant);
        if (variant == DatasetVariant.Mnist) return [images, labels];
        string mapping = Path.Combine(folder, $"emnist-{EmnistLoader.VariantFileWord(variant)}-mapping.txt");
        WriteMapping(dataset, mapping, variant);
        return [images, labels, mapping];
    }

    /// <summary>Writes images and labels as <paramref name="variant"/> stores them: MNIST upright, EMNIST transposed (Letters from label 1).</summary>
    public static void Write(ImageDataset dataset, string imagesPath, string labelsPath, DatasetVariant variant)
    {
        bool emnistLayout = variant != DatasetVariant.Mnist;
        if (dataset.ClassNames.Count > 256 - ClassTables.FirstLabel(variant))
            throw new ArgumentException($"{dataset.Name} has too many classes for byte labels.");
        int rows = dataset.Rows, columns = dataset.Columns, size = rows * columns;
        using (var images = OpenForWrite(imagesPath))
        {
            WriteHeader(images, 3, dataset.Count, emnistLayout ? columns : rows, emnistLayout ? rows : columns);
            var stored = new byte[size];
            for (int n = 0; n < dataset.Count; n++)
            {
                var upright = dataset.GetPixels(n);
                if (emnistLayout)
                {
                    for (int r = 0; r < rows; r++)
                        for (int c = 0; c < columns; c++)
                            stored[c * rows + r] = upright[r * columns + c];
                    images.Write(stored);
                }
                else images.Write(upright);
            }
        }
        using var labels = OpenForWrite(labelsPath);
        WriteHeader(labels, 1, dataset.Count);
        int first = ClassTables.FirstLabel(variant);
        for (int n = 0; n < dataset.Count; n++)
            labels.WriteByte((byte)(dataset.GetLabel(n) + first));
    }

    /// <summary>NIST's mapping file: one "label charcode" line per class (the class name's first character).</summary>
    /// <exception cref="ArgumentException">A class name is not one character, which the format cannot hold.</exception>
    public static void WriteMapping(ImageDataset dataset, string path, DatasetVariant variant)
    {
        CheckMappable(dataset);
        int first = ClassTables.FirstLabel(variant);
        File.WriteAllLines(path, dataset.ClassNames.Select((name, i) => $"{i + first} {char.ConvertToUtf32(name, 0)}"));
    }

    static void CheckMappable(ImageDataset dataset)
    {
        if (dataset.ClassNames.FirstOrDefault(n => n.Length == 0 || n.Length != (char.IsSurrogatePair(n, 0) ? 2 : 1)) is { } name)
            throw new ArgumentException($"{dataset.Name} has the class '{name}'; an EMNIST mapping file holds one character per class.");
    }

    static Stream OpenForWrite(string path)
    {
        var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionLevel.Fastest) : file;
    }

    static void WriteHeader(Stream stream, byte dimensions, params int[] sizes)
    {
        Span<byte> header = stackalloc byte[4 + 4 * sizes.Length];
        header[2] = 0x08;
        header[3] = dimensions;
        for (int i = 0; i < sizes.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(header.Slice(4 + 4 * i), sizes[i]);
        stream.Write(header);
    }
}
