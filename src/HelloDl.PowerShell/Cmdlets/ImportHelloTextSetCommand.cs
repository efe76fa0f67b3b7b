using System.Management.Automation;
using HelloDl.Data;
using HelloDl.Text;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>
/// Import-HelloTextSet: labelled documents as a data set: text files (plain text or raw e-mail,
/// one document a file) by pipeline or -Path, labelled by -Label or by their folder's name; or a
/// CSV with a text and a label column. Reading is bounded: a file too large or binary gets one
/// error naming it and the import goes on.
/// </summary>
[Cmdlet(VerbsData.Import, "HelloTextSet", DefaultParameterSetName = PathSet)]
[OutputType("HelloDl.Data.TextDataset")]
public sealed class ImportHelloTextSetCommand : HelloCmdlet
{
    const string CsvSet = "Csv";
    readonly List<string> _sources = [];
    readonly List<LabelledDocument> _documents = [];
    int _failed;

    /// <summary>Text files, or folders: with -Label, all files below them; without, a folder's class subfolders.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = PathSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = LiteralPathSet)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[]? LiteralPath { get; set; }

    /// <summary>A CSV file with a header; -TextColumn and -LabelColumn name the columns.</summary>
    [Parameter(Mandatory = true, ParameterSetName = CsvSet)]
    [ValidateNotNullOrEmpty]
    public string? CsvPath { get; set; }

    /// <summary>The CSV column holding the documents.</summary>
    [Parameter(ParameterSetName = CsvSet)]
    [ValidateNotNullOrEmpty]
    public string TextColumn { get; set; } = "text";

    /// <summary>The CSV column holding the classes (unless -Label gives one for all).</summary>
    [Parameter(ParameterSetName = CsvSet)]
    [ValidateNotNullOrEmpty]
    public string LabelColumn { get; set; } = "label";

    /// <summary>The class of every document; default: each file's folder name, or the CSV's label column.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Label { get; set; }

    /// <summary>The classes, in this order; a document of another class is an error.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ClassNames { get; set; }

    /// <summary>The data set's name. Default: the folder's or file's name.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Larger files are refused (error TextFileTooLarge); a CSV may be 64 times this.</summary>
    [Parameter]
    [ValidateRange(1L, 1L << 40)]
    public long MaximumFileSize { get; set; } = TextFiles.DefaultMaximumBytes;

    protected override void ProcessRecord()
    {
        if (ParameterSetName == CsvSet)
        {
            ReadCsv(SessionState.Path.GetUnresolvedProviderPathFromPSPath(CsvPath));
            return;
        }
        foreach (var path in ResolveFileSystemPaths(Path ?? LiteralPath, literal: Path is null))
        {
            try
            {
                IEnumerable<LabelledFile> files = !Directory.Exists(path) ? [new LabelledFile(path, Label ?? ClassFolders.LabelOf(FolderName(path)))]
                    : Label is null ? ClassFolders.List(path)
                    : Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(f => new LabelledFile(f, Label));
                var list = files.ToList();
                _sources.Add(path);
                for (int i = 0; i < list.Count; i++)
                {
                    if (Stopping) return;   // Ctrl+C: a folder of many files need not be read to its end
                    if (list.Count > 1) WriteProgress(new ProgressRecord(1, $"Importing {path}", $"{i:N0} of {list.Count:N0} files") { PercentComplete = (int)(100L * i / list.Count) });
                    ReadFile(list[i]);
                }
                if (list.Count > 1) WriteProgress(new ProgressRecord(1, $"Importing {path}", "Done") { RecordType = ProgressRecordType.Completed });
            }
            catch (ImageSetException e) when (e.ErrorId == ImageSetErrorIds.NoClassFolders)
            {
                WriteError(FileError(new TextSetException(TextSetErrorIds.NoClassFolders, path,
                    "it has no subfolders; put each class's documents in a subfolder named by the class (mail/spam/1.txt), or pass -Label or -CsvPath.", e)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                WriteError(new ErrorRecord(e, "TextSetFolderReadFailed", ErrorCategory.ReadError, path));
            }
        }
    }

    static string FolderName(string file) => System.IO.Path.GetFileName(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file))) ?? "";

    void ReadFile(LabelledFile file)
    {
        try
        {
            _documents.Add(new LabelledDocument(TextFiles.Read(file.Path, MaximumFileSize), file.Label, file.Path));
        }
        catch (Exception e) when (e is TextSetException or IOException or UnauthorizedAccessException)
        {
            WriteError(TextFileError(file.Path, e));
            _failed++;
        }
    }

    void ReadCsv(string path)
    {
        try
        {
            var (documents, problems) = TextCsv.Read(path, TextColumn, Label is null ? LabelColumn : null, Label, MaximumFileSize * 64);
            foreach (var problem in problems) WriteError(FileError(problem));
            _failed += problems.Count;
            _documents.AddRange(documents);
            _sources.Add(path);
        }
        catch (Exception e) when (e is TextSetException or IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(TextFileError(path, e));
        }
    }

    protected override void EndProcessing()
    {
        string source = string.Join("; ", _sources);
        string name = Name ?? (_sources.Count == 1 ? System.IO.Path.GetFileNameWithoutExtension(_sources[0].TrimEnd('/', '\\')) : "documents");
        var builder = new TextSetBuilder(name, source, ClassNames);
        foreach (var document in _documents)
        {
            try { builder.Add(document); }
            catch (TextSetException e)
            {
                WriteError(FileError(e));
                _failed++;
            }
        }
        TextDataset dataset;
        try { dataset = builder.Build(); }
        catch (TextSetException e) { ThrowTerminatingError(FileError(e)); return; }
        WriteVerbose($"Imported {dataset.Count:N0} documents in {dataset.ClassNames.Count} classes from {source} ({_failed:N0} failed).");
        WriteObject(dataset);
    }
}
