using HelloDl.Imaging;
using HelloDl.Kernels;

namespace HelloDl.Inference;

/// <summary>One image file read for classification: its MNIST-style input, or why it could not be read.</summary>
public sealed record ImageFileInput(string Path, ClassifierInput? Input, Exception? Error);

/// <summary>
/// Decodes image files and finds their ink on all kernel threads at once: for scans this is most
/// of the work of classifying them, and one file's decoding uses one core. Results keep the
/// order of the paths; a file that cannot be read is reported, not thrown.
/// </summary>
public static class ImageFileBatch
{
    public static ImageFileInput[] Read(IReadOnlyList<string> paths)
    {
        var results = new ImageFileInput[paths.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = Parallelism.MaxThreads };
        try
        {
            Parallel.For(0, paths.Count, options, i => results[i] = ReadOne(paths[i]));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // Anything unexpected surfaces as itself, as it would from a serial loop.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
        return results;
    }

    static ImageFileInput ReadOne(string path)
    {
        try
        {
            return new ImageFileInput(path, new ClassifierInput(MnistPreprocessor.ToMnist(ImageReader.Read(path)), Path: path), null);
        }
        catch (Exception e) when (e is ImageReadException or IOException or UnauthorizedAccessException)
        {
            return new ImageFileInput(path, null, e);
        }
    }
}
