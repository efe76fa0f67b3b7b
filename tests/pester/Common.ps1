# Dot-sourced by every Pester file's BeforeAll: the module from this checkout, and real MNIST.
$script:RepoRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
Import-Module (Join-Path $RepoRoot 'HelloDl.psd1') -Force
$script:MnistFolder = if ($env:HELLODL_MNIST) { $env:HELLODL_MNIST } else { Join-Path $RepoRoot 'data/mnist' }
if (-not (Test-Path -LiteralPath (Join-Path $MnistFolder 'train-images-idx3-ubyte'))) {
    throw "MNIST is not in $MnistFolder; run ./build.ps1 Data first."
}
