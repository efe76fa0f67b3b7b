using System.Globalization;

namespace HelloDl.Data;

/// <summary>
/// The class names of each variant, and how file labels map to class indices. Letters files
/// label 'a'..'z' as 1..26 (EMNIST merged upper and lower case); every other variant starts at 0.
/// </summary>
public static class ClassTables
{
    const string DigitChars = "0123456789";
    const string UpperChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const string LowerChars = "abcdefghijklmnopqrstuvwxyz";
    // Balanced and ByMerge keep only the lower-case letters that do not look like their capitals.
    const string MergedLowerChars = "abdefghnqrt";

    /// <summary>The built-in class names of a variant, used when no mapping file is present.</summary>
    public static string[] BuiltIn(DatasetVariant variant) => variant switch
    {
        DatasetVariant.Mnist or DatasetVariant.Digits or DatasetVariant.EmnistMnist => Split(DigitChars),
        DatasetVariant.Letters => Split(LowerChars),
        DatasetVariant.Balanced or DatasetVariant.ByMerge => Split(DigitChars + UpperChars + MergedLowerChars),
        DatasetVariant.ByClass => Split(DigitChars + UpperChars + LowerChars),
        _ => throw new ArgumentOutOfRangeException(nameof(variant)),
    };

    /// <summary>The label stored in the file for class index 0.</summary>
    public static int FirstLabel(DatasetVariant variant) => variant == DatasetVariant.Letters ? 1 : 0;

    /// <summary>
    /// Parses NIST's emnist-*-mapping.txt: one "label charcode" line per class (Letters files add
    /// a second, lower-case code, which is the one taken). Labels must run from the variant's
    /// first label without gaps.
    /// </summary>
    public static string[] ParseMapping(TextReader reader, string path, DatasetVariant variant)
    {
        var names = new List<string>();
        int expectedLabel = FirstLabel(variant), lineNumber = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length is < 2 or > 3
                || !int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out int label)
                || !int.TryParse(fields[^1], NumberStyles.None, CultureInfo.InvariantCulture, out int code)
                || code is < 0x21 or > 0x10FFFF || code is >= 0xD800 and <= 0xDFFF)
                throw new DatasetFormatException(DatasetErrorIds.BadMapping, path,
                    $"line {lineNumber} ('{line.Trim()}') is not 'label charcode'.");
            if (label != expectedLabel)
                throw new DatasetFormatException(DatasetErrorIds.BadMapping, path,
                    $"line {lineNumber} maps label {label}, expected label {expectedLabel} (labels must be consecutive).");
            names.Add(char.ConvertFromUtf32(code));
            expectedLabel++;
        }
        if (names.Count == 0)
            throw new DatasetFormatException(DatasetErrorIds.BadMapping, path, "the mapping file lists no classes.");
        return names.ToArray();
    }

    static string[] Split(string chars) => chars.Select(c => c.ToString()).ToArray();
}
