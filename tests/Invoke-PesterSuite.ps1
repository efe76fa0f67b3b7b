<#
.SYNOPSIS
    Runs every tests/pester/*.Tests.ps1 file with Pester and writes the totals as JSON.
    build.ps1 Test starts this in a fresh pwsh -NoProfile so the freshly built module loads.
#>
param(
    [Parameter(Mandatory)][string]$PesterManifest,
    [Parameter(Mandatory)][string]$SummaryPath
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterManifest -MinimumVersion 5.7.1

$configuration = New-PesterConfiguration
$configuration.Run.Path = Join-Path $PSScriptRoot 'pester'
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$result = Invoke-Pester -Configuration $configuration

# Failed blocks (a BeforeAll that throws) and discovery errors count as failures too.
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
@{ Passed = $result.PassedCount; Failed = $failed } | ConvertTo-Json | Set-Content -LiteralPath $SummaryPath
exit ([int]($failed -gt 0))
