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

Describe 'build.ps1 Build: ReadyToRun' {
    It 'precompiles the cmdlets: a fresh session compiles none of their methods before they run hot' {
        # The runtime lists every method it compiles, with its tier; precompiled code is not listed
        # until the runtime recompiles it because it runs often (Tier1).
        $listing = Join-Path ([IO.Path]::GetTempPath()) "hellodl-jit-$([guid]::NewGuid()).txt"
        $env:DOTNET_JitDisasmSummary = '1'
        $env:DOTNET_JitStdOutFile = $listing
        try {
            $script = "Import-Module '$(Join-Path $RepoRoot 'HelloDl.psd1')'; `$null = New-HelloModel -Architecture Mlp -ClassNames 0,1,2 -Seed 1; `$null = Get-Command -Module HelloDl"
            & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command $script
            $LASTEXITCODE | Should -Be 0
        }
        finally {
            Remove-Item Env:DOTNET_JitDisasmSummary, Env:DOTNET_JitStdOutFile
        }
        $compiled = Get-Content -LiteralPath $listing
        Remove-Item -LiteralPath $listing
        # The listing works: the session compiled PowerShell's own code.
        $compiled.Count | Should -BeGreaterThan 100
        $compiled | Where-Object { $_ -match 'JIT compiled HelloDl\.PowerShell\.' -and $_ -match 'Tier0' } | Should -BeNullOrEmpty
    }
}
