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

Write-Step "Train it for $Epochs epochs with Adam and scan augmentation (progress bar while it runs)"
Start-HelloTraining -Model $model -TrainingSet $train -ValidationSet $test -Epochs $Epochs -Augment Scan | Format-Table | Out-Host
Write-Host "Confidence calibrated on the validation set: temperature $($model.Temperature.ToString('F3'))"


Write-Step 'Measure it on the 10,000 test images'
$evaluation = Measure-HelloModel -Model $model -Dataset $test
$evaluation | Out-Host
$evaluation.PerClass | Format-Table | Out-Host

$work = Join-Path ([IO.Path]::GetTempPath()) "hellodl-demo-$PID"
New-Item -ItemType Directory -Force -Path $work | Out-Null
$modelPath = Join-Path $work 'mnist-cnn.safetensors'
Write-Step "Export the model to $modelPath"
Export-HelloModel -Model $model -Path $modelPath -PassThru | Format-Table Name, Length | Out-Host

Write-Step "Render 12 test digits as realistic scans into $work/scans and classify them with the exported model"
$scans = Join-Path $work 'scans'
New-Item -ItemType Directory -Force -Path $scans | Out-Null
Get-HelloSample $test -Random 12 -Seed 7 | Export-HelloImage -Scan -Seed 7 -Path $scans | Out-Null
$loaded = Import-HelloModel -Path $modelPath
Get-ChildItem -Path $scans | Invoke-HelloClassify -Model $loaded | Format-Table | Out-Host

Write-Step 'Read a line of handwriting: eight test digits rendered as a scan, segmented, classified and boxed'
$line = Join-Path $work 'line.png'
$digits = Get-HelloSample $test -Random 8 -Seed 11
$digits | Export-HelloImage -Line -Seed 5 -Path $line | Out-Null
Write-Host ("Written on the page: {0}" -f (($digits | ForEach-Object ClassName) -join ''))
$boxed = Join-Path $work 'line-boxed.png'
Invoke-HelloClassify -Model $loaded -LiteralPath $line -Segment -AsText -AnnotatedPath $boxed | Format-Table | Out-Host
Invoke-HelloClassify -Model $loaded -LiteralPath $line -Segment | Format-Table | Out-Host
Write-Host "The annotated copy (boxes and labels, like hello-dl's boxed.png) is $boxed"
