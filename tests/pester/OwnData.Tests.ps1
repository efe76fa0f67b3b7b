# Phase 4: one's own images, as people have them, imported, fine-tuned on, reviewed. The folders
# are made here: MNIST test digits cut tightly and shrunk to blocky 8x8 (as old digit sets come),
# MNIST digits written mirror-wise (a style no MNIST model knows), and X-versus-O drawn by the test.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "hello-own-$PID"
    New-Item -ItemType Directory -Force -Path $Work | Out-Null

    # A binary PGM (ImageSharp reads it like PNG): dark ink on white, as a scanner writes.
    function Write-Pgm([string]$Path, [int]$Width, [int]$Height, [byte[]]$Ink) {
        $paper = [byte[]]::new($Ink.Length)
        for ($i = 0; $i -lt $Ink.Length; $i++) { $paper[$i] = 255 - $Ink[$i] }
        New-Item -ItemType Directory -Force -Path (Split-Path -Parent $Path) | Out-Null
        [IO.File]::WriteAllBytes($Path, [Text.Encoding]::ASCII.GetBytes("P5`n$Width $Height`n255`n") + $paper)
    }

    # The digit cut to its ink and block-averaged to 8x8 with 17 grey levels.
    function ConvertTo-Blocky8([byte[]]$Pixels) {
        $left = 28; $right = -1; $top = 28; $bottom = -1
        for ($y = 0; $y -lt 28; $y++) { for ($x = 0; $x -lt 28; $x++) { if ($Pixels[$y * 28 + $x] -gt 0) {
            $left = [Math]::Min($left, $x); $right = [Math]::Max($right, $x); $top = [Math]::Min($top, $y); $bottom = [Math]::Max($bottom, $y) } } }
        $side = [Math]::Max($right - $left + 1, $bottom - $top + 1)
        $out = [byte[]]::new(64)
        for ($by = 0; $by -lt 8; $by++) { for ($bx = 0; $bx -lt 8; $bx++) {
            $sum = 0; $count = 0
            for ($y = [int][Math]::Floor($by * $side / 8); $y -lt [Math]::Max([Math]::Floor(($by + 1) * $side / 8), [Math]::Floor($by * $side / 8) + 1); $y++) {
                for ($x = [int][Math]::Floor($bx * $side / 8); $x -lt [Math]::Max([Math]::Floor(($bx + 1) * $side / 8), [Math]::Floor($bx * $side / 8) + 1); $x++) {
                    $sy = $top + $y; $sx = $left + $x
                    if ($sy -lt 28 -and $sx -lt 28) { $sum += $Pixels[$sy * 28 + $sx] }
                    $count++ } }
            $out[$by * 8 + $bx] = [byte]([Math]::Round($sum / $count / 255 * 16) * 255 / 16) } }
        $out
    }

    $test = Import-EmnistSet $MnistFolder -Split Test
    foreach ($i in 0..999) {
        $sample = $test.GetSample($i)
        $part = if ($i -lt 600) { 'train' } else { 'check' }
        Write-Pgm (Join-Path $Work "blocky-$part/$($sample.ClassName)/$i.pgm") 8 8 (ConvertTo-Blocky8 $sample.Image.Pixels)
    }
    Set-Content -LiteralPath (Join-Path $Work 'blocky-train/3/broken.pgm') -Value 'not an image'
    Write-Pgm (Join-Path $Work 'blocky-train/5/empty-page.pgm') 8 8 ([byte[]]::new(64))

    # X and O, drawn with random size, position and pen on 40x40 paper.
    $random = [Random]::new(5)
    foreach ($n in 0..79) {
        foreach ($shape in 'X', 'O') {
            $ink = [byte[]]::new(1600)
            $r = $random.Next(9, 17); $cx = $random.Next(17, 23); $cy = $random.Next(17, 23); $pen = $random.Next(1, 4)
            for ($t = 0; $t -lt 400; $t++) {
                $a = $t / 400.0
                $points = [Collections.Generic.List[double[]]]::new()
                if ($shape -eq 'O') { $points.Add(@(($cx + $r * [Math]::Cos(2 * [Math]::PI * $a)), ($cy + $r * [Math]::Sin(2 * [Math]::PI * $a)))) }
                else { $points.Add(@(($cx - $r + 2 * $r * $a), ($cy - $r + 2 * $r * $a))); $points.Add(@(($cx + $r - 2 * $r * $a), ($cy - $r + 2 * $r * $a))) }
                foreach ($p in $points) { for ($dy = 0; $dy -lt $pen; $dy++) { for ($dx = 0; $dx -lt $pen; $dx++) {
                    $x = [int]$p[0] + $dx; $y = [int]$p[1] + $dy
                    if ($x -ge 0 -and $x -lt 40 -and $y -ge 0 -and $y -lt 40) { $ink[$y * 40 + $x] = 230 } } } }
            }
            $part = if ($n -lt 40) { 'train' } else { 'check' }
            Write-Pgm (Join-Path $Work "xo-$part/$shape/$n.pgm") 40 40 $ink
        }
    }

    # Handwriting of another style: MNIST test digits written mirror-wise, as no MNIST model has seen.
    foreach ($i in 1000..1499) {
        $sample = $test.GetSample($i)
        $mirrored = [byte[]]::new(784)
        for ($y = 0; $y -lt 28; $y++) { for ($x = 0; $x -lt 28; $x++) { $mirrored[$y * 28 + 27 - $x] = $sample.Image.Pixels[$y * 28 + $x] } }
        $part = if ($i -lt 1150) { 'train' } else { 'check' }
        Write-Pgm (Join-Path $Work "mirror-$part/$($sample.ClassName)/$i.pgm") 28 28 $mirrored
    }

    # An MNIST CNN to start from: one epoch on 20,000 images.
    $script:Mnist = New-HelloModel Cnn -ClassesFrom $test
    $null = Start-HelloTraining $Mnist (Import-EmnistSet $MnistFolder).Select([int[]](0..19999)) -Epochs 1
}

