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
# Each failure's name and message, for build.ps1 to repeat under the totals: a CI log is often read
# from its end, far from where Pester printed the failure.
$failures = @(
    foreach ($test in $result.Failed) { @{ Name = $test.ExpandedPath; Message = "$($test.ErrorRecord | Select-Object -First 1)" } }
    foreach ($block in $result.FailedBlocks) { @{ Name = $block.Path -join '.'; Message = "$($block.ErrorRecord | Select-Object -First 1)" } }
    foreach ($container in $result.FailedContainers) { @{ Name = "$($container.Item)"; Message = "$($container.ErrorRecord | Select-Object -First 1)" } }
)
@{ Passed = $result.PassedCount; Failed = $failed; Failures = $failures } | ConvertTo-Json -Depth 3 | Set-Content -LiteralPath $SummaryPath
exit ([int]($failed -gt 0))
