BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:train = Import-EmnistSet -Path $MnistFolder
    $script:test = Import-EmnistSet -Path $MnistFolder -Split Test
    $script:subset = $train.Select([int[]](0..9999))
    $script:model = New-HelloModel -Architecture Mlp -ClassesFrom $train -Seed 1
    $script:epochs = @(Start-HelloTraining -Model $model -TrainingSet $subset -ValidationSet $test -Epochs 1 -Optimizer Sgd)
    $script:evaluation = Measure-HelloModel -Model $model -Dataset $test
}

Describe 'New-HelloModel' {
    It 'builds hello-dl''s MLP with its parameter counts and a layer summary view' {
        $mlp = New-HelloModel Mlp -ClassNames (0..9 | ForEach-Object { "$_" })
        $mlp.WeightCount | Should -Be 109184
        $mlp.BiasCount | Should -Be 202
        $text = $mlp | Out-String
        $text | Should -BeLike '*fc1*Linear(784→128)*100,480*'
        $text | Should -BeLike '*Total: 109,386 parameters*'
    }

    It 'builds the CNN for 26 letters with 136,736 weights and 442 biases' {
        $cnn = New-HelloModel Cnn -ClassNames ([char[]]'abcdefghijklmnopqrstuvwxyz' | ForEach-Object { "$_" })
        $cnn.WeightCount | Should -Be 136736
        $cnn.BiasCount | Should -Be 442
    }

    It 'refuses duplicate class names with an error id' {
        { New-HelloModel Linear -ClassNames 'a', 'a' } | Should -Throw -ErrorId 'InvalidClassNames,*'
    }
}

Describe 'Start-HelloTraining' {
    It 'reaches 90% on the MNIST test set after one epoch on 10,000 images' {
        $epochs[0].ValidationAccuracy | Should -BeGreaterOrEqual 0.90
        $evaluation.Accuracy | Should -BeGreaterOrEqual 0.90
    }

    It 'emits one typed epoch object with the figures a log needs' {
        $epochs.Count | Should -Be 1
        $epochs[0].GetType().FullName | Should -Be 'HelloDl.Training.EpochResult'
        $epochs[0].Epoch | Should -Be 1
        $epochs[0].Images | Should -Be 10000
        $epochs[0].TrainLoss | Should -BeGreaterThan 0
        $epochs[0].ImagesPerSecond | Should -BeGreaterThan 0
        $csv = $epochs | ConvertTo-Csv
        $csv[0] | Should -BeLike '*"TrainLoss"*"ValidationAccuracy"*'
    }

    It 'reaches 97.5% with the MLP in two epochs on all of MNIST with nothing but the defaults' {
        $defaults = New-HelloModel -Architecture Mlp -ClassesFrom $train
        $log = Join-Path $TestDrive 'defaults.sqlite'
        $rows = @(Start-HelloTraining -Model $defaults -TrainingSet $train -Epochs 2 -LogPath $log)
        $rows.Count | Should -Be 2
        $run = Get-HelloTrainingLog $log -Table Runs
        $run.Optimizer | Should -Be 'Adam'
        $run.LearningRate | Should -Be ([double][float]0.005)
        (Measure-HelloModel $defaults $test).Accuracy | Should -BeGreaterOrEqual 0.975
        $defaults.TrainingSummary | Should -BeLike 'mnist-train, 2 epoch(s), Adam*'
    }

    It 'refuses a data set whose classes differ from the model''s' {
        $letters = New-HelloModel Linear -ClassNames 'a', 'b'
        { Start-HelloTraining $letters $subset } | Should -Throw -ErrorId 'ClassesDoNotMatch,*'
    }
}

