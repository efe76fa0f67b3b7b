BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:test = Import-EmnistSet -Path $MnistFolder -Split Test
    $script:train37 = (Import-EmnistSet -Path $MnistFolder).WithClasses('3', '7')
    $script:test37 = $test.WithClasses('3', '7')
    $script:linear = New-HelloModel Linear -ClassesFrom $train37
    $script:epochs = Start-HelloTraining $linear $train37 -ValidationSet $test37 -Epochs 2 -Optimizer Sgd -LearningRate 0.02

    function Get-PngSize([string]$Path) {
        # PNG: 8-byte signature, then the IHDR chunk with big-endian width and height.
        $bytes = [IO.File]::ReadAllBytes($Path)
        $bytes[1..3] | ForEach-Object { [char]$_ } | Join-String | Should -Be 'PNG'
        [pscustomobject]@{
            Width  = [Buffers.Binary.BinaryPrimitives]::ReadInt32BigEndian([byte[]]$bytes[16..19])
            Height = [Buffers.Binary.BinaryPrimitives]::ReadInt32BigEndian([byte[]]$bytes[20..23])
        }
    }
}

Describe 'Export-HelloImage' {
    It 'writes one PNG per sample, named by data set, index and class' {
        $folder = Join-Path $TestDrive 'samples'
        $files = Get-HelloSample $test -Index 0, 1 | Export-HelloImage -Path $folder -Scale 3
        $files.Name | Should -Be 'mnist-test-0-7.png', 'mnist-test-1-2.png'
        (Get-PngSize $files[0].FullName).Width | Should -Be 84
    }

    It 'writes a labelled grid' {
        $file = Get-HelloSample $test -Index (0..24) | Export-HelloImage -Grid -Columns 5 -Path (Join-Path $TestDrive 'grid.png')
        $size = Get-PngSize $file.FullName
        $size.Width | Should -BeGreaterThan (5 * 56)
        $size.Height | Should -BeGreaterThan (5 * 56)
    }

    It 'draws the 3-vs-7 weights, the mistakes, the confusion heat map and the curves' {
        $weights = Export-HelloImage -Model $linear -Weights -Path (Join-Path $TestDrive 'weights.png') -Scale 8
        (Get-PngSize $weights.FullName).Width | Should -BeGreaterOrEqual 224
        $mistakes = Export-HelloImage -Model $linear -Dataset $test37 -Misclassified -MaximumCount 20 -Path (Join-Path $TestDrive 'mistakes.png')
        $mistakes.Length | Should -BeGreaterThan 1000
        $heat = Measure-HelloModel $linear $test37 | Export-HelloImage -Path (Join-Path $TestDrive 'confusion.png')
        $heat.Length | Should -BeGreaterThan 100
        $curves = $epochs | Export-HelloImage -Path (Join-Path $TestDrive 'curves.png')
        (Get-PngSize $curves.FullName).Height | Should -BeGreaterThan 300
    }

    It 'draws the CNN''s first-layer filters' {
        $cnn = New-HelloModel Cnn -ClassNames (0..9 | ForEach-Object { "$_" })
        $file = Export-HelloImage -Model $cnn -Weights -Columns 8 -Path (Join-Path $TestDrive 'filters.png')
        (Get-PngSize $file.FullName).Width | Should -BeGreaterOrEqual (8 * 24)
    }

    It 'draws the weights for -Model alone and the mistakes for -Model with -Dataset, without the switches' {
        $explicit = Export-HelloImage -Model $linear -Weights -Path (Join-Path $TestDrive 'weights-switch.png')
        $implicit = Export-HelloImage -Model $linear -Path (Join-Path $TestDrive 'weights-default.png')
        [Convert]::ToBase64String([IO.File]::ReadAllBytes($implicit.FullName)) | Should -Be ([Convert]::ToBase64String([IO.File]::ReadAllBytes($explicit.FullName)))
        $mistakes = Export-HelloImage -Model $linear -Dataset $test37 -MaximumCount 20 -Path (Join-Path $TestDrive 'mistakes-default.png')
        $mistakes.Length | Should -BeGreaterThan 1000
    }

    It 'writes nothing with -WhatIf' {
        Get-HelloSample $test -Index 0 | Export-HelloImage -Grid -Path (Join-Path $TestDrive 'whatif.png') -WhatIf
        Test-Path (Join-Path $TestDrive 'whatif.png') | Should -BeFalse
    }
}

