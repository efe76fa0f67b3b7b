BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:CmdletId = 'HelloDl.PowerShell.Cmdlets.ImportEmnistSetCommand'

    function New-IdxFile([string]$Path, [byte[]]$Header, [byte[]]$Body) {
        [System.IO.File]::WriteAllBytes($Path, [byte[]]($Header + $Body))
    }
}

Describe 'Import-EmnistSet on real MNIST' {
    BeforeAll {
        $script:train = Import-EmnistSet -Path $MnistFolder
        $script:test = Import-EmnistSet -Path $MnistFolder -Split Test
    }

    It 'loads 60,000 training and 10,000 test images of 28x28' {
        $train.Count | Should -Be 60000
        $test.Count | Should -Be 10000
        $train.Rows, $train.Columns | Should -Be 28, 28
        $train.Variant | Should -Be 'Mnist'
        $test.Split | Should -Be 'Test'
        $train.ClassNames -join '' | Should -Be '0123456789'
    }

    It 'has the published per-class counts' {
        $published = @{
            Train = 5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949
            Test  = 980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009
        }
        foreach ($digit in 0..9) {
            $train.ClassCounts["$digit"] | Should -Be $published.Train[$digit] -Because "train has $($published.Train[$digit]) images of $digit"
            $test.ClassCounts["$digit"] | Should -Be $published.Test[$digit] -Because "test has $($published.Test[$digit]) images of $digit"
        }
    }

    It 'holds each image''s bytes exactly as the IDX file stores them (load time printed, not asserted)' {
        $time = Measure-Command { $script:again = Import-EmnistSet -Path $MnistFolder }
        Write-Host ("    MNIST training set loaded in {0:N0} ms" -f $time.TotalMilliseconds)
        $file = [IO.File]::ReadAllBytes((Join-Path $MnistFolder 'train-images-idx3-ubyte'))
        $labels = [IO.File]::ReadAllBytes((Join-Path $MnistFolder 'train-labels-idx1-ubyte'))
        foreach ($index in 0, 1, 30000, 59999) {
            $sample = $again.GetSample($index)
            $stored = [byte[]]$file[(16 + 784 * $index)..(16 + 784 * $index + 783)]
            [Convert]::ToBase64String($sample.Image.Pixels) | Should -Be ([Convert]::ToBase64String($stored)) -Because "image $index"
            $sample.Label | Should -Be $labels[8 + $index]
        }
    }

    It 'takes one images file and finds the labels beside it, split from the name' {
        $set = Import-EmnistSet -Path (Join-Path $MnistFolder 't10k-images-idx3-ubyte')
        $set.Split | Should -Be 'Test'
        $set.Count | Should -Be 10000
    }

    It 'binds Get-Item output through PSPath and expands wildcards in -Path' {
        (Get-Item -LiteralPath $MnistFolder | Import-EmnistSet).Count | Should -Be 60000
        (Import-EmnistSet -Path (Join-Path $MnistFolder 't1?k-images-*')).Count | Should -Be 10000
    }

    It 'reads -LiteralPath names with brackets' {
        $folder = Join-Path $TestDrive 'mnist [copy]'
        New-Item -ItemType Directory -Path $folder | Out-Null
        Copy-Item -LiteralPath (Join-Path $MnistFolder 't10k-images-idx3-ubyte'), (Join-Path $MnistFolder 't10k-labels-idx1-ubyte') -Destination $folder
        (Import-EmnistSet -LiteralPath $folder).Count | Should -Be 10000
    }

    It 'writes a non-terminating error for a path that does not exist' {
        Import-EmnistSet -Path (Join-Path $TestDrive 'no-such-folder') -ErrorVariable problems -ErrorAction SilentlyContinue
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'PathNotFound,*'
    }
}