Describe 'Measure-HelloModel' {
    It 'returns accuracy as a fraction and a confusion matrix that sums to the data set' {
        $evaluation.Count | Should -Be 10000
        $evaluation.Correct | Should -BeLessThan 10000
        $evaluation.Accuracy | Should -Be ($evaluation.Correct / 10000)
        $evaluation.ConfusionMatrix.Total | Should -Be 10000
        ($evaluation.PerClass | Measure-Object Support -Sum).Sum | Should -Be 10000
        $diagonal = 0; foreach ($i in 0..9) { $diagonal += $evaluation.ConfusionMatrix[$i, $i] }
        $diagonal | Should -Be $evaluation.Correct
    }

    It 'gives the confusion matrix as rows: actual per row, predicted per column' {
        $rows = $evaluation | Get-HelloConfusionMatrix
        $rows.Count | Should -Be 10
        $rows[7].Actual | Should -Be '7'
        $predictedAsThree = ($rows | Measure-Object -Property '3' -Sum).Sum
        $three = $evaluation.PerClass | Where-Object Class -eq '3'
        [math]::Round($three.Precision * $predictedAsThree) | Should -Be $evaluation.ConfusionMatrix[3, 3]
        $csv = $rows | ConvertTo-Csv
        $csv[0] | Should -Be '"Actual","0","1","2","3","4","5","6","7","8","9"'
    }

    It 'shows hello-dl''s table by default' {
        ($evaluation | Out-String) | Should -BeLike '*mnist-test: accuracy*actual \ predicted*'
    }

    It 'shows every nested object readably in Format-List and on its own' {
        $list = $evaluation | Format-List | Out-String
        $list | Should -Not -BeLike '*ClassMetrics {*'
        $list | Should -Not -BeLike '*HelloDl.Training.*'
        $list | Should -BeLike '*Accuracy*: *%*PerClass*: 0: precision *%, recall *%, F1 0.*(980 images)*9: precision*'
        $list | Should -BeLike '*RiskCoverage*: Confidence: *at 0.5: *% answered, *% of them wrong*at 0.999:*'
        ($evaluation.RiskCoverage | Out-String) | Should -BeLike '*Confidence:*Threshold*Coverage*ErrorRate*Answered*0.999*'
        ($epochs[0] | Format-List | Out-String) | Should -BeLike '*Validation*: mnist-test: accuracy *% (*of 10,000 right)*'
    }

    It 'fails a weak model with AccuracyBelowMinimum, as a CI gate' {
        $untrained = New-HelloModel Mlp -ClassesFrom $train -Seed 5
        { Measure-HelloModel $untrained $test -MinimumAccuracy 0.98 } | Should -Throw -ErrorId 'AccuracyBelowMinimum,HelloDl.PowerShell.Cmdlets.MeasureHelloModelCommand'
        { Measure-HelloModel $model $test -MinimumAccuracy 0.5 } | Should -Not -Throw
    }

    It 'makes pwsh exit non-zero when the gate fails' {
        $script = "Import-Module '$RepoRoot/HelloDl.psd1'; `$t = Import-EmnistSet '$MnistFolder' -Split Test; `$m = New-HelloModel Linear -ClassesFrom `$t; Measure-HelloModel `$m `$t -MinimumAccuracy 0.99 | Out-Null"
        & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command $script 2>&1 | Out-Null
        $LASTEXITCODE | Should -Not -Be 0
    }
}

Describe 'Export-HelloModel and Import-HelloModel' {
    BeforeAll {
        $script:modelPath = Join-Path $TestDrive 'mlp.safetensors'
        Export-HelloModel $model $modelPath
    }

    It 'round-trips with identical predictions' {
        $loaded = Import-HelloModel $modelPath
        $samples = Get-HelloSample $test -Index (0..199)
        $before = $samples | Invoke-HelloClassify $model
        $after = $samples | Invoke-HelloClassify $loaded
        ($after.Label -join ',') | Should -Be ($before.Label -join ',')
        ($after.Confidence -join ',') | Should -Be ($before.Confidence -join ',')
        $loaded.TrainingSummary | Should -BeLike 'mnist-train*1 epoch*'
    }

    It 'refuses to overwrite without -Force, and -WhatIf writes nothing' {
        Export-HelloModel $model $modelPath -ErrorVariable problems -ErrorAction SilentlyContinue
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'ModelFileExists,*'
        $other = Join-Path $TestDrive 'whatif.safetensors'
        Export-HelloModel $model $other -WhatIf
        Test-Path $other | Should -BeFalse
        (Export-HelloModel $model $modelPath -Force -PassThru).Length | Should -BeGreaterThan 400000
    }

    It 'fails cleanly on a truncated file' {
        $cut = Join-Path $TestDrive 'cut.safetensors'
        $bytes = [IO.File]::ReadAllBytes($modelPath)
        [IO.File]::WriteAllBytes($cut, $bytes[0..($bytes.Length - 1000)])
        $thrown = { Import-HelloModel $cut } | Should -Throw -ErrorId 'ModelFileTruncated,HelloDl.PowerShell.Cmdlets.ImportHelloModelCommand' -PassThru
        $thrown.Exception.Message | Should -BeLike '*cut.safetensors*truncated*'
    }

    It 'fails cleanly on a tampered header' {
        $tampered = Join-Path $TestDrive 'tampered.safetensors'
        $bytes = [IO.File]::ReadAllBytes($modelPath)
        $headerLength = [BitConverter]::ToInt32($bytes, 0)
        $text = [Text.Encoding]::UTF8.GetString($bytes, 8, $headerLength).Replace('[128,784]', '[128,999]')
        [Text.Encoding]::UTF8.GetBytes($text).CopyTo($bytes, 8)
        [IO.File]::WriteAllBytes($tampered, $bytes)
        { Import-HelloModel $tampered } | Should -Throw -ErrorId 'ModelFileBadTensor,*'
    }

    It 'fails cleanly on a file that is not a model' {
        $text = Join-Path $TestDrive 'notes.safetensors'
        Set-Content $text 'just some text that is long enough'
        { Import-HelloModel $text } | Should -Throw -ErrorId 'ModelFileNotSafetensors,*'
    }
}

