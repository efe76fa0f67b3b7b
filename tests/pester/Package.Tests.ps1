BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:version = (Import-PowerShellDataFile (Join-Path $RepoRoot 'HelloDl.psd1')).ModuleVersion
    $script:packageFolder = Join-Path $RepoRoot "out/package/HelloDl/$version"
    # A user of the package: a pwsh with a home of its own (so its module path and PSResourceGet's
    # repository list start empty and the real ones are not touched), started in another folder.
    function Invoke-AsUser([string]$Script, [string]$UserHome, [string]$Folder) {
        $saved = $env:HOME, $env:PSModulePath, $env:XDG_DATA_HOME, $env:XDG_CONFIG_HOME
        try {
            $env:HOME = $UserHome; $env:XDG_DATA_HOME = $null; $env:XDG_CONFIG_HOME = $null
            $env:PSModulePath = (Join-Path $UserHome '.local/share/powershell/Modules') + [IO.Path]::PathSeparator + (Join-Path $PSHOME 'Modules')
            Push-Location $Folder
            $output = & dotnet (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -Command $Script 2>&1 | Out-String
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = $output }
        }
        finally {
            Pop-Location
            $env:HOME, $env:PSModulePath, $env:XDG_DATA_HOME, $env:XDG_CONFIG_HOME = $saved
        }
    }
}

Describe 'build.ps1 Package' {
    It 'writes a module folder with the manifest inside and paths relative to it, and a .nupkg' {
        Test-Path -LiteralPath (Join-Path $packageFolder 'HelloDl.psd1') | Should -BeTrue
        Test-Path -LiteralPath (Join-Path $RepoRoot "out/package/HelloDl.$version.nupkg") | Should -BeTrue
        $manifest = Import-PowerShellDataFile (Join-Path $packageFolder 'HelloDl.psd1')
        $manifest.RootModule | Should -Be 'HelloDl.PowerShell.dll'
        foreach ($file in @($manifest.RootModule) + $manifest.FormatsToProcess + $manifest.ScriptsToProcess) {
            Test-Path -LiteralPath (Join-Path $packageFolder $file) | Should -BeTrue -Because "$file is named by the manifest"
        }
        Test-Path -LiteralPath (Join-Path $packageFolder 'en-US/HelloDl.PowerShell.dll-Help.xml') | Should -BeTrue
    }

    It 'publishes to a file repository, installs with Install-PSResource and classifies from another folder' {
        $userHome = Join-Path $TestDrive 'user'
        $repository = Join-Path $TestDrive 'repository'
        $elsewhere = Join-Path $TestDrive 'elsewhere'
        New-Item -ItemType Directory $userHome, $repository, $elsewhere | Out-Null
        $model = New-HelloModel Mlp -ClassesFrom ($train = Import-EmnistSet -Path $MnistFolder) -Seed 1
        $null = Start-HelloTraining $model $train.Select([int[]](0..9999)) -Epochs 1 -Optimizer Sgd
        $modelPath = Join-Path $elsewhere 'model.safetensors'
        Export-HelloModel $model $modelPath
        $null = Get-HelloSample (Import-EmnistSet -Path $MnistFolder -Split Test) -Index (0..9) | Export-HelloImage -Path (Join-Path $elsewhere 'scans') -Scale 3
        $expected = (Get-ChildItem (Join-Path $elsewhere 'scans') | Sort-Object Name | Invoke-HelloClassify -Model $model).Label -join ''

        $install = Invoke-AsUser -UserHome $userHome -Folder $elsewhere -Script @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name HelloDlLocal -Uri '$repository' -Trusted
Publish-PSResource -Path '$packageFolder' -Repository HelloDlLocal
Install-PSResource HelloDl -Repository HelloDlLocal -TrustRepository
(Get-InstalledPSResource HelloDl).Version.ToString()
"@
        $install.ExitCode | Should -Be 0 -Because $install.Output
        $install.Output | Should -BeLike "*$version*"
        Test-Path -LiteralPath (Join-Path $repository "HelloDl.$version.nupkg") | Should -BeTrue

        $use = Invoke-AsUser -UserHome $userHome -Folder $elsewhere -Script @'
$ErrorActionPreference = 'Stop'
Import-Module HelloDl
(Get-Module HelloDl).ModuleBase
$model = Import-HelloModel ./model.safetensors
'labels:' + ((Get-ChildItem ./scans | Sort-Object Name | Invoke-HelloClassify -Model $model).Label -join '')
'@
        $use.ExitCode | Should -Be 0 -Because $use.Output
        $use.Output | Should -BeLike "*$(Join-Path $userHome '.local/share/powershell/Modules/HelloDl')*"
        $use.Output | Should -BeLike "*labels:$expected*"
    }
}
