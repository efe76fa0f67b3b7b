using HelloDl.Data;

namespace HelloDl.Tests;

/// <summary>Real MNIST, as fetched by `build.ps1 Data` into data/mnist (or where HELLODL_MNIST points).</summary>
public static class MnistData
{
    static readonly Lazy<ImageDataset> LazyTrain = new(() => EmnistLoader.Load(Folder, split: DatasetSplit.Train));
    static readonly Lazy<ImageDataset> LazyTest = new(() => EmnistLoader.Load(Folder, split: DatasetSplit.Test));

    public static ImageDataset Train => LazyTrain.Value;
    public static ImageDataset Test => LazyTest.Value;

    public static string Folder
    {
        get
        {
            var fromEnvironment = Environment.GetEnvironmentVariable("HELLODL_MNIST");
            if (!string.IsNullOrEmpty(fromEnvironment)) return fromEnvironment;
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "HelloDl.psd1")))
                {
                    string folder = Path.Combine(dir.FullName, "data", "mnist");
                    if (File.Exists(Path.Combine(folder, "train-images-idx3-ubyte"))) return folder;
                    throw new InvalidOperationException($"MNIST is not in {folder}: run `dotnet pwsh ./build.ps1 Data` first.");
                }
            throw new InvalidOperationException("Cannot find the repository root (HelloDl.psd1) above the test binaries; set HELLODL_MNIST.");
        }
    }
}