Describe 'Export-HelloModel -Format Onnx' {
    # That ONNX Runtime runs the graphs as HelloDl does is checked in the xunit tests (OnnxExportTests).
    It 'writes an ONNX graph for a .onnx path, with the weights and class names in it' {
        $onnx = Join-Path $TestDrive 'mlp.onnx'
        $file = Export-HelloModel $model $onnx -PassThru
        $bytes = [IO.File]::ReadAllBytes($file.FullName)
        # ModelProto field 1 (ir_version, varint) = 8: ONNX 1.12's IR.
        $bytes[0], $bytes[1] | Should -Be 8, 8
        $text = [Text.Encoding]::UTF8.GetString($bytes)
        $text | Should -BeLike '*log_probabilities*fc1.weight*'
        $text | Should -BeLike '*class_names*["0","1","2","3","4","5","6","7","8","9"]*'
        $file.Length | Should -BeGreaterThan (4 * $model.ParameterCount)
        $file.Length | Should -BeLessThan (4 * $model.ParameterCount + 8KB)
    }

    It 'writes safetensors for any other path unless -Format says Onnx' {
        $named = Join-Path $TestDrive 'mlp.bin'
        Export-HelloModel $model $named -Format Onnx
        [IO.File]::ReadAllBytes($named)[0..1] | Should -Be 8, 8
        $safetensors = Join-Path $TestDrive 'kept.onnx'
        Export-HelloModel $model $safetensors -Format SafeTensors
        (Import-HelloModel $safetensors).ClassNames | Should -Be $model.ClassNames
    }

    It 'tells a user who imports an ONNX graph to import the .safetensors file' {
        $onnx = Join-Path $TestDrive 'again.onnx'
        Export-HelloModel $model $onnx
        $thrown = { Import-HelloModel $onnx } | Should -Throw -ErrorId 'ModelFileNotSafetensors,*' -PassThru
        $thrown.Exception.Message | Should -BeLike '*again.onnx*ONNX graph*safetensors*'
    }
}

