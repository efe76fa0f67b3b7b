# Text: mail-like messages made here (two kinds that share most words), imported from folders, a
# CSV and the pipeline, trained on, measured, saved, and classified by file and by string.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "hello-text-$PID"
    $words = @{ ham = 'patch', 'kernel', 'review', 'build', 'merge'; spam = 'winner', 'prize', 'cheap', 'offer', 'money' }
    $shared = 'the', 'a', 'meeting', 'today', 'please', 'see', 'attached', 'thanks'
    $random = [Random]::new(7)
    function New-Message([string]$Kind) {
        (1..12 | ForEach-Object { if ($_ % 3) { $shared[$random.Next($shared.Count)] } else { $words[$Kind][$random.Next(5)] } }) -join ' '
    }
    foreach ($part in 'train', 'check') {
        foreach ($kind in 'ham', 'spam') {
            $folder = New-Item -ItemType Directory -Force (Join-Path $Work "$part/$kind")
            $count = if ($kind -eq 'ham' -or $part -eq 'check') { 100 } else { 25 }
            foreach ($n in 1..$count) {
                # Every other one as a raw mail message: headers, then the text as quoted-printable.
                $text = New-Message $kind
                if ($n % 2) { $text = "From: someone@example.org`nSubject: note $n`nContent-Transfer-Encoding: quoted-printable`n`n" + ($text -replace ' ', '=20') }
                Set-Content -LiteralPath (Join-Path $folder "$n.txt") -Value $text
            }
        }
    }
    $script:Training = Import-HelloTextSet (Join-Path $Work 'train')
    $script:Check = Import-HelloTextSet (Join-Path $Work 'check') -ClassNames ham, spam
    $script:Model = New-HelloModel TextNgram -ClassesFrom $Training
    $script:LogPath = Join-Path $Work 'runs.sqlite'
    $script:Epochs = Start-HelloTraining $Model $Training -Epochs 8 -LogPath $LogPath
}

AfterAll { Remove-Item -Recurse -Force -LiteralPath $Work -ErrorAction SilentlyContinue }

Describe 'Import-HelloTextSet' {
    It 'takes the classes from the class subfolders' {
        $Training.GetType().FullName | Should -Be 'HelloDl.Data.TextDataset'
        $Training.Count | Should -Be 125
        $Training.ClassNames | Should -Be 'ham', 'spam'
        $Training.ClassCounts['spam'] | Should -Be 25
        ($Training | Out-String) | Should -BeLike '*train*125*ham spam*'
    }

    It 'labels piped files by their folder, or by -Label' {
        $byFolder = Get-ChildItem (Join-Path $Work 'check/spam') -File | Import-HelloTextSet
        $byFolder.ClassNames | Should -Be 'spam'
        $byFolder.Count | Should -Be 100
        $byLabel = Get-ChildItem (Join-Path $Work 'check/ham') -File | Select-Object -First 3 | Import-HelloTextSet -Label mail
        $byLabel.ClassNames | Should -Be 'mail'
    }

    It 'reports a binary and an oversized file by name and imports the rest' {
        $odd = New-Item -ItemType Directory -Force (Join-Path $Work 'odd/ham')
        Set-Content -LiteralPath (Join-Path $odd 'fine.txt') -Value 'please review the patch'
        [IO.File]::WriteAllBytes((Join-Path $odd 'picture.txt'), [byte[]](0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 13, 1, 2, 3))
        Set-Content -LiteralPath (Join-Path $odd 'huge.txt') -Value ('word ' * 1000)
        $set = Import-HelloTextSet (Join-Path $Work 'odd') -MaximumFileSize 2000 -ErrorVariable problems -ErrorAction SilentlyContinue
        $set.Count | Should -Be 1
        @($problems.FullyQualifiedErrorId -replace ',.*') | Sort-Object | Should -Be 'TextFileBinary', 'TextFileTooLarge'
        ($problems | Where-Object { $_.FullyQualifiedErrorId -like 'TextFileBinary*' }).Exception.Message | Should -BeLike '*picture.txt*binary*'
    }

    It 'names a folder without class subfolders' {
        $flat = New-Item -ItemType Directory -Force (Join-Path $Work 'flat')
        Set-Content -LiteralPath (Join-Path $flat 'a.txt') -Value 'hello'
        { Import-HelloTextSet $flat -ErrorAction Stop } | Should -Throw -ErrorId 'TextSetNoClassFolders*'
        (Import-HelloTextSet $flat -Label note).Count | Should -Be 1
    }

    It 'reads a CSV with quoted line breaks and names bad records' {
        $csv = Join-Path $Work 'comments.csv'
        Set-Content -LiteralPath $csv -Value "body,verdict`n""great patch,`nthanks"",ham`n""cheap prize"",spam`nno verdict,"
        $set = Import-HelloTextSet -CsvPath $csv -TextColumn body -LabelColumn verdict -ErrorVariable problems -ErrorAction SilentlyContinue
        $set.Count | Should -Be 2
        $set.GetText(0) | Should -Be "great patch,`nthanks"
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'TextSetCsvBadRecord*'
    }
}

