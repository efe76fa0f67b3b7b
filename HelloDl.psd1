@{
    RootModule           = 'out/HelloDl/HelloDl.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0b7c55-3d0e-4d8e-9a8e-5b1f2f6c9e21'
    Author               = 'HelloDl developers'
    Copyright            = '(c) HelloDl developers. MIT licence.'
    Description          = 'Deep learning from scratch in C#: a CPU autograd library that learns to read handwritten digits and letters (MNIST/EMNIST), as PowerShell cmdlets.'
    PowerShellVersion    = '7.6'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('out/HelloDl/HelloDl.Format.ps1xml')
    # Hooks assembly resolution before the cmdlets load: dependencies live in a private load context.
    ScriptsToProcess     = @('out/HelloDl/Register-Dependencies.ps1')
    CmdletsToExport      = @(
        'Import-EmnistSet'
        'Export-EmnistSet'
        'Import-HelloImageSet'
        'Import-HelloTextSet'
        'Get-HelloText'
        'Split-HelloDataset'
        'Join-HelloDataset'
        'Export-HelloSample'
        'Get-HelloSample'
        'New-HelloModel'
        'Start-HelloTraining'
        'Get-HelloTrainingLog'
        'Measure-HelloModel'
        'Get-HelloConfusionMatrix'
        'Export-HelloModel'
        'Import-HelloModel'
        'ConvertTo-HelloQuantizedModel'
        'Invoke-HelloClassify'
        'Export-HelloImage'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags = @('DeepLearning', 'MNIST', 'EMNIST', 'OCR', 'NeuralNetwork')
        }
    }
}