Describe 'Invoke-HelloClassify' {
    BeforeAll {
        $script:pngFolder = Join-Path $TestDrive 'digits'
        New-Item -ItemType Directory $pngFolder | Out-Null
        $script:samples = Get-HelloSample $test -Index (0..99)
        $null = $samples | Export-HelloImage -Path $pngFolder -Scale 3
        # Preprocessing a written sample can move it by a pixel (centre-of-mass rounding): a model
        # trained on all of MNIST is sure enough of its answers not to flip on that.
        $script:allMnist = New-HelloModel Mlp -ClassesFrom $train
        $null = Start-HelloTraining $allMnist $train -Epochs 1 -Optimizer Sgd
    }

    It 'gives PNG files written from test samples the same labels as the samples' {
        $fromSamples = $samples | Invoke-HelloClassify -Model $allMnist
        $fromFiles = Get-ChildItem $pngFolder | Sort-Object { [int]($_.Name -split '-')[2] } | Invoke-HelloClassify -Model $allMnist
        $fromFiles.Count | Should -Be 100
        ($fromFiles.Label -join '') | Should -Be ($fromSamples.Label -join '')
        $fromFiles[0].Path | Should -Be (Join-Path $pngFolder 'mnist-test-0-7.png')
        $fromFiles[0].Alternatives.Count | Should -Be 3
    }

    It 'expands wildcards in -Path' {
        (Invoke-HelloClassify $model -Path (Join-Path $pngFolder 'mnist-test-?-*.png')).Count | Should -Be 10
    }

    It 'gives one error per bad file and goes on with the good ones' {
        $mixed = Join-Path $TestDrive 'mixed'
        New-Item -ItemType Directory $mixed | Out-Null
        Copy-Item (Join-Path $pngFolder 'mnist-test-0-7.png') (Join-Path $mixed 'good.png')
        Copy-Item (Join-Path $pngFolder 'mnist-test-1-2.png') (Join-Path $mixed 'good [copy].png')
        Set-Content (Join-Path $mixed 'text.png') 'this is not a picture'
        New-Item -ItemType File (Join-Path $mixed 'empty.png') | Out-Null
        $results = Get-ChildItem -LiteralPath $mixed | Invoke-HelloClassify -Model $model -ErrorVariable problems -ErrorAction SilentlyContinue
        $results.Count | Should -Be 2
        ($results.Path | Split-Path -Leaf | Sort-Object) -join '|' | Should -Be 'good [copy].png|good.png'
        $problems.Count | Should -Be 2
        ($problems.FullyQualifiedErrorId | Sort-Object) -join '|' | Should -BeLike 'ImageFileEmpty,*|ImageFileNotAnImage,*'
        ($problems | Where-Object FullyQualifiedErrorId -like 'ImageFileEmpty*').Exception.Message | Should -BeLike '*empty.png*'
    }

    It 'marks answers below -MinimumConfidence as not confident but keeps them' {
        $results = $samples | Invoke-HelloClassify -Model $model -MinimumConfidence 0.999
        $results.Count | Should -Be 100
        @($results | Where-Object { -not $_.IsConfident }).Count | Should -BeGreaterThan 0
        @($results | Where-Object { $_.IsConfident -and $_.Confidence -lt 0.999 }).Count | Should -Be 0
    }

    It 'classifies a whole data set and reports whether each answer is right' {
        $results = Invoke-HelloClassify -Model $model -Dataset $test.Select([int[]](0..299))
        $results.Count | Should -Be 300
        $accuracy = @($results | Where-Object IsCorrect).Count / 300
        $accuracy | Should -BeGreaterThan 0.85
    }

    It 'classifies 1,000 small PNGs (files/s printed, not asserted)' {
        $many = Join-Path $TestDrive 'many'
        New-Item -ItemType Directory $many | Out-Null
        $null = Get-HelloSample $test -Index (0..999) | Export-HelloImage -Path $many -Scale 1
        $time = Measure-Command { $script:manyResults = Get-ChildItem $many | Invoke-HelloClassify -Model $model }
        Write-Host ("    1,000 PNG files classified in {0:N2} s ({1:N0} files/s)" -f $time.TotalSeconds, (1000 / $time.TotalSeconds))
        $manyResults.Count | Should -Be 1000
    }
}

