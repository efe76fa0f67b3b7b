BeforeDiscovery {
    # Full and read-only disks are small tmpfs mounts, which need root on Linux.
    $script:CanMount = $false
    if ($IsLinux -and (& id -u) -eq '0') {
        $probe = Join-Path ([IO.Path]::GetTempPath()) "hellodl-mount-probe-$PID"
        New-Item -ItemType Directory -Force $probe | Out-Null
        & mount -t tmpfs -o size=64k tmpfs $probe 2>$null
        if ($LASTEXITCODE -eq 0) { $script:CanMount = $true; & umount $probe }
        Remove-Item -LiteralPath $probe -Force
    }
    if (-not $CanMount) { Write-Host '    Skipping the full-disk and read-only tests: a tmpfs cannot be mounted here (they need root on Linux).' }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:train = Import-EmnistSet -Path $MnistFolder
    $script:test = Import-EmnistSet -Path $MnistFolder -Split Test
    $script:small = $train.Select([int[]](0..19999))
    $script:mlp = New-HelloModel Mlp -ClassesFrom $train -Seed 1
    $null = Start-HelloTraining $mlp $small -Epochs 1 -Optimizer Sgd
    $script:pwshDll = Join-Path $PSHOME 'pwsh.dll'
    $script:manifest = Join-Path $RepoRoot 'HelloDl.psd1'

    function Mount-Tmpfs([string]$Path, [string]$Options) {
        New-Item -ItemType Directory -Force $Path | Out-Null
        & mount -t tmpfs -o $Options tmpfs $Path
        if ($LASTEXITCODE -ne 0) { throw "mount -o $Options $Path failed." }
    }
    # The module's own assemblies (and ImageSharp) live in its load context, not PowerShell's.
    function Get-ModuleType([string]$Assembly, [string]$Name) {
        $context = [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($mlp.GetType().Assembly)
        $context.LoadFromAssemblyName([Reflection.AssemblyName]::new($Assembly)).GetType($Name, $true)
    }
    function Same-Values($a, $b) { [Linq.Enumerable]::SequenceEqual([float[]]$a.Values, [float[]]$b.Values) }
    # A training run in its own pwsh, as a user's script would be, so it can be killed.
    $script:trainScript = Join-Path $TestDrive 'train.ps1'
    Set-Content -LiteralPath $trainScript -Value @'
param($Manifest, $Mnist, $Count, $Epochs, $CheckpointPath, $LogPath, $ModelPath)
$ErrorActionPreference = 'Stop'
Import-Module $Manifest
$set = (Import-EmnistSet -Path $Mnist).Select([int[]](0..($Count - 1)))
$model = New-HelloModel Mlp -ClassesFrom $set -Seed 3
$options = @{ Epochs = $Epochs; Optimizer = 'Sgd'; HoldOutFraction = 0; BatchSize = 64 }
if ($CheckpointPath) { $options.CheckpointPath = $CheckpointPath; $options.Resume = Test-Path -LiteralPath $CheckpointPath }
if ($LogPath) { $options.LogPath = $LogPath }
$null = Start-HelloTraining $model $set @options
if ($ModelPath) { Export-HelloModel $model $ModelPath -Force }
'@
    function Start-Training([hashtable]$Arguments) {
        $list = @($pwshDll, '-NoProfile', '-NonInteractive', '-File', $trainScript, '-Manifest', $manifest, '-Mnist', $MnistFolder)
        foreach ($key in $Arguments.Keys) { $list += "-$key"; $list += "$($Arguments[$key])" }
        Start-Process dotnet -ArgumentList $list -PassThru -RedirectStandardError (Join-Path $TestDrive "stderr-$([guid]::NewGuid()).txt")
    }
}

Describe 'A folder of awkward files' {
    BeforeAll {
        $script:folder = Join-Path $TestDrive 'awkward'
        New-Item -ItemType Directory $folder | Out-Null
        # Digits the model reads right, as PNG and as JPEG; then every kind of bad file.
        $right = @(Invoke-HelloClassify -Model $mlp -Dataset $test.Select([int[]](0..49)) | Where-Object IsCorrect | Select-Object -First 3)
        $null = Get-HelloSample $test -Index $right.Index | Export-HelloImage -Path $folder -Scale 4
        $pngs = @(Get-ChildItem $folder -Filter *.png)
        $script:expected = @{}
        foreach ($png in $pngs) { $expected[$png.Name] = ($png.BaseName -split '-')[-1] }
        $imageType = Get-ModuleType SixLabors.ImageSharp SixLabors.ImageSharp.Image
        $save = Get-ModuleType SixLabors.ImageSharp SixLabors.ImageSharp.ImageExtensions
        $gray = Get-ModuleType SixLabors.ImageSharp SixLabors.ImageSharp.PixelFormats.L8
        $grayImage = (Get-ModuleType SixLabors.ImageSharp 'SixLabors.ImageSharp.Image`1').MakeGenericType($gray)
        $image = $imageType::Load($pngs[0].FullName)
        $save::SaveAsJpeg($image, (Join-Path $folder 'photo.jpg'))
        $image.Dispose()
        $expected['photo.jpg'] = $expected[$pngs[0].Name]
        $png = [IO.File]::ReadAllBytes($pngs[0].FullName)
        $jpeg = [IO.File]::ReadAllBytes((Join-Path $folder 'photo.jpg'))
        [IO.File]::WriteAllBytes((Join-Path $folder 'cut.png'), $png[0..($png.Length / 2)]); $expected['cut.png'] = 'ImageFileTruncated'
        [IO.File]::WriteAllBytes((Join-Path $folder 'cut.jpg'), $jpeg[0..($jpeg.Length / 2)]); $expected['cut.jpg'] = 'ImageFileTruncated'
        $flipped = $png.Clone(); $flipped[$png.Length - 40] = $flipped[$png.Length - 40] -bxor 4
        [IO.File]::WriteAllBytes((Join-Path $folder 'flipped.png'), $flipped); $expected['flipped.png'] = 'ImageFileCorrupt'
        $save::SaveAsPng($grayImage::new(1, 1), (Join-Path $folder 'tiny.png')); $expected['tiny.png'] = 'ImageFileTooSmall'
        $save::SaveAsPng($grayImage::new(120, 90, $gray::new(250)), (Join-Path $folder 'blank.png')); $expected['blank.png'] = 'blank'
        New-Item -ItemType File (Join-Path $folder 'empty.png') | Out-Null; $expected['empty.png'] = 'ImageFileEmpty'
        Set-Content (Join-Path $folder 'notes.png') 'not a picture'; $expected['notes.png'] = 'ImageFileNotAnImage'
    }

    It 'gets every file right: a digit, blank, or the error that names its problem' {
        $results = Get-ChildItem -LiteralPath $folder | Invoke-HelloClassify -Model $mlp -ErrorVariable problems -ErrorAction SilentlyContinue
        $got = @{}
        foreach ($result in $results) { $got[(Split-Path -Leaf $result.Path)] = if ($result.IsBlank) { 'blank' } else { $result.Label } }
        foreach ($problem in $problems) { $got[(Split-Path -Leaf $problem.TargetObject)] = $problem.FullyQualifiedErrorId.Split(',')[0] }
        foreach ($name in $expected.Keys) { "${name}: $($got[$name])" | Should -Be "${name}: $($expected[$name])" }
        $got.Count | Should -Be $expected.Count
    }
}

Describe 'Model files that were damaged after they were written' {
    It 'refuses a flipped bit with ModelFileCorrupt and loads a version-1 file with a warning' {
        $path = Join-Path $TestDrive 'model.safetensors'
        Export-HelloModel $mlp $path
        $bytes = [IO.File]::ReadAllBytes($path)
        $bytes[$bytes.Length - 1000] = $bytes[$bytes.Length - 1000] -bxor 1
        $damaged = Join-Path $TestDrive 'damaged.safetensors'
        [IO.File]::WriteAllBytes($damaged, $bytes)
        { Import-HelloModel $damaged } | Should -Throw -ErrorId 'ModelFileCorrupt,*'
        # As a HelloDl before checksums wrote it: format version 1, no checksum.
        $safetensors = Get-ModuleType HelloDl.Core HelloDl.Serialization.SafeTensors
        $content = $safetensors::Read($path)
        $metadata = [Collections.Generic.Dictionary[string, string]]::new($content.Metadata)
        $null = $metadata.Remove('checksum_sha256'); $metadata['format_version'] = '1'
        $old = Join-Path $TestDrive 'old.safetensors'
        $stream = [IO.File]::Create($old)
        try { $safetensors::Write($stream, $content.Tensors, $metadata) } finally { $stream.Dispose() }
        $loaded = Import-HelloModel $old -WarningVariable warnings -WarningAction SilentlyContinue
        Same-Values $loaded $mlp | Should -BeTrue
        $warnings[0] | Should -BeLike '*old.safetensors*no checksum*'
    }
}

Describe 'Parameters that make no sense' {
    It 'refuses a batch larger than the set before any work starts' {
        $log = Join-Path $TestDrive 'never.sqlite'
        { Start-HelloTraining $mlp $train.Select([int[]](0..99)) -BatchSize 500 -LogPath $log } | Should -Throw -ErrorId 'BatchLargerThanSet,*'
        Test-Path -LiteralPath $log | Should -BeFalse
    }

    It 'refuses classes that do not match the model' {
        $letters = New-HelloModel Linear -ClassNames 'a', 'b'
        { Start-HelloTraining $letters $small } | Should -Throw -ErrorId 'ClassesDoNotMatch,*'
    }

    It 'stops a run whose loss turns NaN with a clear error and keeps the last good weights' {
        $wild = New-HelloModel Mlp -ClassesFrom $train -Seed 2
        $thrown = { Start-HelloTraining $wild $small -Optimizer Sgd -LearningRate 10 -Momentum 0.99 -BatchSize 16 -Schedule Constant } |
            Should -Throw -ErrorId 'TrainingDiverged,*' -PassThru
        $thrown.Exception.Message | Should -BeLike '*loss became*lower learning rate*'
        @($wild.Values | Where-Object { -not [float]::IsFinite($_) }).Count | Should -Be 0
        (Measure-HelloModel -Model $wild -Dataset $test.Select([int[]](0..99))).Count | Should -Be 100
    }
}

Describe 'A training run killed with SIGKILL' {
    It 'leaves a checkpoint that loads and resumes bit-exactly, wherever it was killed' {
        $checkpoint = Join-Path $TestDrive 'killed.safetensors'
        $arguments = @{ Count = 20000; Epochs = 10 }
        # The uninterrupted run first: it is the reference, and its length says when to kill. A fixed
        # delay missed every run on a CPU that trains all ten epochs in a second.
        $reference = Join-Path $TestDrive 'reference.safetensors'
        $clock = [Diagnostics.Stopwatch]::StartNew()
        (Start-Training ($arguments + @{ ModelPath = $reference })).WaitForExit()
        $runMs = [int]$clock.ElapsedMilliseconds
        $random = [Random]::new(7)
        $kills = 0
        foreach ($attempt in 1..4) {
            $process = Start-Training ($arguments + @{ CheckpointPath = $checkpoint })
            Start-Sleep -Milliseconds ($runMs * (20 + $random.Next(60)) / 100)   # 20-80% into a whole run's time
            if (-not $process.HasExited) { & kill -KILL $process.Id; $kills++ }
            $process.WaitForExit()
            if (Test-Path -LiteralPath $checkpoint) {
                $state = Import-HelloModel $checkpoint   # loads whenever it was killed: the file is whole or the previous one
                $state.TrainedEpochs | Should -BeGreaterThan 0
            }
        }
        $kills | Should -BeGreaterThan 0
        $resumed = Join-Path $TestDrive 'resumed.safetensors'
        (Start-Training ($arguments + @{ CheckpointPath = $checkpoint; ModelPath = $resumed })).WaitForExit()
        Write-Host "    killed $kills time(s) in 4 starts (a whole run takes $runMs ms); resumed to the end"
        Same-Values (Import-HelloModel $resumed) (Import-HelloModel $reference) | Should -BeTrue
    }
}

Describe 'Concurrent use' {
    It 'lets two trainings log into one SQLite file at the same time' {
        $log = Join-Path $TestDrive 'shared.sqlite'
        $first = Start-Training @{ Count = 10000; Epochs = 3; LogPath = $log }
        $second = Start-Training @{ Count = 6400; Epochs = 3; LogPath = $log }
        $first.WaitForExit(); $second.WaitForExit()
        ($first.ExitCode, $second.ExitCode) -join ',' | Should -Be '0,0'
        $runs = @(Get-HelloTrainingLog $log)
        $runs.Count | Should -Be 2
        $batches = Get-HelloTrainingLog $log -Table Batches | Group-Object RunId | Sort-Object { $_.Group.Count }
        (($batches | ForEach-Object Count) -join ',') | Should -Be '300,471'   # 3 x 100 and 3 x 157 batches of 64
    }

    It 'classifies from four runspaces with one model while another model trains, as it does alone' {
        $folder = Join-Path $TestDrive 'concurrent'
        $null = Get-HelloSample $test -Index (0..199) | Export-HelloImage -Path $folder -Scale 2
        $files = (Get-ChildItem $folder | Sort-Object Name).FullName
        $alone = ($files | Invoke-HelloClassify -Model $mlp).Label -join ''
        $pool = [runspacefactory]::CreateRunspacePool(1, 5)
        $pool.Open()
        try {
            $trainer = [powershell]::Create(); $trainer.RunspacePool = $pool
            $null = $trainer.AddScript({ param($m, $set) Import-Module $m; $model = New-HelloModel Cnn -ClassesFrom $set; Start-HelloTraining $model $set.Select([int[]](0..1999)) -Epochs 1 }).
                AddArgument($manifest).AddArgument($train)
            $training = $trainer.BeginInvoke()
            $jobs = foreach ($part in 0..3) {
                $shell = [powershell]::Create(); $shell.RunspacePool = $pool
                $paths = [string[]]($files | Where-Object { [array]::IndexOf($files, $_) % 4 -eq $part })
                $null = $shell.AddScript({ param($m, $model, $paths) Import-Module $m; Invoke-HelloClassify -Model $model -LiteralPath $paths }).
                    AddArgument($manifest).AddArgument($mlp).AddArgument($paths)
                [pscustomobject]@{ Shell = $shell; Handle = $shell.BeginInvoke() }
            }
            $results = foreach ($job in $jobs) { $job.Shell.EndInvoke($job.Handle); $job.Shell.Dispose() }
            $epochs = $trainer.EndInvoke($training)
            $trainer.Dispose()
        }
        finally { $pool.Dispose() }
        $epochs.Count | Should -Be 1
        (($results | Sort-Object Path).Label -join '') | Should -Be $alone
    }
}

Describe 'Writes that fail part-way' -Skip:(-not $CanMount) {
    # Lazily: a file still open must not keep the mount, and with it TestDrive, from going away.
    AfterEach { foreach ($mount in @(Get-ChildItem $TestDrive -Directory -Filter 'disk-*')) { & umount -l $mount.FullName 2>$null } }

    It 'keeps the previous model file when the disk fills during Export-HelloModel' {
        $disk = Join-Path $TestDrive 'disk-model'
        Mount-Tmpfs $disk 'size=600k'
        $path = Join-Path $disk 'model.safetensors'
        Export-HelloModel $mlp $path                  # 437 KB; writing it again needs room for a second copy
        $retrained = New-HelloModel Mlp -ClassesFrom $train -Seed 9
        Export-HelloModel $retrained $path -Force -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'ModelFileWriteFailed,*'
        $failed[0].Exception.Message | Should -BeLike '*model.safetensors*unchanged*'
        Same-Values (Import-HelloModel $path) $mlp | Should -BeTrue
        @(Get-ChildItem $disk).Name -join ',' | Should -Be 'model.safetensors'   # no temporary file left
    }

    It 'keeps the last checkpoint when the disk fills during training' {
        $disk = Join-Path $TestDrive 'disk-checkpoint'
        Mount-Tmpfs $disk 'size=1200k'                # one checkpoint (875 KB) fits, a second beside it does not
        $path = Join-Path $disk 'run.safetensors'
        $model = New-HelloModel Mlp -ClassesFrom $train -Seed 4
        { Start-HelloTraining $model $small -Epochs 3 -Optimizer Sgd -CheckpointPath $path } | Should -Throw -ErrorId 'CheckpointWriteFailed,*'
        $model.TrainedEpochs | Should -Be 2
        (Import-HelloModel $path).TrainedEpochs | Should -Be 1
    }

    It 'keeps what the SQLite log held when the disk fills while logging' {
        $disk = Join-Path $TestDrive 'disk-log'
        Mount-Tmpfs $disk 'size=512k'
        $log = Join-Path $disk 'runs.sqlite'
        $null = Start-HelloTraining (New-HelloModel Linear -ClassesFrom $train) $train.Select([int[]](0..6399)) -Epochs 1 -BatchSize 64 -HoldOutFraction 0 -LogPath $log
        $filler = Join-Path $disk 'filler'
        $free = [IO.DriveInfo]::new($disk).AvailableFreeSpace
        [IO.File]::WriteAllBytes($filler, [byte[]]::new($free - 64KB))   # room for the run's row and a little more
        $thrown = { Start-HelloTraining (New-HelloModel Linear -ClassesFrom $train) $small -Epochs 10 -LogPath $log } | Should -Throw -PassThru
        $thrown.FullyQualifiedErrorId | Should -BeLike 'TrainingLogWriteFailed,*'
        Remove-Item -LiteralPath $filler
        @(Get-HelloTrainingLog $log -Table Batches -RunId 1).Count | Should -Be 100
    }

    It 'gives a clear error for a read-only target' {
        $disk = Join-Path $TestDrive 'disk-readonly'
        Mount-Tmpfs $disk 'size=64k,ro'
        Export-HelloModel $mlp (Join-Path $disk 'model.safetensors') -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'ModelFileWriteFailed,*'
        $failed[0].Exception.Message | Should -BeLike '*model.safetensors*'
    }
}
