BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:train = Import-EmnistSet -Path $MnistFolder
    $script:test = Import-EmnistSet -Path $MnistFolder -Split Test
    $script:mlp = New-HelloModel Mlp -ClassesFrom $train -Seed 1
    $null = Start-HelloTraining $mlp $train -Epochs 1 -Optimizer Sgd
    $script:int8 = ConvertTo-HelloQuantizedModel $mlp -CalibrationSet $train
}

Describe 'ConvertTo-HelloQuantizedModel' {
    It 'returns an 8-bit model that Measure-HelloModel scores within 0.2 points of the float one' {
        $int8.Quantized.Bits | Should -Be 8
        $int8.Quantized.Calibration | Should -Be 'mnist-train: 4,096 images'
        ($int8 | Out-String) | Should -BeLike '*8-bit weights, activations calibrated on mnist-train*'
        $float = (Measure-HelloModel $mlp $test).Accuracy
        $quantized = (Measure-HelloModel $int8 $test).Accuracy
        Write-Host ("    MLP on MNIST test: float {0:P2}, int8 {1:P2}" -f $float, $quantized)
        ($float - $quantized) | Should -BeLessOrEqual 0.002
    }

    It 'classifies files with Invoke-HelloClassify, mostly as the float model does' {
        $folder = Join-Path $TestDrive 'digits'
        New-Item -ItemType Directory $folder | Out-Null
        $null = Get-HelloSample $test -Index (0..49) | Export-HelloImage -Path $folder
        $files = Get-ChildItem $folder | Sort-Object Name
        $floatLabels = ($files | Invoke-HelloClassify -Model $mlp).Label
        $int8Labels = ($files | Invoke-HelloClassify -Model $int8).Label
        @(0..49 | Where-Object { $floatLabels[$_] -ne $int8Labels[$_] }).Count | Should -BeLessOrEqual 1
    }

    It 'exports and imports as a smaller file with the same answers, at 8 and 4 bits' {
        $floatFile = Export-HelloModel $mlp (Join-Path $TestDrive 'float.safetensors') -PassThru
        $int8File = Export-HelloModel $int8 (Join-Path $TestDrive 'int8.safetensors') -PassThru
        $int4 = ConvertTo-HelloQuantizedModel $mlp -CalibrationSet $train -Bits 4
        $int4File = Export-HelloModel $int4 (Join-Path $TestDrive 'int4.safetensors') -PassThru
        Write-Host ("    MLP files: float {0:N0}, int8 {1:N0}, 4-bit {2:N0} bytes" -f $floatFile.Length, $int8File.Length, $int4File.Length)
        ($floatFile.Length / $int8File.Length) | Should -BeGreaterThan 3.8
        ($floatFile.Length / $int4File.Length) | Should -BeGreaterThan 7
        $samples = Get-HelloSample $test -Index (0..199)
        $loaded = Import-HelloModel $int8File.FullName
        $loaded.Quantized.Bits | Should -Be 8
        (($samples | Invoke-HelloClassify $loaded).Confidence -join ',') | Should -Be (($samples | Invoke-HelloClassify $int8).Confidence -join ',')
        (Import-HelloModel $int4File.FullName).Quantized.Bits | Should -Be 4
    }

    It 'refuses to train, to export to ONNX and to quantise twice, with error ids' {
        { Start-HelloTraining $int8 $train -Epochs 1 } | Should -Throw -ErrorId 'QuantizedModelNotTrainable,*'
        Export-HelloModel $int8 (Join-Path $TestDrive 'int8.onnx') -ErrorVariable onnxProblems -ErrorAction SilentlyContinue
        $onnxProblems[0].FullyQualifiedErrorId | Should -BeLike 'OnnxExportNotSupported,*'
        Test-Path (Join-Path $TestDrive 'int8.onnx') | Should -BeFalse
        $results = @($mlp, $int8 | ConvertTo-HelloQuantizedModel -CalibrationSet $train -ErrorVariable twice -ErrorAction SilentlyContinue)
        $results.Count | Should -Be 1
        $twice[0].FullyQualifiedErrorId | Should -BeLike 'ModelAlreadyQuantized,*'
    }

    It 'stops on an empty calibration set with CalibrationSetUnusable' {
        { ConvertTo-HelloQuantizedModel $mlp -CalibrationSet $train.Select([int[]]@()) } | Should -Throw -ErrorId 'CalibrationSetUnusable,*'
        { ConvertTo-HelloQuantizedModel $mlp -CalibrationSet $train -Bits 5 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
    }
}