Describe 'Living alongside other modules' {
    It 'imports quickly (printed, not asserted), rehearses training, and loads ImageSharp only when an image is read' {
        $script = @"
`$time = Measure-Command { Import-Module '$RepoRoot/HelloDl.psd1' }
`$before = @([AppDomain]::CurrentDomain.GetAssemblies().GetName().Name -eq 'SixLabors.ImageSharp').Count
`$t = Import-EmnistSet '$MnistFolder' -Split Test
# The rehearsal of a first training run that import starts in the background (TrainingWarmup) reads no image either.
`$core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'HelloDl.Core' } | Select-Object -First 1
`$warmup = `$core.GetType('HelloDl.Training.TrainingWarmup')::Start()
`$rehearsed = `$warmup.Wait(120000) -and `$warmup.IsCompletedSuccessfully
`$afterWarmup = @([AppDomain]::CurrentDomain.GetAssemblies().GetName().Name -eq 'SixLabors.ImageSharp').Count
Get-HelloSample `$t -Index 0 | Export-HelloImage -Path '$TestDrive/lazy' | Out-Null
`$after = @([AppDomain]::CurrentDomain.GetAssemblies().GetName().Name -eq 'SixLabors.ImageSharp').Count
'{0:F0} {1} {2} {3} {4}' -f `$time.TotalMilliseconds, `$before, `$after, `$rehearsed, `$afterWarmup
"@
        $result = (& dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command $script) -split ' '
        Write-Host "    Import-Module HelloDl took $($result[0]) ms"
        $result[1] | Should -Be 0
        $result[2] | Should -Be 1
        $result[3] | Should -Be 'True'
        $result[4] | Should -Be 0
    }

    It 'works when another assembly named SixLabors.ImageSharp is already loaded' {
        $impostor = Join-Path $TestDrive 'impostor'
        New-Item -ItemType Directory $impostor | Out-Null
        $png = Join-Path $TestDrive 'seven.png'
        $null = Get-HelloSample $test -Index 0 | Export-HelloImage -Grid -Path $png -Scale 3
        $model = Join-Path $TestDrive 'linear.safetensors'
        Export-HelloModel $linear $model
        # A different assembly with the same name, as another image module would bring, loaded first.
        $script = @"
& '$PSScriptRoot/New-ImpostorAssembly.ps1' -Path '$impostor/SixLabors.ImageSharp.dll'
`$loaded = [Reflection.Assembly]::LoadFrom('$impostor/SixLabors.ImageSharp.dll')
Import-Module '$RepoRoot/HelloDl.psd1'
`$m = Import-HelloModel '$model'
`$r = Invoke-HelloClassify -Model `$m -LiteralPath '$png'
'{0} {1}' -f `$loaded.GetName().Version, `$r.Label
"@
        $output = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command $script 2>&1
        ($output | Select-Object -Last 1) | Should -Be '3.0.0.0 7'
    }
}

Describe 'Parallel use' {
    BeforeAll {
        # Scan-sized images (448x448), so decoding is real work worth spreading over cores.
        $script:folder = Join-Path $TestDrive 'parallel'
        $null = Get-HelloSample $test -Index (0..199) | Export-HelloImage -Path $folder -Scale 16
        $script:mlp = New-HelloModel Mlp -ClassesFrom $test
        $null = Start-HelloTraining $mlp (Import-EmnistSet $MnistFolder).Select([int[]](0..4999)) -Epochs 1 -Optimizer Sgd
    }

    It 'gives the same results from ForEach-Object -Parallel as from the serial pipeline, and reports the speed-up' {
        $files = Get-ChildItem $folder | Sort-Object Name
        $serialTime = Measure-Command { $script:serial = $files | Invoke-HelloClassify -Model $mlp }
        $parallelTime = Measure-Command {
            $script:parallel = $files | ForEach-Object -ThrottleLimit 2 -Parallel {
                Import-Module (Join-Path $using:RepoRoot 'HelloDl.psd1')
                $_ | Invoke-HelloClassify -Model $using:mlp
            } | Sort-Object Path
        }
        Write-Host ("    200 files: serial {0:N2} s, ForEach-Object -Parallel {1:N2} s" -f $serialTime.TotalSeconds, $parallelTime.TotalSeconds)
        $parallel.Count | Should -Be 200
        ($parallel.Label -join '') | Should -Be (($serial | Sort-Object Path).Label -join '')
        ($parallel.Confidence -join ',') | Should -Be (($serial | Sort-Object Path).Confidence -join ',')
    }

    It 'classifies with one shared model from a runspace pool, as remote fan-out would' {
        $pool = [runspacefactory]::CreateRunspacePool(1, 4)
        $pool.Open()
        try {
            $chunks = Get-ChildItem $folder | Sort-Object Name | Group-Object { [int]($_.Name -split '-')[2] % 4 }
            $jobs = foreach ($chunk in $chunks) {
                $ps = [powershell]::Create()
                $ps.RunspacePool = $pool
                $null = $ps.AddScript({ param($manifest, $model, $paths) Import-Module $manifest; Invoke-HelloClassify -Model $model -LiteralPath $paths }).
                    AddArgument((Join-Path $RepoRoot 'HelloDl.psd1')).AddArgument($mlp).AddArgument([string[]]$chunk.Group.FullName)
                [pscustomobject]@{ Shell = $ps; Handle = $ps.BeginInvoke() }
            }
            $results = foreach ($job in $jobs) { $job.Shell.EndInvoke($job.Handle); $job.Shell.Dispose() }
        }
        finally { $pool.Dispose() }
        $results.Count | Should -Be 200
        $serial = Get-ChildItem $folder | Invoke-HelloClassify -Model $mlp
        (($results | Sort-Object Path).Label -join '') | Should -Be (($serial | Sort-Object Path).Label -join '')
    }
}

Describe 'The metrics database' {
    BeforeAll {
        $script:log = Join-Path $TestDrive 'runs.sqlite'
        $script:small = (Import-EmnistSet -Path $MnistFolder).Select([int[]](0..1279))
        $script:mlp = New-HelloModel Mlp -ClassesFrom $small
        $script:first = Start-HelloTraining $mlp $small -ValidationSet $test -Epochs 2 -Optimizer Sgd -LogPath $log -BatchSize 64
        $null = Start-HelloTraining $mlp $small.Select([int[]](0..639)) -Epochs 1 -Optimizer Sgd -LogPath $log -BatchSize 64 -HoldOutFraction 0
    }

    It 'keeps one run id per training run in one file' {
        $runs = Get-HelloTrainingLog $log
        $runs.RunId | Should -Be 1, 2
        $runs[0].ValidationSet | Should -Be 'mnist-test'
        $runs[0].Epochs | Should -Be 2
        $runs[1].ValidationSet | Should -BeNullOrEmpty
    }

    It 'records every batch with its loss, accuracy and learning rate' {
        $batches = Get-HelloTrainingLog $log -Table Batches -RunId 1
        $batches.Count | Should -Be 40
        ($batches | Where-Object Epoch -eq 2).Batch | Should -Be (1..20)
        $batches | ForEach-Object { $_.Loss | Should -BeGreaterThan 0; $_.Accuracy | Should -BeLessOrEqual 1; $_.BatchSize | Should -Be 64 }
        $epochOne = $batches | Where-Object Epoch -eq 1
        [math]::Abs(($epochOne | Measure-Object Loss -Average).Average - $first[0].TrainLoss) | Should -BeLessThan 1e-4
        (Get-HelloTrainingLog $log -Table Batches -RunId 2).Count | Should -Be 10
    }

    It 'records every validation pass and the final confusion matrix' {
        $validations = Get-HelloTrainingLog $log -Table Validations -RunId 1
        $validations.Epoch | Should -Be 1, 2
        $validations[1].Accuracy | Should -Be $first[1].ValidationAccuracy
        $confusion = Get-HelloTrainingLog $log -Table Confusion -RunId 1
        $confusion.Count | Should -Be 100
        ($confusion | Measure-Object Count -Sum).Sum | Should -Be 10000
        ($confusion | Where-Object { $_.Actual -eq $_.Predicted } | Measure-Object Count -Sum).Sum | Should -Be ([math]::Round($first[1].ValidationAccuracy * 10000))
    }

    It 'draws per-batch curves from the log' {
        $file = Get-HelloTrainingLog $log -Table Batches -RunId 1 | Export-HelloImage -Path (Join-Path $TestDrive 'batches.png')
        $file.Length | Should -BeGreaterThan 1000
    }

    It 'gives a clear error for a file that is not a log' {
        $bogus = Join-Path $TestDrive 'bogus.sqlite'
        Set-Content $bogus ('not a database ' * 100)
        Get-HelloTrainingLog $bogus -ErrorVariable problems -ErrorAction SilentlyContinue
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'TrainingLogUnreadable,*'
        $problems[0].Exception.Message | Should -BeLike '*bogus.sqlite*'
    }
}
