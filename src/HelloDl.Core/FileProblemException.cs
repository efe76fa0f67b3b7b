namespace HelloDl;

/// <summary>
/// A file that cannot be used as what it claims to be: a data set, a model, an image. The
/// message names the file and the problem; <see cref="ErrorId"/> is stable, so scripts (and the
/// PowerShell layer's error records) can tell problems apart.
/// </summary>
public abstract class FileProblemException(string errorId, string path, string problem, Exception? inner)
    : Exception($"{path}: {problem}", inner)
{
    public string ErrorId { get; } = errorId;
    /// <summary>The file (or zip entry, as zip!entry) the problem is in.</summary>
    public string Path { get; } = path;
}
