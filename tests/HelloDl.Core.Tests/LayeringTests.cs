using System.Text.RegularExpressions;

namespace HelloDl.Tests;

/// <summary>
/// Core's folders name its parts and import in one direction only: read from the sources, the
/// graph of which folder uses which (by using directive or qualified type name) has no cycle.
/// </summary>
public sealed partial class LayeringTests
{
    static string CoreFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "HelloDl.psd1"))) return Path.Combine(dir.FullName, "src", "HelloDl.Core");
        throw new InvalidOperationException("Cannot find the repository root (HelloDl.psd1) above the test binaries.");
    }

    [GeneratedRegex(@"//.*$", RegexOptions.Multiline)]
    private static partial Regex LineComment();

    [GeneratedRegex(@"\b(?:class|struct|record|enum|interface)\s+(\w+)")]
    private static partial Regex TypeDeclaration();

    /// <summary>Folder → the folders its files use.</summary>
    static Dictionary<string, HashSet<string>> FolderGraph()
    {
        var files = Directory.GetDirectories(CoreFolder()).Where(d => !Path.GetFileName(d).StartsWith("bin") && !Path.GetFileName(d).StartsWith("obj"))
            .ToDictionary(d => Path.GetFileName(d)!, d => Directory.GetFiles(d, "*.cs", SearchOption.AllDirectories).Select(f => LineComment().Replace(File.ReadAllText(f), "")).ToList());
        var types = files.ToDictionary(f => f.Key, f => f.Value.SelectMany(text => TypeDeclaration().Matches(text).Select(m => m.Groups[1].Value)).ToHashSet());
        var graph = files.Keys.ToDictionary(f => f, _ => new HashSet<string>());
        foreach (var (folder, texts) in files)
            foreach (var text in texts)
                foreach (var other in files.Keys.Where(o => o != folder))
                {
                    // using HelloDl.Other; HelloDl.Other.Type; or Other.Type where Type is declared in Other.
                    bool uses = Regex.IsMatch(text, $@"\busing HelloDl\.{other};|\bHelloDl\.{other}\.[A-Z]")
                        || types[other].Any(type => Regex.IsMatch(text, $@"(?<![\w.]){other}\.{type}\b"));
                    if (uses) graph[folder].Add(other);
                }
        return graph;
    }

    [Fact]
    public void No_two_folders_of_core_import_each_other()
    {
        var graph = FolderGraph();
        Assert.Contains("Training", graph.Keys);
        Assert.Contains("Inference", graph["Training"]);   // the graph sees qualified and imported uses alike
        var cycles = new List<string>();
        void Visit(string folder, List<string> path)
        {
            if (path.Contains(folder)) { cycles.Add(string.Join(" -> ", path.SkipWhile(p => p != folder).Append(folder))); return; }
            path.Add(folder);
            foreach (var next in graph[folder]) Visit(next, path);
            path.RemoveAt(path.Count - 1);
        }
        foreach (var folder in graph.Keys) Visit(folder, []);
        Assert.True(cycles.Count == 0, "folders that import each other: " + string.Join("; ", cycles.Distinct()));
    }
}