Describe 'Stopping a training run' {
    It 'leaves a usable model and a loadable checkpoint when stopped from another thread' {
        $checkpoint = Join-Path $TestDrive 'stop.safetensors'
        $cnn = New-HelloModel Cnn -ClassesFrom $train
        $small = $train.Select([int[]](0..1279))
        $ps = [powershell]::Create()
        # Imported first and alone: a two-statement batch runs on a thread-pool item that can outlive
        # Stop and Dispose and then throws there, killing the whole test process.
        $null = $ps.AddCommand('Import-Module').AddArgument((Join-Path $RepoRoot 'HelloDl.psd1')).Invoke()
        $ps.Commands.Clear()
        $null = $ps.AddCommand('Start-HelloTraining').AddParameter('Model', $cnn).AddParameter('TrainingSet', $small).AddParameter('Epochs', 50).AddParameter('CheckpointPath', $checkpoint)
        $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
        $noInput = [System.Management.Automation.PSDataCollection[psobject]]::new()
        $noInput.Complete()
        $null = $ps.BeginInvoke($noInput, $output)
        $deadline = [DateTime]::UtcNow.AddMinutes(3)
        while ($output.Count -lt 1 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        $output.Count | Should -BeGreaterThan 0 -Because 'one epoch finishes within three minutes'
        Start-Sleep -Milliseconds 300   # mid-epoch
        $ps.Stop()
        $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        $ps.Dispose()

        $output.Count | Should -BeLessThan 50
        $cnn.TrainedEpochs | Should -BeGreaterOrEqual 1
        (Get-HelloSample $test -Index 0 | Invoke-HelloClassify $cnn).Label | Should -Match '^\d$'
        $restored = Import-HelloModel $checkpoint
        $restored.TrainedEpochs | Should -BeGreaterOrEqual 1
        $restored.TrainedEpochs | Should -BeLessOrEqual $cnn.TrainedEpochs
        @(Get-ChildItem (Split-Path $checkpoint) -Filter '*.tmp').Count | Should -Be 0
    }

    It 'resumes from the checkpoint up to the requested epochs, as if never stopped' {
        # A constant rate, so the one-epoch first run follows the same schedule as the two-epoch run.
        $checkpoint = Join-Path $TestDrive 'resume.safetensors'
        $small = $train.Select([int[]](0..1279))
        $a = New-HelloModel Mlp -ClassesFrom $train -Seed 3
        $null = Start-HelloTraining $a $small -Epochs 1 -Schedule Constant -CheckpointPath $checkpoint
        $b = New-HelloModel Mlp -ClassesFrom $train -Seed 3
        $rows = @(Start-HelloTraining $b $small -Epochs 2 -Schedule Constant -CheckpointPath $checkpoint -Resume)
        $rows.Count | Should -Be 1
        $rows[0].Epoch | Should -Be 2
        $straight = New-HelloModel Mlp -ClassesFrom $train -Seed 3
        $null = Start-HelloTraining $straight $small -Epochs 2 -Schedule Constant
        [System.Linq.Enumerable]::SequenceEqual($b.Values, $straight.Values) | Should -BeTrue
    }

    It 'resumes with the checkpoint''s optimizer and refuses another, naming the file' {
        $checkpoint = Join-Path $TestDrive 'sgd.safetensors'
        $small = $train.Select([int[]](0..639))
        $null = Start-HelloTraining (New-HelloModel Mlp -ClassesFrom $train) $small -Epochs 1 -Optimizer Sgd -CheckpointPath $checkpoint -BatchSize 64 -HoldOutFraction 0
        $resumed = New-HelloModel Mlp -ClassesFrom $train
        $rows = @(Start-HelloTraining $resumed $small -Epochs 2 -CheckpointPath $checkpoint -Resume -Verbose -BatchSize 64 -HoldOutFraction 0 4>&1)
        @($rows | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'Resumed from*' }).Message | Should -BeLike '*sgd.safetensors after epoch 1 (10 Sgd steps)*'
        @($rows | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }).Epoch | Should -Be 2
        $thrown = { Start-HelloTraining (New-HelloModel Mlp -ClassesFrom $train) $small -Epochs 3 -Optimizer Adam -CheckpointPath $checkpoint -Resume } |
            Should -Throw -ErrorId 'CheckpointOptimizerMismatch,*' -PassThru
        $thrown.Exception.Message | Should -BeLike "*sgd.safetensors*trained with Sgd*"
        { Start-HelloTraining (New-HelloModel Cnn -ClassesFrom $train) $small -Epochs 3 -CheckpointPath $checkpoint -Resume } | Should -Throw -ErrorId 'CheckpointModelMismatch,*'
        { Start-HelloTraining $resumed $small -Resume } | Should -Throw -ErrorId 'ResumeWithoutCheckpoint,*'
    }

    It 'writes no checkpoint with -WhatIf and stops with CheckpointWriteFailed when it cannot write one' {
        $small = $train.Select([int[]](0..639))
        $whatIf = Join-Path $TestDrive 'whatif.safetensors'
        $rows = @(Start-HelloTraining (New-HelloModel Linear -ClassesFrom $train) $small -Epochs 1 -CheckpointPath $whatIf -WhatIf)
        $rows.Count | Should -Be 1
        Test-Path $whatIf | Should -BeFalse
        $nowhere = Join-Path $TestDrive 'no/such/folder/ckpt.safetensors'
        { Start-HelloTraining (New-HelloModel Linear -ClassesFrom $train) $small -Epochs 1 -CheckpointPath $nowhere } | Should -Throw -ErrorId 'CheckpointWriteFailed,*'
    }
}

