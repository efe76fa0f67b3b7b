namespace HelloDl.Serialization;

/// <summary>A model or checkpoint file that cannot be loaded; <see cref="ErrorId"/> is stable and the message names the file.</summary>
public sealed class ModelFileException(string errorId, string path, string problem, Exception? inner = null)
    : Exception($"{path}: {problem}", inner)
{
    public string ErrorId { get; } = errorId;
    public string Path { get; } = path;
}

public static class ModelFileErrorIds
{
    public const string NotSafetensors = "ModelFileNotSafetensors";
    public const string Truncated = "ModelFileTruncated";
    public const string BadHeader = "ModelFileBadHeader";
    public const string BadTensor = "ModelFileBadTensor";
    public const string NewerVersion = "ModelFileNewerVersion";
    public const string WrongShape = "ModelFileWrongShape";
    public const string NotACheckpoint = "ModelFileNotACheckpoint";
}
