using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace HelloDl.PowerShell;

/// <summary>
/// Loads the module's dependencies (HelloDl.Core, ImageSharp, SQLite, System.Numerics.Tensors)
/// from the 'deps' folder into a private AssemblyLoadContext, so HelloDl works in a PowerShell
/// process where another module already loaded a different version of the same assembly.
/// PowerShell loads modules into the default context; when it cannot find HelloDl.Core there,
/// the Resolving handler hands it over from the private context, and everything Core references
/// is then resolved inside that context. On import a first training run is rehearsed in the
/// background (<see cref="Training.TrainingWarmup"/>: one batch of each image model, then the
/// kernels it did not reach compiled), while a script loads its data.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    static readonly string DependencyFolder = Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!, "deps");
    static readonly DependencyLoadContext Dependencies = new(DependencyFolder);
    static bool _registered;

    /// <summary>
    /// Hooks assembly resolution. The manifest runs this (ScriptsToProcess) before PowerShell
    /// reflects over the cmdlets, whose enum-typed parameters already need HelloDl.Core.
    /// </summary>
    public static void Register()
    {
        if (_registered) return;
        AssemblyLoadContext.Default.Resolving += ResolveFromDependencies;
        _registered = true;
    }

    public void OnImport() => StartWarmup();

    // Its own method, so HelloDl.Core is first needed when this runs (after Register), not when OnImport is compiled.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void StartWarmup() => Training.TrainingWarmup.Start();

    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        AssemblyLoadContext.Default.Resolving -= ResolveFromDependencies;
        _registered = false;
    }

    static Assembly? ResolveFromDependencies(AssemblyLoadContext context, AssemblyName name) =>
        // Only HelloDl.Core is requested from the default context; its own references load privately.
        name.Name == "HelloDl.Core" ? Dependencies.LoadFromAssemblyName(name) : null;

    sealed class DependencyLoadContext(string folder) : AssemblyLoadContext("HelloDl dependencies")
    {
        protected override Assembly? Load(AssemblyName name)
        {
            string path = Path.Combine(folder, name.Name + ".dll");
            // Anything not shipped in deps (the framework, System.Management.Automation) comes from the default context.
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
        {
            // Native libraries (SQLite's e_sqlite3) ship under deps/runtimes/<rid>/native.
            string? path = Directory.Exists(Path.Combine(folder, "runtimes"))
                ? Directory.EnumerateFiles(Path.Combine(folder, "runtimes"), "*" + unmanagedDllName + "*", SearchOption.AllDirectories)
                    .FirstOrDefault(p => p.Contains(System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier, StringComparison.OrdinalIgnoreCase)
                        || p.Contains(Rid, StringComparison.OrdinalIgnoreCase))
                : null;
            return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
        }

        static string Rid =>
            (OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux") + "-" +
            System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
    }
}