Describe 'Reading real scans' {
    BeforeAll {
        $script:scans = Join-Path $TestDrive 'scans'
        New-Item -ItemType Directory $scans | Out-Null
    }

    It 'writes realistic scans of samples and classifies them' {
        $files = Get-HelloSample $test -Index (0..9) | Export-HelloImage -Scan -Seed 4 -Path $scans
        $files.Count | Should -Be 10
        $results = $files | Invoke-HelloClassify -Model $model
        $results.Count | Should -Be 10
        @($results | Where-Object IsBlank).Count | Should -Be 0
    }

    It 'reports a blank page as blank, not as a digit' {
        # A 24-bit BMP of slightly noisy grey paper with a lighting gradient, and nothing written on it.
        $width = 120; $height = 90; $stride = [int][math]::Ceiling($width * 3 / 4) * 4
        $pixels = [byte[]]::new($stride * $height)
        $random = [Random]::new(1)
        for ($y = 0; $y -lt $height; $y++) { for ($x = 0; $x -lt $width * 3; $x++) { $pixels[$y * $stride + $x] = 200 + [int]($x / 12) + $random.Next(6) } }
        $header = [byte[]]::new(54)
        [BitConverter]::GetBytes([int](54 + $pixels.Length)).CopyTo($header, 2); $header[0] = 66; $header[1] = 77
        [BitConverter]::GetBytes([int]54).CopyTo($header, 10); [BitConverter]::GetBytes([int]40).CopyTo($header, 14)
        [BitConverter]::GetBytes([int]$width).CopyTo($header, 18); [BitConverter]::GetBytes([int]$height).CopyTo($header, 22)
        [BitConverter]::GetBytes([int16]1).CopyTo($header, 26); [BitConverter]::GetBytes([int16]24).CopyTo($header, 28)
        $paper = Join-Path $TestDrive 'paper.bmp'
        [IO.File]::WriteAllBytes($paper, [byte[]]($header + $pixels))
        $result = Invoke-HelloClassify -Model $model -LiteralPath $paper
        $result.IsBlank | Should -BeTrue
        $result.IsConfident | Should -BeFalse
        $result.Label | Should -BeNullOrEmpty
        ($result | Out-String) | Should -BeLike '*(blank)*'
    }

    It 'reads a line of digits with -Segment, in reading order, with boxes' {
        $line = Join-Path $TestDrive 'line.png'
        $null = Get-HelloSample $test -Index (0..5) | Export-HelloImage -Line -Seed 1 -Path $line
        $characters = Invoke-HelloClassify -Model $model -LiteralPath $line -Segment
        $characters.Count | Should -Be 6
        $characters.Index | Should -Be (1..6)
        ($characters.Line | Sort-Object -Unique) | Should -Be 1
        for ($i = 1; $i -lt 6; $i++) { $characters[$i].X | Should -BeGreaterThan $characters[$i - 1].X }
        $characters[0].Width | Should -BeGreaterThan 20
        $characters[0].Alternatives.Count | Should -Be 3
        $characters[0].GetType().FullName | Should -Be 'HelloDl.Inference.CharacterResult'
    }

    It 'gives the text of each line with -AsText and writes an annotated copy' {
        $line = Join-Path $TestDrive 'line2.png'
        $null = Get-HelloSample $test -Index (10..13) | Export-HelloImage -Line -Seed 2 -Path $line
        $boxed = Join-Path $TestDrive 'line2-boxed.png'
        $text = Invoke-HelloClassify -Model $model -LiteralPath $line -Segment -AsText -AnnotatedPath $boxed
        $text.Count | Should -Be 1
        $text.Text.Length | Should -Be 4
        $text.Text | Should -Match '^\d{4}$'
        Test-Path $boxed | Should -BeTrue
        (Get-Item $boxed).Length | Should -BeGreaterThan 1000
    }

    It 'refuses -AsText without -Segment' {
        { Invoke-HelloClassify -Model $model -LiteralPath (Join-Path $TestDrive 'line.png') -AsText } | Should -Throw -ErrorId 'SegmentOptionWithoutSegment,*'
    }

    It 'calibrates the model on the validation set and keeps the temperature in the model file' {
        $calibrated = New-HelloModel Mlp -ClassesFrom $train -Seed 2
        $null = Start-HelloTraining $calibrated $train.Select([int[]](0..4999)) -ValidationSet $test.Select([int[]](0..1999)) -Epochs 1 -Optimizer Sgd -Augment Scan
        $calibrated.Temperature | Should -Not -Be 1
        $calibrated.TrainingSummary | Should -BeLike '*calibrated temperature*'
        $file = Join-Path $TestDrive 'calibrated.safetensors'
        Export-HelloModel $calibrated $file
        (Import-HelloModel $file).Temperature | Should -Be $calibrated.Temperature
        $evaluation = Measure-HelloModel $calibrated $test
        $evaluation.RiskCoverage.Points.Count | Should -Be 10
        ($evaluation | Out-String) | Should -BeLike '*Confidence:*'
    }
}
