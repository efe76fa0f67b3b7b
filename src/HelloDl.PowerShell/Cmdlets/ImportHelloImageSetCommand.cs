using System.Management.Automation;
using HelloDl.Data;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>
/// Import-HelloImageSet: one's own labelled images as a data set: a folder with one subfolder per
/// class, a CSV manifest (file,label), or files by pipeline with -Label. Every image is read as
/// Invoke-HelloClassify reads it; a bad file gets one error and the import goes on, an image
/// without ink is skipped with a warning and counted.
/// </summary>
[Cmdlet(VerbsData.Import, "HelloImageSet", DefaultParameterSetName = PathSet)]
[OutputType("HelloDl.Data.ImageDataset")]
public sealed class ImportHelloImageSetCommand : HelloCmdlet
{
    const string ManifestSet = "Manifest";
    const int ChunkSize = 256;
    readonly List<LabelledFile> _files = [];
    readonly List<string> _sources = [];

    /// <summary>A folder of class subfolders; with -Label, image files (or folders of them) of that class.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[]? LiteralPath { get; set; }

    /// <summary>A CSV file with the columns file and label; paths are relative to it.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ManifestSet)]
    [ValidateNotNullOrEmpty]
    public string? ManifestPath { get; set; }

    /// <summary>The class of every file given by -Path or -LiteralPath.</summary>
    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = LiteralPathSet)]
    [ValidateNotNullOrEmpty]
    public string? Label { get; set; }

    /// <summary>The classes, in this order; an image of another class is an error. Default: the labels found, digits numerically, others ordinally.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ClassNames { get; set; }

    /// <summary>The data set's name. Default: the folder's or manifest's name.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == ManifestSet)
        {
            ReadManifest(SessionState.Path.GetUnresolvedProviderPathFromPSPath(ManifestPath));
            return;
        }
        foreach (var path in ResolveFileSystemPaths(Path ?? LiteralPath, literal: Path is null))
        {
            try
            {
                if (Label is null) _files.AddRange(ClassFolders.List(path));
                else if (Directory.Exists(path)) _files.AddRange(Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(f => new LabelledFile(f, Label)));
                else _files.Add(new LabelledFile(path, Label));
                _sources.Add(path);
            }
            catch (ImageSetException e) { WriteError(FileError(e)); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                WriteError(new ErrorRecord(e, "ImageSetFolderReadFailed", ErrorCategory.ReadError, path));
            }
        }
    }

    void ReadManifest(string path)
    {
        try
        {
            var (files, problems) = ImageManifest.Read(path);
            foreach (var problem in problems) WriteError(FileError(problem));
            _files.AddRange(files);
            _sources.Add(path);
        }
        catch (ImageSetException e) { ThrowTerminatingError(FileError(e)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(new ErrorRecord(e, "ImageSetManifestReadFailed", ErrorCategory.ReadError, path));
        }
    }

    protected override void EndProcessing()
    {
        string source = _sources.Count == 1 ? _sources[0] : string.Join("; ", _sources);
        string name = Name ?? (_sources.Count == 1 ? System.IO.Path.GetFileNameWithoutExtension(_sources[0].TrimEnd('/', '\\')) : "images");
        var builder = new ImageSetBuilder(name, source, ClassNames);
        var blank = new List<string>();
        for (int first = 0; first < _files.Count; first += ChunkSize)
        {
            WriteProgress(new ProgressRecord(1, $"Importing {name}", $"{first:N0} of {_files.Count:N0} images")
            {
                PercentComplete = (int)(100L * first / _files.Count),
            });
            foreach (var outcome in builder.Add(_files.GetRange(first, Math.Min(ChunkSize, _files.Count - first))))
            {
                if (outcome.Status == ImportStatus.Failed) WriteError(ImageFileError(outcome.File.Path, outcome.Error!));
                else if (outcome.Status == ImportStatus.Blank)
                {
                    blank.Add(outcome.File.Path);
                    WriteVerbose($"{outcome.File.Path}: no ink found; skipped.");
                }
            }
        }
        WriteProgress(new ProgressRecord(1, $"Importing {name}", "Done") { RecordType = ProgressRecordType.Completed });
        if (blank.Count > 0)
            WriteWarning($"{blank.Count:N0} of {_files.Count:N0} images had no ink and were skipped: {string.Join(", ", blank.Take(3).Select(System.IO.Path.GetFileName))}"
                + (blank.Count > 3 ? $" and {blank.Count - 3:N0} more (-Verbose lists them)." : "."));
        ImageDataset dataset;
        try { dataset = builder.Build(); }
        catch (ImageSetException e) { ThrowTerminatingError(FileError(e)); return; }
        WriteVerbose($"Imported {dataset.Count:N0} images in {dataset.ClassNames.Count} classes from {source} ({blank.Count:N0} blank, {builder.FailedCount:N0} failed).");
        WriteObject(dataset);
    }
}
