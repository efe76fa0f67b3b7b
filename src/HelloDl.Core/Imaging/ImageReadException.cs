namespace HelloDl.Imaging;

/// <summary>An image file that cannot be used; its id is one of <see cref="ImageErrorIds"/>.</summary>
public sealed class ImageReadException(string errorId, string path, string problem, Exception? inner = null)
    : FileProblemException(errorId, path, problem, inner);

public static class ImageErrorIds
{
    public const string Empty = "ImageFileEmpty";
    public const string NotAnImage = "ImageFileNotAnImage";
    public const string TooLarge = "ImageFileTooLarge";
    public const string Corrupt = "ImageFileCorrupt";
    /// <summary>The file ends before its image does (a cut-off download or copy).</summary>
    public const string Truncated = "ImageFileTruncated";
    /// <summary>Fewer than <see cref="ImageReader.MinSide"/> pixels across or down.</summary>
    public const string TooSmall = "ImageFileTooSmall";
}
