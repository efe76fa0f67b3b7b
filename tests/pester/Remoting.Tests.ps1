BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    # A real SSH server on a loopback port with a PowerShell subsystem, a key made here, started
    # and stopped by this file. Where sshd cannot run (not root, no Debian packages) the test says so.
    $script:sshProblem = $null
    if (-not $IsLinux -or (& id -u) -ne '0') { $sshProblem = 'sshd needs root on Linux here' }
    elseif (-not (Test-Path /usr/sbin/sshd)) {
        $env:DEBIAN_FRONTEND = 'noninteractive'
        & apt-get update -q *> $null
        & apt-get install -y -q openssh-server *> $null
        if (-not (Test-Path /usr/sbin/sshd)) { $sshProblem = 'openssh-server could not be installed from Debian''s packages' }
    }
    if (-not $sshProblem) {
        $script:ssh = Join-Path $TestDrive 'ssh'
        New-Item -ItemType Directory -Force $ssh, /run/sshd | Out-Null
        & ssh-keygen -q -t ed25519 -f (Join-Path $ssh 'host') -N '' *> $null
        & ssh-keygen -q -t ed25519 -f (Join-Path $ssh 'client') -N '' *> $null
        Copy-Item (Join-Path $ssh 'client.pub') (Join-Path $ssh 'authorized_keys')
        $script:port = Get-Random -Minimum 20000 -Maximum 30000 -SetSeed $PID
        Set-Content -LiteralPath (Join-Path $ssh 'sshd_config') -Value @"
Port $port
ListenAddress 127.0.0.1
HostKey $(Join-Path $ssh 'host')
AuthorizedKeysFile $(Join-Path $ssh 'authorized_keys')
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $(Join-Path $ssh 'sshd.pid')
Subsystem powershell $((Get-Command dotnet).Source) $(Join-Path $PSHOME 'pwsh.dll') -sshs -NoLogo -NoProfile
"@
        $script:sshd = Start-Process /usr/sbin/sshd -ArgumentList '-D', '-f', (Join-Path $ssh 'sshd_config'), '-E', (Join-Path $ssh 'sshd.log') -PassThru
        Start-Sleep -Milliseconds 500
        # sshd can run here, so a server that does not start is a failure, not a reason to skip.
        $script:sshdFailure = if ($sshd.HasExited) { "sshd did not start: $(Get-Content -Raw (Join-Path $ssh 'sshd.log'))" }
    }
    if ($sshProblem) { Write-Host "    Skipping SSH remoting: $sshProblem." }

    function New-LoopbackSession {
        New-PSSession -HostName 127.0.0.1 -Port $port -UserName root -KeyFilePath (Join-Path $ssh 'client') `
            -Options @{ StrictHostKeyChecking = 'no'; UserKnownHostsFile = '/dev/null'; LogLevel = 'ERROR' }
    }
}

AfterAll {
    if ($sshd -and -not $sshd.HasExited) { Stop-Process -Id $sshd.Id }
}

Describe 'Classifying a folder across SSH remoting sessions (Examples/Invoke-FanOut.ps1)' {
    It 'gives the results of a local run, in order, with one error per bad file' {
        if ($sshProblem) { Set-ItResult -Skipped -Because $sshProblem; return }
        $sshdFailure | Should -BeNullOrEmpty
        $train = Import-EmnistSet -Path $MnistFolder
        $model = New-HelloModel Mlp -ClassesFrom $train -Seed 1
        $null = Start-HelloTraining $model $train.Select([int[]](0..9999)) -Epochs 1 -Optimizer Sgd
        $modelPath = Join-Path $TestDrive 'model.safetensors'
        Export-HelloModel $model $modelPath
        $folder = Join-Path $TestDrive 'scans'
        $null = Get-HelloSample (Import-EmnistSet -Path $MnistFolder -Split Test) -Index (0..119) | Export-HelloImage -Path $folder -Scale 3
        Set-Content (Join-Path $folder 'mnist-test-50-x.png') 'not a picture'
        $files = (Get-ChildItem $folder | Sort-Object Name).FullName
        $local = Invoke-HelloClassify -Model $model -LiteralPath $files -ErrorVariable localErrors -ErrorAction SilentlyContinue

        $sessions = @(New-LoopbackSession; New-LoopbackSession)
        try {
            $remote = & (Join-Path $RepoRoot 'src/HelloDl.PowerShell/Examples/Invoke-FanOut.ps1') -Session $sessions -ModelPath $modelPath `
                -LiteralPath $files -Module (Join-Path $RepoRoot 'HelloDl.psd1') -ErrorVariable remoteErrors -ErrorAction SilentlyContinue
        }
        finally { $sessions | Remove-PSSession }
        Write-Host "    $($files.Count) files over $($sessions.Count) SSH sessions: $(@($remote).Count) results, $(@($remoteErrors).Count) error(s)"
        @($remote).Count | Should -Be 120
        ($remote.Path -join '|') | Should -Be ($local.Path -join '|')
        ($remote.Label -join '') | Should -Be ($local.Label -join '')
        ($remote.Confidence -join ',') | Should -Be ($local.Confidence -join ',')
        @($remote.PSComputerName | Select-Object -Unique) | Should -Be '127.0.0.1'
        @($remoteErrors).Count | Should -Be 1
        $remoteErrors[0].FullyQualifiedErrorId | Should -BeLike "$($localErrors[0].FullyQualifiedErrorId.Split(',')[0])*"
        $remoteErrors[0].Exception.Message | Should -BeLike '*mnist-test-50-x.png*'
    }
}
