using HelloDl.Kernels;

namespace HelloDl.Imaging;

/// <summary>One image file read as one character: its MNIST-style image (null when it holds no ink), or why it could not be read.</summary>
public sealed record CharacterFile(string Path, GrayImage? Image, Exception? Error);

/// <summary>
/// Decodes image files and finds their ink on all kernel threads at once: for scans this is most
/// of the work of classifying them, and one file's decoding uses one core. Classifying and
/// importing a labelled set both read files here, so both see the same 28x28 input. Results keep
/// the order of the paths; a file that cannot be read is reported, not thrown.
/// </summary>
public static class CharacterFiles
{
    public static CharacterFile[] Read(IReadOnlyList<string> paths)
    {
        var results = new CharacterFile[paths.Count];
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

    static CharacterFile ReadOne(string path)
    {
        try
        {
            // Only the 28x28 image leaves, so the page's pixels and file bytes are pooled.
            var image = ImageReader.Read(path, pooled: true);
            try { return new CharacterFile(path, MnistPreprocessor.ToMnist(image), null); }
            finally { image.Release(); }
        }
        catch (Exception e) when (e is ImageReadException or IOException or UnauthorizedAccessException)
        {
            return new CharacterFile(path, null, e);
        }
    }
}
