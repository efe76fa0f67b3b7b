BeforeDiscovery {
    Import-Module (Join-Path (Split-Path -Parent (Split-Path -Parent $PSScriptRoot)) 'HelloDl.psd1') -Force
    $script:cmdlets = (Get-Module HelloDl).ExportedCmdlets.Keys | Sort-Object | ForEach-Object { @{ Name = $_ } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
}

Describe 'Help for <Name>' -ForEach $cmdlets {
    BeforeAll {
        $script:help = Get-Help $Name -Full
    }

    It 'has a written synopsis and description' {
        $help.Synopsis | Should -Not -BeLike "$Name *"   # the generated stand-in starts with the syntax
        $help.Synopsis.Length | Should -BeGreaterThan 20
        ($help.description.Text -join ' ').Length | Should -BeGreaterThan 100
    }

    It 'describes every parameter' {
        $parameters = (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $common }
        foreach ($parameter in $parameters) {
            $entry = $help.parameters.parameter | Where-Object name -eq $parameter
            ($entry.description.Text -join ' ') | Should -Not -BeNullOrEmpty -Because "-$parameter needs a description"
        }
    }

    It 'shows each parameter''s own type, an optional one as the type it holds' {
        foreach ($parameter in (Get-Command $Name).Parameters.Values | Where-Object { $_.Name -notin $common }) {
            $entry = $help.parameters.parameter | Where-Object name -eq $parameter.Name
            $expected = [Nullable]::GetUnderlyingType($parameter.ParameterType) ?? $parameter.ParameterType
            $entry.type.name | Should -Be $expected.FullName -Because "-$($parameter.Name) is a $($parameter.ParameterType)"
            if ($expected.IsEnum) { @($entry.parameterValueGroup.parameterValue) | Should -Be ([Enum]::GetNames($expected)) }
        }
    }

    It 'names its inputs and outputs' {
        $help.inputTypes.inputType.type.name | Should -Not -BeNullOrEmpty
        $help.returnValues.returnValue.type.name | Should -Not -BeNullOrEmpty
        foreach ($output in (Get-Command $Name).OutputType.Name) {
            $help.returnValues.returnValue.type.name | Should -Contain $output
        }
    }

    It 'has at least two examples, and the quick ones run without errors' {
        $examples = @($help.examples.example)
        $examples.Count | Should -BeGreaterOrEqual 2
        $quick = $examples | Where-Object { ($_.remarks.Text -join ' ') -notlike '*not run by the tests*' }
        $quick | Should -Not -BeNullOrEmpty
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Set-Location -LiteralPath '$RepoRoot'; Import-Module ./HelloDl.psd1; `$ErrorActionPreference = 'Stop'`n" + (($quick | ForEach-Object code) -join "`n"))
            $null = $ps.Invoke()
            ($ps.Streams.Error | ForEach-Object ToString) -join "`n" | Should -BeNullOrEmpty
            $ps.HadErrors | Should -BeFalse
        }
        finally { $ps.Dispose() }
    }
}

Describe 'about_HelloDl' {
    It 'explains the workflow and the model file format' {
        $text = Get-Help about_HelloDl | Out-String
        $text | Should -BeLike '*THE WORKFLOW*Start-HelloTraining*'
        $text | Should -BeLike '*THE MODEL FILE FORMAT*safetensors*format_version*'
    }
}
