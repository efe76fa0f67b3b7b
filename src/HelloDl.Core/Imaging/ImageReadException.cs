namespace HelloDl.Imaging;

/// <summary>An image file that cannot be used; the message names the file and the problem.</summary>
public sealed class ImageReadException(string errorId, string path, string problem, Exception? inner = null)
    : Exception($"{path}: {problem}", inner)
{
    public string ErrorId { get; } = errorId;
    public string Path { get; } = path;
}

public static class ImageErrorIds
{
    public const string Empty = "ImageFileEmpty";
    public const string NotAnImage = "ImageFileNotAnImage";
    public const string TooLarge = "ImageFileTooLarge";
    public const string Corrupt = "ImageFileCorrupt";
}
