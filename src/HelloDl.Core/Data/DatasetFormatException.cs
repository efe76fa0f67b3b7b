namespace HelloDl.Data;

/// <summary>A data file that cannot be read as what it claims to be; its id is one of <see cref="DatasetErrorIds"/>.</summary>
public sealed class DatasetFormatException(string errorId, string path, string problem, Exception? inner = null)
    : FileProblemException(errorId, path, problem, inner);

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