AfterAll {
    Remove-Item -LiteralPath $Work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Import-HelloImageSet' {
    It 'imports a folder of class subfolders, one error per bad file and one warning counting the blank ones' {
        $set = Import-HelloImageSet (Join-Path $Work 'blocky-train') -ErrorVariable bad -ErrorAction SilentlyContinue -WarningVariable warned -WarningAction SilentlyContinue
        $set.Count | Should -Be 600
        $set.ClassNames -join '' | Should -Be '0123456789'
        $set.Rows | Should -Be 28
        @($bad).Count | Should -Be 1
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'ImageFileNotAnImage,*'
        $bad[0].TargetObject | Should -BeLike '*broken.pgm'
        "$warned" | Should -BeLike '1 of 602 images had no ink*empty-page.pgm*'
    }

    It 'takes a CSV manifest, with an error per unusable line, and files by pipeline with -Label' {
        $manifest = Join-Path $Work 'labels.csv'
        Set-Content -LiteralPath $manifest -Value @('file,label', 'blocky-train/7/0.pgm,7', '"blocky-train/2/1.pgm",2', 'blocky-train/1/2.pgm,', 'missing.png,4')
        $set = Import-HelloImageSet -ManifestPath $manifest -ErrorVariable bad -ErrorAction SilentlyContinue
        $set.Count | Should -Be 2
        $set.ClassNames -join ' ' | Should -Be '2 7'
        ($bad | ForEach-Object { $_.FullyQualifiedErrorId.Split(',')[0] }) -join ' ' | Should -Be 'ImageSetManifestBadLine ImageFileMissing'
        $fours = Get-ChildItem (Join-Path $Work 'blocky-train/4') -File | Import-HelloImageSet -Label 4 -ClassNames 3, 4
        $fours.ClassNames -join ' ' | Should -Be '3 4'
        $fours.ClassCounts['4'] | Should -Be (Get-ChildItem (Join-Path $Work 'blocky-train/4') -File).Count
    }

    It 'gives a data set that the other cmdlets take unchanged' {
        $set = Import-HelloImageSet (Join-Path $Work 'blocky-check')
        (Get-HelloSample $set -Index 0).Image.Rows | Should -Be 28
        (Measure-HelloModel $Mnist $set).Count | Should -Be 400
        $idx = Join-Path $Work 'idx'
        $files = Export-EmnistSet $set $idx
        $back = Import-EmnistSet $idx
        $back.Count | Should -Be 400
        $back.ClassNames -join '' | Should -Be '0123456789'
        $back.GetSample(5).Image.Pixels | Should -Be $set.GetSample(5).Image.Pixels
        $files.Count | Should -Be 3
    }
}

Describe 'Split-HelloDataset and Join-HelloDataset' {
    It 'splits each class in proportion, reproducibly, and joins by class name' {
        $set = Import-HelloImageSet (Join-Path $Work 'blocky-train') -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        $train, $validation = Split-HelloDataset -Dataset $set -ValidationFraction 0.2 -Seed 1
        ($train.Count + $validation.Count) | Should -Be 600
        foreach ($class in $set.ClassNames) { $validation.ClassCounts[$class] | Should -Be ([Math]::Round($set.ClassCounts[$class] * 0.2)) }
        $again = @(Split-HelloDataset $set 0.2 -Seed 1)[1]
        $again.GetSample(0).Image.Pixels | Should -Be $validation.GetSample(0).Image.Pixels

        $xo = Import-HelloImageSet (Join-Path $Work 'xo-train')
        $joined = Join-HelloDataset $train, $validation, $xo -Name all
        $joined.Count | Should -Be (600 + $xo.Count)
        $joined.ClassNames -join '' | Should -Be '0123456789OX'
    }
}

