namespace HelloDl.Data;

/// <summary>
/// A data file that cannot be read as what it claims to be. <see cref="ErrorId"/> is stable, so
/// scripts and the PowerShell layer can tell problems apart; the message names the file.
/// </summary>
public sealed class DatasetFormatException : Exception
{
    public DatasetFormatException(string errorId, string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        ErrorId = errorId;
        Path = path;
    }

    /// <summary>One of the constants in <see cref="DatasetErrorIds"/>.</summary>
    public string ErrorId { get; }

    /// <summary>The file (or zip entry, as zip!entry) the problem is in.</summary>
    public string Path { get; }
}

/// <summary>Stable identifiers of data set loading failures.</summary>
public static class DatasetErrorIds
{
    public const string BadMagic = "IdxBadMagic";
    public const string Truncated = "IdxTruncated";
    public const string TrailingData = "IdxTrailingData";
    public const string TooLarge = "IdxTooLarge";
    public const string EmptyDimension = "IdxEmptyDimension";
    public const string CountMismatch = "IdxCountMismatch";
    public const string LabelOutOfRange = "IdxLabelOutOfRange";
    public const string CorruptCompression = "IdxCorruptCompression";
    public const string LabelsFileMissing = "IdxLabelsFileMissing";
    public const string ImagesFileMissing = "IdxImagesFileMissing";
    public const string AmbiguousVariant = "IdxAmbiguousVariant";
    public const string BadMapping = "EmnistBadMapping";
}
