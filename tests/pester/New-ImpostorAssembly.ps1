<#
.SYNOPSIS
    Compiles an assembly named SixLabors.ImageSharp, version 3.0.0.0, that has none of ImageSharp's API:
    a stand-in for another module's ImageSharp. Loaded first, it breaks any module that binds ImageSharp
    in the default load context (TypeLoadException); HelloDl must keep working.
#>
param([Parameter(Mandatory)][string]$Path)
Add-Type -TypeDefinition 'public static class RoslynWarmUp { }'
$source = '[assembly: System.Reflection.AssemblyVersion("3.0.0.0")] namespace SixLabors.ImageSharp { public static class Image { } }'
$tree = [Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree]::ParseText($source)
$references = @([object].Assembly.Location, [System.Reflection.AssemblyVersionAttribute].Assembly.Location, (Join-Path ([IO.Path]::GetDirectoryName([object].Assembly.Location)) 'System.Runtime.dll')) |
    Select-Object -Unique | ForEach-Object { [Microsoft.CodeAnalysis.MetadataReference]::CreateFromFile($_) }
$options = [Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions]::new([Microsoft.CodeAnalysis.OutputKind]::DynamicallyLinkedLibrary)
$compilation = [Microsoft.CodeAnalysis.CSharp.CSharpCompilation]::Create('SixLabors.ImageSharp', [Microsoft.CodeAnalysis.SyntaxTree[]]@($tree), [Microsoft.CodeAnalysis.MetadataReference[]]$references, $options)
$stream = [IO.File]::Create($Path)
try { $result = $compilation.Emit($stream) } finally { $stream.Dispose() }
if (-not $result.Success) { throw ($result.Diagnostics -join "`n") }