Describe 'Fine-tuning on one''s own images' {
    It 'reads another style far better after a fine-tune with the defaults than before' {
        $mine = Import-HelloImageSet (Join-Path $Work 'mirror-train')
        $mine.Count | Should -Be 150
        $check = Import-HelloImageSet (Join-Path $Work 'mirror-check')
        $zeroShot = (Measure-HelloModel $Mnist $check).Accuracy
        $fine = New-HelloModel -From $Mnist -ClassesFrom $mine
        $null = Start-HelloTraining -Model $fine -TrainingSet $mine -Epochs 20
        $fineTuned = (Measure-HelloModel $fine $check).Accuracy
        # Printed, not held: a style this far from MNIST is learnt better from scratch than at a
        # fine-tune's quarter rate (RealHandwriting.Tests holds fine-tune over scratch on real digits).
        $scratch = New-HelloModel Cnn -ClassesFrom $mine
        $null = Start-HelloTraining -Model $scratch -TrainingSet $mine -Epochs 20
        $fromScratch = (Measure-HelloModel $scratch $check).Accuracy
        # What the README advises for such a style: the architecture's full rate.
        $fast = New-HelloModel -From $Mnist -ClassesFrom $mine
        $null = Start-HelloTraining -Model $fast -TrainingSet $mine -Epochs 20 -LearningRate 0.002
        $fullRate = (Measure-HelloModel $fast $check).Accuracy
        Write-Host ("Mirror-written digits, 150 to train on, 350 unseen: zero-shot {0:P1}, fine-tuned {1:P1} (full rate {2:P1}), from scratch {3:P1}" -f $zeroShot, $fineTuned, $fullRate, $fromScratch)
        $fineTuned | Should -BeGreaterThan ($zeroShot + 0.2)
        $fullRate | Should -BeGreaterThan $fromScratch
        $Mnist.TrainingSummary | Should -Not -BeLike 'fine-tune*'   # -From copies; the source is untouched
    }

    It 'gives a new output layer for new classes and leaves frozen layers bit for bit as they were' {
        $xo = Import-HelloImageSet (Join-Path $Work 'xo-train')
        $fine = New-HelloModel -From $Mnist -ClassesFrom $xo
        $fine.ClassNames -join ' ' | Should -Be 'O X'
        $layout = $fine.ParameterLayout | Where-Object { $_.Item1 -like 'c*' }
        $before = foreach ($p in $layout) { , $fine.Values[$p.Item2..($p.Item2 + $p.Item3 - 1)] }
        $null = Start-HelloTraining -Model $fine -TrainingSet $xo -Epochs 5 -Freeze c1, c2, c3
        $i = 0
        foreach ($p in $layout) { $fine.Values[$p.Item2..($p.Item2 + $p.Item3 - 1)] | Should -Be $before[$i++] -Because "$($p.Item1) is frozen" }
        $fc = $fine.ParameterLayout | Where-Object Item1 -EQ 'fc1.weight'
        $Mnist.Values[$fc.Item2..($fc.Item2 + 9)] | Should -Not -Be $fine.Values[$fc.Item2..($fc.Item2 + 9)]
        (Measure-HelloModel $fine (Import-HelloImageSet (Join-Path $Work 'xo-check'))).Accuracy | Should -BeGreaterThan 0.95
        { Start-HelloTraining -Model $fine -TrainingSet $xo -Freeze pool1 } | Should -Throw -ErrorId 'UnknownLayer,*'
    }
}

Describe 'Export-HelloSample' {
    It 'files the files a model is unsure of under their predicted labels, to be imported again' {
        $review = Join-Path $Work 'review'
        $results = Get-ChildItem (Join-Path $Work 'blocky-check') -Recurse -File | Invoke-HelloClassify -Model $Mnist -MinimumConfidence 0.99
        $unsure = @($results | Where-Object { -not $_.IsConfident })
        $unsure.Count | Should -BeGreaterThan 0
        $written = @($unsure | Export-HelloSample -Path $review)
        $written.Count | Should -Be $unsure.Count
        foreach ($r in $unsure) { Join-Path $review $r.Label (Split-Path -Leaf $r.Path) | Should -Exist }
        @($unsure | Export-HelloSample -Path $review)[0].Name | Should -BeLike '*-2.pgm'   # never overwritten
        (Import-HelloImageSet $review).Count | Should -Be (2 * $unsure.Count)
        Get-ChildItem $review -Recurse -Force -Filter '.partial-*' | Should -BeNullOrEmpty
    }
}