Describe 'A text model through the cmdlets' {
    It 'trains with the defaults: oversampled spam, validated and calibrated on a held-out tenth' {
        $Epochs.Count | Should -Be 8
        $Epochs[0].Images | Should -Be 182   # 90 ham and 23 spam trained on (a tenth held out), spam shown 4 times
        $Epochs[-1].Validation.Dataset | Should -Be 'train-validation'
        $Epochs[-1].CalibratedTemperature | Should -Not -BeNullOrEmpty
        $Model.TrainingSummary | Should -BeLike '*calibrated temperature*'
    }

    It 'logs the run to SQLite like an image run' {
        $run = Get-HelloTrainingLog $LogPath
        $run.Architecture | Should -Be 'TextNgram'
        (Get-HelloTrainingLog $LogPath -Table Validations) | Should -HaveCount 8
        (Get-HelloTrainingLog $LogPath -Table Confusion | Measure-Object Count -Sum).Sum | Should -Be 12
    }

    It 'measures a text set like an image set' {
        $evaluation = Measure-HelloModel $Model $Check -MinimumAccuracy 0.95
        $evaluation.Accuracy | Should -BeGreaterOrEqual 0.95
        $evaluation.ConfusionMatrix.ClassNames | Should -Be 'ham', 'spam'
        $evaluation.ConfusionMatrix.Total | Should -Be 200
        $Check | Split-HelloDataset -ValidationFraction 0.5 | Should -HaveCount 2
        (Join-HelloDataset $Training, $Check).Count | Should -Be 325
    }

    It 'classifies files from Get-ChildItem and strings with -Text' {
        $files = Get-ChildItem (Join-Path $Work 'check/spam') -File | Select-Object -First 20 | Invoke-HelloClassify -Model $Model
        $files | Should -HaveCount 20
        @($files | Where-Object Label -eq 'spam').Count | Should -BeGreaterOrEqual 18
        $files[0].Path | Should -BeLike '*check*spam*.txt'
        $strings = 'please review the kernel patch today', 'a cheap prize, winner of money' | Invoke-HelloClassify -Model $Model -Text
        $strings.Label | Should -Be 'ham', 'spam'
        $strings[1].Text | Should -Be 'a cheap prize, winner of money'
        (Invoke-HelloClassify $Model -Text 'merge the build').Label | Should -Be 'ham'
        $all = Invoke-HelloClassify $Model -Dataset $Check
        @($all | Where-Object IsCorrect).Count / $all.Count | Should -BeGreaterOrEqual 0.95
    }

    It 'saves and loads the model with its hashing settings' {
        $path = Join-Path $Work 'mail.safetensors'
        Export-HelloModel $Model -Path $path
        $loaded = Import-HelloModel $path
        $loaded.Architecture | Should -Be 'TextNgram'
        $loaded.TextFeatures | Should -Be $Model.TextFeatures
        (Invoke-HelloClassify $loaded -Text 'see the attached patch').Confidence | Should -Be (Invoke-HelloClassify $Model -Text 'see the attached patch').Confidence
    }

    It 'refuses images for a text model and text for an image model, with stable ids' {
        $mnist = Import-EmnistSet $MnistFolder -Split Test
        { Measure-HelloModel $Model $mnist } | Should -Throw -ErrorId 'DatasetKindDoesNotMatch*'
        $imageModel = New-HelloModel Mlp -ClassNames ham, spam
        { Invoke-HelloClassify $imageModel -Text 'hello' } | Should -Throw -ErrorId 'TextNeedsTextModel*'
        { Start-HelloTraining $imageModel $Training } | Should -Throw -ErrorId 'DatasetKindDoesNotMatch*'
        { Start-HelloTraining $Model $Training -Augment Geometric } | Should -Throw -ErrorId 'AugmentationNeedsImages*'
        { ConvertTo-HelloQuantizedModel -Model $Model -CalibrationSet $mnist -ErrorAction Stop } | Should -Throw -ErrorId 'QuantizationNotSupported*'
        { Export-HelloModel $Model -Path (Join-Path $Work 'mail.onnx') -ErrorAction Stop } | Should -Throw -ErrorId 'OnnxExportNotSupported*'
    }
}

