BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:test = Import-EmnistSet -Path $MnistFolder -Split Test
}

Describe 'Get-HelloSample' {
    It 'returns samples by index with label and class name' {
        $samples = Get-HelloSample $test -Index 0, 1, 2
        $samples.Index | Should -Be 0, 1, 2
        $samples.ClassName | Should -Be '7', '2', '1'
        $samples[0].Label | Should -Be 7
        $samples[0].Image.Rows | Should -Be 28
        $samples[0].Image.Pixels.Length | Should -Be 784
        $samples[0].GetType().FullName | Should -Be 'HelloDl.Data.Sample'
    }

    It 'takes the data set from the pipeline' {
        ($test | Get-HelloSample -Index 5).Index | Should -Be 5
    }

    It 'picks distinct random samples, repeatably with -Seed' {
        $a = Get-HelloSample $test -Random 20 -Seed 7
        $b = Get-HelloSample $test -Random 20 -Seed 7
        $a.Count | Should -Be 20
        ($a.Index | Sort-Object -Unique).Count | Should -Be 20
        $a.Index | Should -Be $b.Index
    }

    It 'draws the image as text art by default' {
        $text = Get-HelloSample $test -Index 0 | Out-String
        $text | Should -BeLike "*mnist-test``[0``]*'7'*"
        $lines = $text -split "`n" | Where-Object { $_ -match '[%@#*]' }
        $lines.Count | Should -BeGreaterThan 10
    }

    It 'writes an error for an index past the end and goes on' {
        $got = Get-HelloSample $test -Index 3, 10000, 4 -ErrorVariable problems -ErrorAction SilentlyContinue
        $got.Index | Should -Be 3, 4
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'SampleIndexOutOfRange,*'
    }
}
