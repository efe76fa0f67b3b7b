namespace HelloDl.Serialization;

/// <summary>
/// Writes a file so that readers see the old content or the new, never part of it: to a temporary
/// file beside it, flushed to disk, then renamed over it. A crash, Ctrl+C or a full disk leaves
/// the file that was there unchanged.
/// </summary>
public static class AtomicFile
{
    /// <exception cref="IOException">The file cannot be written; the message says whether the earlier file is unchanged.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string temporary = full + $".{Guid.NewGuid():N}.tmp";
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch (IOException e)
        {
            throw new IOException($"{full}: cannot be written ({e.Message}); {(File.Exists(full) ? "the file that was there is unchanged" : "nothing was written")}.", e);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
