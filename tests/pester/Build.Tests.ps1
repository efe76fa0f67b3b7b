BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    # As a shell other than pwsh starts it: each argument a plain string, no PowerShell parsing.
    function Invoke-BuildScript([string[]]$Arguments) {
        $output = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File (Join-Path $RepoRoot 'build.ps1') @Arguments 2>&1 | Out-String
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = $output -replace '\x1b\[[0-9;]*m', '' }
    }
    # What a fresh session running the script compiles, a line per method with its tier, as the
    # runtime lists it: precompiled code is not listed until the runtime recompiles it because it
    # runs often (Tier1). The listing comes on standard output, not in a file of its own
    # (DOTNET_JitStdOutFile): the runtime closes that file at exit while other threads may still be
    # compiling, and 3 of 20 sessions that exited during the import's rehearsal crashed (exit codes
    # 134 and 139), against none of 20 listing to standard output.
    function Get-CompiledMethods([string]$Script) {
        $env:DOTNET_JitDisasmSummary = '1'
        try {
            $output = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command $Script
            $LASTEXITCODE | Should -Be 0
        }
        finally {
            Remove-Item Env:DOTNET_JitDisasmSummary
        }
        $output -match 'JIT compiled '
    }
}

Describe 'build.ps1 Bench -Section' {
    It 'takes comma-separated sections as one argument, as bash passes kernels,models' {
        $run = Invoke-BuildScript 'Bench', '-Section', 'kernels,models,bogus'
        $run.ExitCode | Should -Not -Be 0
        # kernels and models were accepted; only the unknown name is reported, before any work starts.
        # The error view wraps long messages at the console's width, each further line starting with '|'.
        ($run.Output -replace '\s*\r?\n\s*\|\s*', ' ') | Should -BeLike "*Unknown -Section 'bogus': the sections are kernels, models, quantized, profile*"
        $run.Output | Should -Not -BeLike '*== Data*'
    }
}

Describe 'build.ps1 Build: ReadyToRun' {
    It 'precompiles the cmdlets: a fresh session compiles none of their methods before they run hot' {
        $compiled = Get-CompiledMethods "Import-Module '$(Join-Path $RepoRoot 'HelloDl.psd1')'; `$null = New-HelloModel -Architecture Mlp -ClassNames 0,1,2 -Seed 1; `$null = Get-Command -Module HelloDl"
        # The listing works: the session compiled PowerShell's own code.
        $compiled.Count | Should -BeGreaterThan 100
        $compiled | Where-Object { $_ -match 'JIT compiled HelloDl\.PowerShell\.' -and $_ -match 'Tier0' } | Should -BeNullOrEmpty
    }

    It 'leaves nothing of a <Architecture> training step to be compiled while it trains' -ForEach @(
        @{ Architecture = 'Mlp'; Optimizer = 'Sgd'; LearningRate = 0.01; Epochs = 3 },
        @{ Architecture = 'Cnn'; Optimizer = 'Adam'; LearningRate = 0.001; Epochs = 1 }) {
        # The runtime recompiles code a run calls often, twice (with counters, then with what they
        # counted), on a background thread: during a first epoch that thread takes time from the
        # run's second core. A step's own methods are compiled once, fully optimised. The markers
        # bound the training in the listing. The rehearsal that import starts in the background
        # (TrainingWarmup) has ended before the first marker, and the runtime has stopped compiling
        # for it (no method in half a second): how far it got when training started depends on the
        # machine's speed, and what it ran often is recompiled wherever the window then is.
        $compiled = Get-CompiledMethods @"
class TrainingStarts { static [int] Mark() { return 1 } }
class TrainingEnded { static [int] Mark() { return 2 } }
Import-Module '$(Join-Path $RepoRoot 'HelloDl.psd1')'
`$train = Import-EmnistSet -LiteralPath '$MnistFolder' -Split Train
`$model = New-HelloModel -Architecture $Architecture -ClassesFrom `$train -Seed 1
`$core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'HelloDl.Core' } | Select-Object -First 1
if (-not `$core.GetType('HelloDl.Training.TrainingWarmup')::Start().Wait(120000)) { exit 3 }
`$count = [System.Runtime.JitInfo]::GetCompiledMethodCount(`$false)
do { Start-Sleep -Milliseconds 500; `$before = `$count; `$count = [System.Runtime.JitInfo]::GetCompiledMethodCount(`$false) } while (`$count -ne `$before)
`$null = [TrainingStarts]::Mark()
`$null = Start-HelloTraining -Model `$model -TrainingSet `$train -Epochs $Epochs -BatchSize 64 -Optimizer $Optimizer -LearningRate $LearningRate -Schedule Constant -Augment None -HoldOutFraction 0
`$null = [TrainingEnded]::Mark()
"@
        $start = ($compiled | Select-String -SimpleMatch 'TrainingStarts:Mark').LineNumber
        $end = ($compiled | Select-String -SimpleMatch 'TrainingEnded:Mark').LineNumber
        $start | Should -Not -BeNullOrEmpty
        $end | Should -BeGreaterThan $start
        $window = $compiled[$start..($end - 2)]
        # The runtime did recompile hot code while the run trained (.NET's own: copies, clears, locks).
        @($window | Where-Object { $_ -match 'Tier1' }).Count | Should -BeGreaterThan 0
        # Tensor.Data, a one-line getter, is still called uninlined from somewhere in a step, and the
        # progress shown four times a second reads its record's getters (a CNN epoch is long
        # enough for that to be often); the rest of HelloDl's code is not recompiled.
        $window | Where-Object { $_ -match 'JIT compiled HelloDl\.' -and $_ -match 'Tier1' -and $_ -notmatch 'Tensor:get_Data|BatchProgress:get_' } | Should -BeNullOrEmpty
        # Nor does a step call library code that is generic over its operation (TensorPrimitives),
        # which the runtime compiles on first use, unoptimised, and optimises only later.
        $window | Where-Object { $_ -match 'JIT compiled System\.Numerics\.Tensors\.' } | Should -BeNullOrEmpty
    }
}
