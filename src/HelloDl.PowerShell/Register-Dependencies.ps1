# Run by HelloDl.psd1 (ScriptsToProcess) before the cmdlet assembly is imported: it makes
# HelloDl.Core and its dependencies load from deps/ into a private AssemblyLoadContext.
$null = [System.Reflection.Assembly]::LoadFrom((Join-Path $PSScriptRoot 'HelloDl.PowerShell.dll')).
    GetType('HelloDl.PowerShell.ModuleInitializer').GetMethod('Register').Invoke($null, $null)