Describe 'Gru models through the cmdlets' {
    It 'classifies messages with a Gru, calibrated and saved like the others' {
        $gru = New-HelloModel Gru -ClassesFrom $Training -HiddenSize 24 -SequenceLength 64
        ($gru | Out-String) | Should -BeLike '*Gru*'
        $null = Start-HelloTraining $gru $Training -Epochs 6 -LearningRate 0.01
        (Measure-HelloModel $gru $Check).Accuracy | Should -BeGreaterOrEqual 0.9
        $path = Join-Path $Work 'gru.safetensors'
        Export-HelloModel $gru -Path $path
        $loaded = Import-HelloModel $path
        $loaded.Sequences.Length | Should -Be 64
        (Invoke-HelloClassify $loaded -Text 'a cheap prize for the winner').Confidence | Should -Be (Invoke-HelloClassify $gru -Text 'a cheap prize for the winner').Confidence
    }

    It 'trains a language model on a corpus and writes text from a prompt, the same for a seed' {
        $file = Join-Path $Work 'verse.txt'
        Set-Content -LiteralPath $file -Value ('the quick brown fox jumps over the lazy dog. ' * 40)
        $corpus = Import-HelloTextSet -LiteralPath $file -Label verse
        $writer = New-HelloModel Gru -Objective NextCharacter -HiddenSize 32 -SequenceLength 32
        $epochs = Start-HelloTraining $writer $corpus -Objective NextCharacter -Epochs 20 -BatchSize 2 -LearningRate 0.01
        $epochs[-1].TrainAccuracy | Should -BeGreaterThan 0.9
        $epochs[-1].Validation | Should -BeNullOrEmpty
        $text = Get-HelloText -Model $writer -Prompt 'the quick ' -Length 30 -Temperature 0.3 -Seed 1
        $text.Length | Should -Be 30
        $text | Should -BeLike 'brown fox*'
        Get-HelloText -Model $writer -Prompt 'the quick ' -Length 30 -Temperature 0.3 -Seed 1 | Should -Be $text
        Get-HelloText $writer 'the lazy ' -Length 5 -Seed 2 -IncludePrompt | Should -BeLike 'the lazy *'
    }

    It 'names what does not fit with stable ids' {
        { Get-HelloText -Model $Model -Prompt 'x' } | Should -Throw -ErrorId 'ModelIsNotLanguageModel*'
        $writer = New-HelloModel Gru -Objective NextCharacter -HiddenSize 4
        { Start-HelloTraining $Model $Training -Objective NextCharacter } | Should -Throw -ErrorId 'ObjectiveDoesNotMatch*'
        { New-HelloModel Mlp -Objective NextCharacter } | Should -Throw -ErrorId 'ObjectiveNotSupported*'
        { Invoke-HelloClassify $writer -Text 'hello' } | Should -Throw -ErrorId 'ModelIsLanguageModel*'
        { Measure-HelloModel $writer $Check } | Should -Throw -ErrorId 'ModelIsLanguageModel*'
        { Start-HelloTraining $writer $Training -ValidationSet $Check } | Should -Throw -ErrorId 'LanguageModelNotValidated*'
    }
}