Describe 'EMNIST-format files made from MNIST' {
    BeforeAll {
        $mnistTest = Import-EmnistSet -Path $MnistFolder -Split Test
        $script:original = $mnistTest.Select([int[]](0..299))
        $script:emnistFolder = Join-Path $TestDrive 'emnist'
        New-Item -ItemType Directory -Path $emnistFolder | Out-Null
        $script:written = $original | Export-EmnistSet -Path $emnistFolder -Variant Digits -Compress
    }

    It 'writes NIST''s file names and mapping' {
        ($written.Name | Sort-Object) -join ',' | Should -Be 'emnist-digits-mapping.txt,emnist-digits-test-images-idx3-ubyte.gz,emnist-digits-test-labels-idx1-ubyte.gz'
        (Get-Content (Join-Path $emnistFolder 'emnist-digits-mapping.txt'))[0] | Should -Be '0 48'
    }

    It 'imports upright: every image equals the MNIST original' {
        $set = Import-EmnistSet -Path $emnistFolder
        $set.Variant | Should -Be 'Digits'
        $set.Name | Should -Be 'emnist-digits-test'
        $set.ClassNames -join '' | Should -Be '0123456789'
        foreach ($i in 0, 1, 17, 299) {
            $back = Get-HelloSample $set -Index $i
            $mine = Get-HelloSample $original -Index $i
            $back.ClassName | Should -Be $mine.ClassName
            [Convert]::ToBase64String($back.Image.Pixels) | Should -Be ([Convert]::ToBase64String($mine.Image.Pixels))
        }
    }

    It 'really stores the transposed layout on disk (read as MNIST it comes out mirrored)' {
        $raw = Import-EmnistSet -Path (Join-Path $emnistFolder 'emnist-digits-test-images-idx3-ubyte.gz') -Variant Mnist
        $seven = (Get-HelloSample $original -Index 0).Image
        $stored = (Get-HelloSample $raw -Index 0).Image
        (Get-HelloSample $original -Index 0).ClassName | Should -Be '7'
        $stored[3, 20] | Should -Be $seven[20, 3]
        [Convert]::ToBase64String($stored.Pixels) | Should -Not -Be ([Convert]::ToBase64String($seven.Pixels))
    }

    It 'reads a NIST-style gzip.zip in place' {
        $zip = Join-Path $TestDrive 'gzip.zip'
        $staging = Join-Path $TestDrive 'staging/gzip'
        New-Item -ItemType Directory -Path $staging -Force | Out-Null
        Copy-Item (Join-Path $emnistFolder '*') $staging
        Compress-Archive -Path (Split-Path $staging) -DestinationPath $zip
        $set = Import-EmnistSet -LiteralPath $zip
        $set.Count | Should -Be 300
        $set.Source | Should -BeLike '*gzip.zip!*emnist-digits-test-images-idx3-ubyte.gz'
    }
}

Describe 'Import-EmnistSet on bad files' {
    BeforeEach {
        $script:bad = Join-Path $TestDrive ([guid]::NewGuid())
        New-Item -ItemType Directory -Path $bad | Out-Null
        $script:images = Join-Path $bad 'train-images-idx3-ubyte'
        $script:labels = Join-Path $bad 'train-labels-idx1-ubyte'
        $script:goodHeader = [byte[]](0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2)
        New-IdxFile $labels ([byte[]](0, 0, 8, 1, 0, 0, 0, 2)) ([byte[]](1, 2))
    }

    It 'gives <Id> for <Case>' -ForEach @(
        @{ Case = 'a wrong magic number'; Id = 'IdxBadMagic'; Header = [byte[]](0, 0, 8, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2); Body = [byte[]]::new(8) }
        @{ Case = 'a truncated file'; Id = 'IdxTruncated'; Header = [byte[]](0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2); Body = [byte[]]::new(5) }
        @{ Case = 'a header claiming 2^31 images'; Id = 'IdxTooLarge'; Header = [byte[]](0, 0, 8, 3, 128, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28); Body = [byte[]]::new(8) }
        @{ Case = 'zero rows'; Id = 'IdxEmptyDimension'; Header = [byte[]](0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2); Body = [byte[]]::new(0) }
        @{ Case = 'more images than labels'; Id = 'IdxCountMismatch'; Header = [byte[]](0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2); Body = [byte[]]::new(12) }
    ) {
        New-IdxFile $images $Header $Body
        $thrown = { Import-EmnistSet -Path $images } | Should -Throw -ErrorId "$Id,$CmdletId" -PassThru
        $thrown.Exception.Message | Should -BeLike '*train-*-idx?-ubyte*'
    }

    It 'gives IdxLabelOutOfRange for a label outside the classes' {
        New-IdxFile $images $goodHeader ([byte[]]::new(8))
        New-IdxFile $labels ([byte[]](0, 0, 8, 1, 0, 0, 0, 2)) ([byte[]](1, 12))
        { Import-EmnistSet -Path $images } | Should -Throw -ErrorId "IdxLabelOutOfRange,$CmdletId"
    }

    It 'gives IdxLabelsFileMissing when no labels file is beside the images' {
        New-IdxFile $images $goodHeader ([byte[]]::new(8))
        Remove-Item -LiteralPath $labels
        $thrown = { Import-EmnistSet -Path $images } | Should -Throw -ErrorId "IdxLabelsFileMissing,$CmdletId" -PassThru
        $thrown.Exception.Message | Should -BeLike '*train-labels-idx1-ubyte*'
    }

    It 'gives a clean error for a truncated gzip stream' {
        $data = [System.IO.MemoryStream]::new()
        $gzip = [System.IO.Compression.GZipStream]::new($data, [System.IO.Compression.CompressionLevel]::Fastest, $true)
        $body = [byte[]]::new(4000); (New-Object Random 1).NextBytes($body)
        $gzip.Write([byte[]](0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28) + $body, 0, 4016)
        $gzip.Dispose()
        $bytes = $data.ToArray()
        [System.IO.File]::WriteAllBytes("$images.gz", $bytes[0..($bytes.Length / 2)])
        { Import-EmnistSet -Path "$images.gz" } | Should -Throw -ErrorId "Idx*,$CmdletId"
    }
}
