namespace HelloDl.Serialization;

/// <summary>A model or checkpoint file that cannot be loaded; its id is one of <see cref="ModelFileErrorIds"/>.</summary>
public sealed class ModelFileException(string errorId, string path, string problem, Exception? inner = null)
    : FileProblemException(errorId, path, problem, inner);

public static class ModelFileErrorIds
{
    public const string NotSafetensors = "ModelFileNotSafetensors";
    public const string Truncated = "ModelFileTruncated";
    public const string BadHeader = "ModelFileBadHeader";
    public const string BadTensor = "ModelFileBadTensor";
    public const string NewerVersion = "ModelFileNewerVersion";
    public const string WrongShape = "ModelFileWrongShape";
    public const string NotACheckpoint = "ModelFileNotACheckpoint";
    /// <summary>The content does not match the checksum stored with it: the file was damaged after it was written.</summary>
    public const string Corrupt = "ModelFileCorrupt";
}
