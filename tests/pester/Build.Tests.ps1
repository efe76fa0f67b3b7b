BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    # As a shell other than pwsh starts it: each argument a plain string, no PowerShell parsing.
    function Invoke-BuildScript([string[]]$Arguments) {
        $output = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File (Join-Path $RepoRoot 'build.ps1') @Arguments 2>&1 | Out-String
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = $output -replace '\x1b\[[0-9;]*m', '' }
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
