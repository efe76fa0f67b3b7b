<#
.SYNOPSIS
    The main job on real MNIST, as a user would script it: import, train the CNN, measure,
    export, and classify image files. build.ps1 Demo runs it in a fresh pwsh.
#>
param(
    [Parameter(Mandatory)][string]$MnistFolder,
    [int]$Epochs = 2
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../../../HelloDl.psd1')
function Write-Step([string]$Text) { Write-Host "`n== $Text" -ForegroundColor Cyan }

Write-Step "Import MNIST from $MnistFolder"
$train = Import-EmnistSet -Path $MnistFolder -Split Train
$test = Import-EmnistSet -Path $MnistFolder -Split Test
$train, $test | Format-Table | Out-Host

Write-Step 'Three test images, as the network sees them'
Get-HelloSample $test -Index 0, 1, 2 | Out-Host

Write-Step "hello-dl's CNN"
$model = New-HelloModel -Architecture Cnn -ClassesFrom $train -Seed 1
$model | Out-Host

Write-Step "Train it for $Epochs epochs with Adam (progress bar while it runs)"
Start-HelloTraining -Model $model -TrainingSet $train -ValidationSet $test -Epochs $Epochs | Format-Table | Out-Host

Write-Step 'Measure it on the 10,000 test images'
$evaluation = Measure-HelloModel -Model $model -Dataset $test
$evaluation | Out-Host
$evaluation.PerClass | Format-Table | Out-Host

$work = Join-Path ([IO.Path]::GetTempPath()) "hellodl-demo-$PID"
New-Item -ItemType Directory -Force -Path $work | Out-Null
$modelPath = Join-Path $work 'mnist-cnn.safetensors'
Write-Step "Export the model to $modelPath"
Export-HelloModel -Model $model -Path $modelPath -PassThru | Format-Table Name, Length | Out-Host

Write-Step "Write 12 test digits as PNG scans into $work and classify them with the exported model"
$scans = Join-Path $work 'scans'
New-Item -ItemType Directory -Force -Path $scans | Out-Null
Get-HelloSample $test -Random 12 -Seed 7 | Export-HelloImage -Path $scans -Scale 4 | Out-Null
$loaded = Import-HelloModel -Path $modelPath
Get-ChildItem -Path $scans | Invoke-HelloClassify -Model $loaded | Format-Table | Out-Host
Write-Host "Files are in $work"
