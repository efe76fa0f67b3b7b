<#
.SYNOPSIS
    The main job on real MNIST, as a user would script it. build.ps1 Demo runs it in a fresh pwsh.
#>
param([Parameter(Mandatory)][string]$MnistFolder)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../../../HelloDl.psd1')

Write-Host "`n== Import MNIST from $MnistFolder" -ForegroundColor Cyan
$train = Import-EmnistSet -Path $MnistFolder -Split Train
$test = Import-EmnistSet -Path $MnistFolder -Split Test
$train, $test | Format-Table | Out-Host

Write-Host '== Images per class in the training set' -ForegroundColor Cyan
$train.ClassCounts.GetEnumerator() | ForEach-Object { [pscustomobject]@{ Class = $_.Key; Images = $_.Value } } |
    Format-Table | Out-Host

Write-Host '== Three test images, as the network will see them' -ForegroundColor Cyan
Get-HelloSample $test -Index 0, 1, 2 | Out-Host
