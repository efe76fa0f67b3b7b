#!/usr/bin/env pwsh
<#
.SYNOPSIS
    What users wait for: training and evaluation images/s through the public cmdlets, in a fresh
    pwsh, as the TorchSharp reference measures them (one epoch from a fresh model, batch 64; MLP
    SGD 0.01 momentum 0.9, CNN Adam 0.001; inference over the 60,000 training images).
.DESCRIPTION
    Run by `build.ps1 Bench -Section cmdlets` after a build. Prints a markdown table (the first epoch
    against the second: the warm-up a one-epoch run pays, and the JIT compilation during the training,
    on its own thread and in the whole process, which the rehearsal at import exists to take away,
    and the steps whose kernels ran on one thread: probes, or all while one thread was faster),
    then the first epoch of a second MLP run in the same process.
#>
param(
    [Parameter(Mandatory)][string]$ManifestPath,
    [Parameter(Mandatory)][string]$MnistFolder
)
$ErrorActionPreference = 'Stop'
Import-Module $ManifestPath

$train = Import-EmnistSet -LiteralPath $MnistFolder -Split Train
$cpu = (Select-String -LiteralPath /proc/cpuinfo -Pattern '^model name\s*:\s*(.*)' -List -ErrorAction SilentlyContinue).Matches.Groups[1].Value
Write-Host "CPU: $cpu, $([Environment]::ProcessorCount) cores, PowerShell $($PSVersionTable.PSVersion), .NET $([Environment]::Version)"
Write-Host '| model | first epoch img/s | second epoch img/s | first / second | JIT during the two epochs, ms (training thread / whole process) | Measure-HelloModel img/s (60,000 images), first call | second call | steps on one thread (first / second epoch) |'
Write-Host '|---|---|---|---|---|---|---|---|'
foreach ($run in @(
        @{ Architecture = 'Mlp'; Optimizer = 'Sgd'; LearningRate = 0.01 },
        @{ Architecture = 'Cnn'; Optimizer = 'Adam'; LearningRate = 0.001 })) {
    $model = New-HelloModel -Architecture $run.Architecture -ClassesFrom $train -Seed 1
    # Constant rate, no hold-out, no augmentation: the reference's epoch, nothing else timed.
    $jitBefore = [System.Runtime.JitInfo]::GetCompilationTime($true)
    $processJitBefore = [System.Runtime.JitInfo]::GetCompilationTime($false)
    $epochs = @(Start-HelloTraining -Model $model -TrainingSet $train -Epochs 2 -BatchSize 64 -Optimizer $run.Optimizer `
            -LearningRate $run.LearningRate -Schedule Constant -Augment None -HoldOutFraction 0)
    $jit = ([System.Runtime.JitInfo]::GetCompilationTime($true) - $jitBefore).TotalMilliseconds
    $processJit = ([System.Runtime.JitInfo]::GetCompilationTime($false) - $processJitBefore).TotalMilliseconds
    $inference = foreach ($call in 1, 2) {
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $null = Measure-HelloModel -Model $model -Dataset $train
        $train.Count / $clock.Elapsed.TotalSeconds
    }
    $first, $second = $epochs[0].ImagesPerSecond, $epochs[1].ImagesPerSecond
    Write-Host ('| {0} | {1:N0} | {2:N0} | {3:P0} | {4:F1} / {5:F1} | {6:N0} | {7:N0} | {8} / {9} |' -f $run.Architecture, $first, $second, ($first / $second), $jit, $processJit,
        $inference[0], $inference[1], $epochs[0].StepsOnOneThread, $epochs[1].StepsOnOneThread)
}
# The same first epoch once more from a fresh model in this process: what of the first epoch's
# penalty is paid once per process (the JIT) rather than once per run.
$again = New-HelloModel -Architecture Mlp -ClassesFrom $train -Seed 1
$epoch = Start-HelloTraining -Model $again -TrainingSet $train -Epochs 1 -BatchSize 64 -Optimizer Sgd -LearningRate 0.01 `
    -Schedule Constant -Augment None -HoldOutFraction 0
Write-Host ('A second MLP run in the same process: first epoch {0:N0} img/s' -f $epoch.ImagesPerSecond)
