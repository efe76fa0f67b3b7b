using System.IO.Compression;

namespace HelloDl.Data;

/// <summary>An opened data file: its (decompressed) stream and, where cheap to know, its length.</summary>
internal sealed record IdxEntry(Stream Stream, long? Length, string DisplayPath) : IDisposable
{
    public void Dispose() => Stream.Dispose();
}

/// <summary>Where the IDX files live: a folder, NIST's gzip.zip, or the folder beside one file.</summary>
internal abstract class IdxFileSet : IDisposable
{
    /// <summary>The file names on offer (no folders).</summary>
    public abstract IReadOnlyCollection<string> Names { get; }
    public abstract string Describe { get; }
    public abstract IdxEntry Open(string name);
    public virtual void Dispose() { }

    public static IdxFileSet ForFolder(string folder, bool includeSubfolders) => new FolderSet(folder, includeSubfolders);

    public static IdxFileSet ForZip(string zipPath)
    {
        try
        {
            return new ZipSet(zipPath, ZipFile.OpenRead(zipPath));
        }
        catch (InvalidDataException e)
        {
            throw new DatasetFormatException(DatasetErrorIds.CorruptCompression, zipPath, $"not a readable zip archive ({e.Message}).", e);
        }
    }

    static bool IsGzipName(string name) => name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);

    sealed class FolderSet : IdxFileSet
    {
        readonly Dictionary<string, string> _paths = new(StringComparer.OrdinalIgnoreCase);
        readonly string _folder;

        public FolderSet(string folder, bool includeSubfolders)
        {
            _folder = folder;
            // NIST's archive unpacks into a 'gzip' subfolder: look one level down, no deeper.
            var folders = includeSubfolders ? Directory.EnumerateDirectories(folder).Prepend(folder) : [folder];
            foreach (var dir in folders)
                foreach (var file in Directory.EnumerateFiles(dir))
                    _paths.TryAdd(Path.GetFileName(file), file);
        }

        public override IReadOnlyCollection<string> Names => _paths.Keys;
        public override string Describe => $"folder {_folder}";

        public override IdxEntry Open(string name)
        {
            string path = _paths[name];
            var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            if (!IsGzipFile(file)) return new IdxEntry(file, file.Length, path);
            return new IdxEntry(new GZipStream(file, CompressionMode.Decompress), null, path);
        }

        // Decided by content, not name: people gunzip files and keep the name, or the reverse.
        static bool IsGzipFile(FileStream file)
        {
            Span<byte> magic = stackalloc byte[2];
            int read = file.Read(magic);
            file.Position = 0;
            return read == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
        }
    }

    sealed class ZipSet : IdxFileSet
    {
        readonly string _zipPath;
        readonly ZipArchive _zip;
        readonly Dictionary<string, ZipArchiveEntry> _entries = new(StringComparer.OrdinalIgnoreCase);

        public ZipSet(string zipPath, ZipArchive zip)
        {
            _zipPath = zipPath;
            _zip = zip;
            foreach (var entry in zip.Entries)
                if (entry.Name.Length > 0) _entries.TryAdd(entry.Name, entry);
        }

        public override IReadOnlyCollection<string> Names => _entries.Keys;
        public override string Describe => $"zip archive {_zipPath}";

        public override IdxEntry Open(string name)
        {
            var entry = _entries[name];
            string display = $"{_zipPath}!{entry.FullName}";
            Stream stream;
            try { stream = entry.Open(); }
            catch (InvalidDataException e)
            {
                throw new DatasetFormatException(DatasetErrorIds.CorruptCompression, display, $"the zip entry cannot be read ({e.Message}).", e);
            }
            return IsGzipName(name)
                ? new IdxEntry(new GZipStream(stream, CompressionMode.Decompress), null, display)
                : new IdxEntry(stream, entry.Length, display);
        }

        public override void Dispose() => _zip.Dispose();
    }
}
