<#
.SYNOPSIS
    Classifies a large set of image files across PowerShell remoting sessions.
.DESCRIPTION
    The files are split into one contiguous shard per session; the model file is sent to each
    session once (as bytes, so the machines need no copy of it); every session classifies its
    shard with Invoke-HelloClassify at the same time; the results come back merged in the files'
    order, each with PSComputerName, and a bad file gives one error, as in a local run. The files
    must be reachable under the same paths from every session (a shared folder, or this machine).
.PARAMETER Session
    Open sessions (New-PSSession -HostName ... over SSH, or -ComputerName over WinRM) with the
    HelloDl module installed (Install-PSResource HelloDl) or reachable as -Module.
.PARAMETER ModelPath
    The model file (Export-HelloModel) to classify with.
.PARAMETER LiteralPath
    The image files, as the sessions see them.
.PARAMETER Module
    What the sessions import: the module's name (default HelloDl) or a manifest's path.
.EXAMPLE
    $sessions = 'node1', 'node2' | ForEach-Object { New-PSSession -HostName $_ -UserName scan }
    ./Invoke-FanOut.ps1 -Session $sessions -ModelPath ./digits.safetensors -LiteralPath (Get-ChildItem /mnt/scans -File).FullName |
        Export-Csv results.csv
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][System.Management.Automation.Runspaces.PSSession[]]$Session,
    [Parameter(Mandatory)][string]$ModelPath,
    [Parameter(Mandatory)][string[]]$LiteralPath,
    [string]$Module = 'HelloDl'
)
$fileErrors = $ErrorActionPreference   # what the caller asked for the files' errors (-ErrorAction)
$ErrorActionPreference = 'Stop'          # a session or model that fails stops the run
$modelBytes = [IO.File]::ReadAllBytes((Resolve-Path -LiteralPath $ModelPath).ProviderPath)

# The model, once per session: written to a temporary file there and imported.
Invoke-Command -Session $Session -ArgumentList $modelBytes, $Module -ScriptBlock {
    param([byte[]]$Bytes, [string]$Module)
    Import-Module $Module
    $file = [IO.Path]::GetTempFileName()
    try {
        [IO.File]::WriteAllBytes($file, $Bytes)
        $global:HelloFanOutModel = Import-HelloModel -LiteralPath $file
    }
    finally { Remove-Item -LiteralPath $file }
}

# One contiguous shard per session, all at once; received in shard order, so in the files' order.
$count = $Session.Count
$jobs = for ($k = 0; $k -lt $count; $k++) {
    $first = [int][Math]::Floor($LiteralPath.Count * $k / $count)
    $last = [int][Math]::Floor($LiteralPath.Count * ($k + 1) / $count)
    if ($last -le $first) { continue }
    $shard = [string[]]$LiteralPath[$first..($last - 1)]
    Invoke-Command -Session $Session[$k] -AsJob -ArgumentList (, $shard) -ScriptBlock {
        param([string[]]$Paths)
        Invoke-HelloClassify -Model $global:HelloFanOutModel -LiteralPath $Paths
    }
}
$null = $jobs | Wait-Job
try {
    # Each bad file's error record comes back as it was written there (id, message, file).
    $ErrorActionPreference = $fileErrors
    foreach ($job in $jobs) { Receive-Job -Job $job }
}
finally { $jobs | Remove-Job }
