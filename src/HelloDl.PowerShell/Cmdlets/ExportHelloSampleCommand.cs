using System.Management.Automation;
using HelloDl.Data;
using HelloDl.Imaging;
using HelloDl.Inference;

namespace HelloDl.PowerShell.Cmdlets;

/// <summary>
/// Export-HelloSample: copies inputs into a folder per label, for a person to review: results of
/// Invoke-HelloClassify (the image file itself), characters read with -Segment (the character's
/// crop of its page), or samples of a data set (as PNG). Moving the wrong ones to the right
/// folder and importing the folder with Import-HelloImageSet closes the loop. Existing files are
/// never overwritten: a name already taken gets a number.
/// </summary>
[Cmdlet(VerbsData.Export, "HelloSample", SupportsShouldProcess = true, DefaultParameterSetName = ResultSet)]
[OutputType(typeof(FileInfo))]
public sealed class ExportHelloSampleCommand : HelloCmdlet
{
    const string ResultSet = "Result";
    const string CharacterSet = "Character";
    const string SampleSet = "Sample";
    string? _lastPage;
    LuminanceImage? _lastImage;

    /// <summary>The review folder; a subfolder per label is made in it.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Results of Invoke-HelloClassify on files: each file is copied under its predicted label.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ResultSet)]
    [ValidateNotNull]
    public ClassificationResult[]? Result { get; set; }

    /// <summary>Characters from Invoke-HelloClassify -Segment: each character's crop is written under its predicted label.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = CharacterSet)]
    [ValidateNotNull]
    public CharacterResult[]? Character { get; set; }

    /// <summary>Samples of a data set: each is written as a PNG under its class.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = SampleSet)]
    [ValidateNotNull]
    public Sample[]? Sample { get; set; }

    protected override void ProcessRecord()
    {
        string root = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        foreach (var result in Result ?? [])
        {
            if (result.Path is null)
                WriteError(new ErrorRecord(new ArgumentException($"{result} came from a data set, not a file; pipe the samples (Get-HelloSample) instead."),
                    "ResultHasNoFile", ErrorCategory.InvalidArgument, result));
            else if (result.IsBlank) WriteWarning($"{result.Path}: blank, so it has no label to file it under; skipped.");
            else Write(root, result.Label, System.IO.Path.GetFileName(result.Path), $"Copy {result.Path}", target => File.Copy(result.Path, target));
        }
        foreach (var character in Character ?? [])
        {
            if (Page(character.Path) is not { } page) continue;
            string name = $"{System.IO.Path.GetFileNameWithoutExtension(character.Path)}-line{character.Line}-{character.Index}.png";
            Write(root, character.Label, name, $"Cut character {character.Index} of line {character.Line} out of {character.Path}",
                target => Pictures.SaveCrop(page, character.X, character.Y, character.Width, character.Height, target));
        }
        foreach (var sample in Sample ?? [])
            Write(root, sample.ClassName, $"{sample.Dataset}-{sample.Index}.png", $"Write {sample}", target => Pictures.SaveImage(sample.Image, target));
    }

    /// <summary>The page a character was read from; characters of one page come in a row, so it is decoded once.</summary>
    LuminanceImage? Page(string path)
    {
        if (path == _lastPage) return _lastImage;
        try
        {
            _lastImage = ImageReader.Read(path);
            _lastPage = path;
            return _lastImage;
        }
        catch (Exception e) when (e is ImageReadException or IOException or UnauthorizedAccessException)
        {
            WriteError(ImageFileError(path, e));
            return null;
        }
    }

    /// <summary>Writes into the label's folder under a free name (a temporary name first, so no half-written file is left).</summary>
    void Write(string root, string label, string fileName, string action, Action<string> write)
    {
        string folder = System.IO.Path.Combine(root, ClassFolders.FolderName(label));
        string target = System.IO.Path.Combine(folder, fileName);
        for (int n = 2; File.Exists(target); n++)
            target = System.IO.Path.Combine(folder, $"{System.IO.Path.GetFileNameWithoutExtension(fileName)}-{n}{System.IO.Path.GetExtension(fileName)}");
        if (!ShouldProcess(target, action)) return;
        // Hidden (Import-HelloImageSet skips it), and with the target's extension, which picks the encoder.
        string partial = System.IO.Path.Combine(folder, $".partial-{Environment.ProcessId}-{System.IO.Path.GetFileName(target)}");
        try
        {
            Directory.CreateDirectory(folder);
            write(partial);
            File.Move(partial, target, overwrite: false);
            WriteFileItem(target);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (File.Exists(partial)) File.Delete(partial);
            WriteError(new ErrorRecord(e, "SampleWriteFailed", ErrorCategory.WriteError, target));
        }
    }
}
