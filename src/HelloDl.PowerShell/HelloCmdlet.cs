using System.Management.Automation;
using HelloDl.Data;

namespace HelloDl.PowerShell;

/// <summary>
/// Shared plumbing of the module's cmdlets: -Path/-LiteralPath resolution through the provider
/// (so Get-ChildItem output binds), and error records with stable ids. The cmdlets name their
/// output types by string in [OutputType] because those types live in HelloDl.Core, which the
/// module loads into a private AssemblyLoadContext (see ModuleInitializer).
/// </summary>
public abstract class HelloCmdlet : PSCmdlet
{
    protected const string PathSet = "Path";
    protected const string LiteralPathSet = "LiteralPath";

    /// <summary>
    /// File-system paths for -Path (wildcards expanded) or -LiteralPath (taken as written).
    /// A path that matches nothing gets a non-terminating ObjectNotFound error and is skipped.
    /// </summary>
    protected IEnumerable<string> ResolveFileSystemPaths(string[]? paths, bool literal)
    {
        foreach (var path in paths ?? [])
        {
            var resolved = new List<string>();
            try
            {
                ProviderInfo provider;
                if (literal)
                {
                    resolved.Add(SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out provider, out _));
                    if (!File.Exists(resolved[0]) && !Directory.Exists(resolved[0]))
                        throw new ItemNotFoundException($"Cannot find path '{path}' because it does not exist.");
                }
                else
                {
                    resolved.AddRange(GetResolvedProviderPathFromPSPath(path, out provider));
                }
                if (provider.Name != "FileSystem")
                {
                    WriteError(new ErrorRecord(new ArgumentException($"'{path}' is not a file-system path (provider {provider.Name})."),
                        "NotFileSystemPath", ErrorCategory.InvalidArgument, path));
                    continue;
                }
            }
            catch (Exception e) when (e is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
            {
                WriteError(new ErrorRecord(e, "PathNotFound", ErrorCategory.ObjectNotFound, path));
                continue;
            }
            foreach (var item in resolved) yield return item;
        }
    }

    /// <summary>Writes a file just written as the FileSystem provider's item, so it displays like Get-ChildItem output.</summary>
    protected void WriteFileItem(string path) => WriteObject(InvokeProvider.Item.Get([path], force: false, literalPath: true), enumerateCollection: true);

    /// <summary>The error record for an image file that cannot be read: the Core's stable id, ImageFileMissing, or ImageFileReadFailed.</summary>
    protected static ErrorRecord ImageFileError(string path, Exception error) => ReadError(path, error, "Image");

    /// <summary>The error record for a text file that cannot be read: the Core's stable id, TextFileMissing, or TextFileReadFailed.</summary>
    protected static ErrorRecord TextFileError(string path, Exception error) => ReadError(path, error, "Text");

    static ErrorRecord ReadError(string path, Exception error, string kind) => error switch
    {
        FileProblemException problem => FileError(problem),
        FileNotFoundException => new ErrorRecord(error, $"{kind}FileMissing", ErrorCategory.ObjectNotFound, path),
        _ => new ErrorRecord(error, $"{kind}FileReadFailed", ErrorCategory.ReadError, path),
    };

    /// <summary>The error record for a file that cannot be used; its id is the Core's stable id, its target the file.</summary>
    protected static ErrorRecord FileError(FileProblemException e) =>
        new(e, e.ErrorId, e.ErrorId is DatasetErrorIds.ImagesFileMissing or DatasetErrorIds.LabelsFileMissing
            ? ErrorCategory.ObjectNotFound : ErrorCategory.InvalidData, e.Path);
}
