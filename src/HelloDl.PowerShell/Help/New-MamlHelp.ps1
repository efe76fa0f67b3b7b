<#
.SYNOPSIS
    Writes the module's MAML help (HelloDl.PowerShell.dll-Help.xml) from HelloDl.Help.psd1.
.DESCRIPTION
    Parameter sets, types, positions, pipeline binding and aliases come from the compiled
    cmdlets themselves (Get-Command), so the help cannot drift from the code; the words come
    from HelloDl.Help.psd1. A cmdlet or parameter without words there fails the build.
    build.ps1 Build runs this in a fresh pwsh after compiling.
#>
param(
    [Parameter(Mandatory)][string]$ManifestPath,
    [Parameter(Mandatory)][string]$OutputFolder
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Import-Module $ManifestPath
$content = Import-PowerShellDataFile (Join-Path $PSScriptRoot 'HelloDl.Help.psd1')
$commonParameters = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters

$maml = 'http://schemas.microsoft.com/maml/2004/10'
$command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'
$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
New-Item -ItemType Directory -Force -Path $OutputFolder | Out-Null
$writer = [System.Xml.XmlWriter]::Create((Join-Path $OutputFolder 'HelloDl.PowerShell.dll-Help.xml'), $settings)

function Write-Paragraphs([string]$Text) {
    $writer.WriteStartElement('maml', 'description', $maml)
    foreach ($paragraph in ($Text.Trim() -split '\r?\n\s*\r?\n')) {
        $writer.WriteElementString('maml', 'para', $maml, ($paragraph -replace '\s*\r?\n\s*', ' ').Trim())
    }
    $writer.WriteEndElement()
}

function Write-Type([string]$Name, [string]$Description) {
    $writer.WriteStartElement('dev', 'type', $dev)
    $writer.WriteElementString('maml', 'name', $maml, $Name)
    $writer.WriteEndElement()
    Write-Paragraphs $Description
}

function Get-PipelineInput($Attributes) {
    $kinds = @()
    if ($Attributes | Where-Object ValueFromPipeline) { $kinds += 'ByValue' }
    if ($Attributes | Where-Object ValueFromPipelineByPropertyName) { $kinds += 'ByPropertyName' }
    if ($kinds) { "True ($($kinds -join ', '))" } else { 'False' }
}

function Write-Parameter($Parameter, [bool]$Required, [int]$Position, [string]$Description, [bool]$InSyntax) {
    $writer.WriteStartElement('command', 'parameter', $command)
    $writer.WriteAttributeString('required', $Required.ToString().ToLowerInvariant())
    $writer.WriteAttributeString('variableLength', 'false')
    $wildcards = [bool]($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
    $writer.WriteAttributeString('globbing', $wildcards.ToString().ToLowerInvariant())
    $writer.WriteAttributeString('pipelineInput', (Get-PipelineInput ($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] })))
    $writer.WriteAttributeString('position', $(if ($Position -ge 0) { "$Position" } else { 'named' }))
    $writer.WriteAttributeString('aliases', $(if ($Parameter.Aliases.Count) { $Parameter.Aliases -join ', ' } else { 'none' }))
    $writer.WriteElementString('maml', 'name', $maml, $Parameter.Name)
    if (-not $InSyntax) { Write-Paragraphs $Description }
    # An optional value (int?, an enum?) is documented as the type it holds.
    $type = $Parameter.ParameterType
    if ($null -ne [Nullable]::GetUnderlyingType($type)) { $type = [Nullable]::GetUnderlyingType($type) }
    $isSwitch = $type -eq [System.Management.Automation.SwitchParameter]
    $writer.WriteStartElement('command', 'parameterValue', $command)
    $writer.WriteAttributeString('required', (-not $isSwitch).ToString().ToLowerInvariant())
    $writer.WriteString($(if ($isSwitch) { 'SwitchParameter' } else { $type.Name }))
    $writer.WriteEndElement()
    if (-not $InSyntax) {
        $writer.WriteStartElement('dev', 'type', $dev)
        $writer.WriteElementString('maml', 'name', $maml, $type.FullName)
        $writer.WriteEndElement()
        $values = if ($type.IsEnum) { [Enum]::GetNames($type) }
        if ($values) {
            $writer.WriteStartElement('command', 'parameterValueGroup', $command)
            foreach ($value in $values) {
                $writer.WriteStartElement('command', 'parameterValue', $command)
                $writer.WriteAttributeString('required', 'false')
                $writer.WriteAttributeString('variableLength', 'false')
                $writer.WriteString($value)
                $writer.WriteEndElement()
            }
            $writer.WriteEndElement()
        }
    }
    $writer.WriteEndElement()
}

$writer.WriteStartDocument()
$writer.WriteStartElement('helpItems', 'http://msh')
$writer.WriteAttributeString('schema', 'maml')
$exported = (Get-Module HelloDl).ExportedCmdlets.Values | Sort-Object Name
foreach ($cmdlet in $exported) {
    $help = $content[$cmdlet.Name]
    if (-not $help) { throw "HelloDl.Help.psd1 has no help for $($cmdlet.Name)." }
    $parameters = $cmdlet.Parameters.Values | Where-Object { $_.Name -notin $commonParameters }
    foreach ($parameter in $parameters) {
        if (-not $help.Parameters.ContainsKey($parameter.Name)) { throw "HelloDl.Help.psd1 does not describe $($cmdlet.Name) -$($parameter.Name)." }
    }
    if ($help.Examples.Count -lt 2) { throw "$($cmdlet.Name) needs at least two examples." }

    $writer.WriteStartElement('command', 'command', $command)
    $writer.WriteAttributeString('xmlns', 'maml', $null, $maml)
    $writer.WriteAttributeString('xmlns', 'command', $null, $command)
    $writer.WriteAttributeString('xmlns', 'dev', $null, $dev)
    $writer.WriteStartElement('command', 'details', $command)
    $writer.WriteElementString('command', 'name', $command, $cmdlet.Name)
    Write-Paragraphs $help.Synopsis
    $writer.WriteElementString('command', 'verb', $command, $cmdlet.Verb)
    $writer.WriteElementString('command', 'noun', $command, $cmdlet.Noun)
    $writer.WriteEndElement()
    Write-Paragraphs $help.Description

    $writer.WriteStartElement('command', 'syntax', $command)
    foreach ($set in $cmdlet.ParameterSets) {
        $writer.WriteStartElement('command', 'syntaxItem', $command)
        $writer.WriteElementString('maml', 'name', $maml, $cmdlet.Name)
        $inSet = $set.Parameters | Where-Object { $_.Name -notin $commonParameters } | Sort-Object { if ($_.Position -ge 0) { $_.Position } else { 1000 } }, { -not $_.IsMandatory }
        foreach ($setParameter in $inSet) {
            Write-Parameter $cmdlet.Parameters[$setParameter.Name] $setParameter.IsMandatory $setParameter.Position '' $true
        }
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('command', 'parameters', $command)
    foreach ($parameter in $parameters | Sort-Object Name) {
        $attributes = @($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] })
        $position = ($attributes | Measure-Object -Property Position -Maximum).Maximum
        Write-Parameter $parameter ([bool]($attributes | Where-Object Mandatory)) $position $help.Parameters[$parameter.Name] $false
    }
    $writer.WriteEndElement()

    foreach ($section in @(@{ Element = 'inputTypes'; Item = 'inputType'; Key = 'Inputs' }, @{ Element = 'returnValues'; Item = 'returnValue'; Key = 'Outputs' })) {
        $writer.WriteStartElement('command', $section.Element, $command)
        foreach ($entry in $help[$section.Key]) {
            $writer.WriteStartElement('command', $section.Item, $command)
            Write-Type $entry.Type $entry.Description
            $writer.WriteEndElement()
        }
        $writer.WriteEndElement()
    }

    if ($help.ContainsKey('Notes')) {
        $writer.WriteStartElement('maml', 'alertSet', $maml)
        $writer.WriteStartElement('maml', 'alert', $maml)
        foreach ($paragraph in ($help.Notes.Trim() -split '\r?\n\s*\r?\n')) { $writer.WriteElementString('maml', 'para', $maml, ($paragraph -replace '\s*\r?\n\s*', ' ').Trim()) }
        $writer.WriteEndElement()
        $writer.WriteEndElement()
    }

    $writer.WriteStartElement('command', 'examples', $command)
    $number = 0
    foreach ($example in $help.Examples) {
        $number++
        $writer.WriteStartElement('command', 'example', $command)
        $writer.WriteElementString('maml', 'title', $maml, "-------------------------- Example $($number): $($example.Title) --------------------------")
        $writer.WriteElementString('dev', 'code', $dev, $example.Code.Trim())
        $writer.WriteStartElement('dev', 'remarks', $dev)
        foreach ($paragraph in ($example.Remarks.Trim() -split '\r?\n\s*\r?\n')) { $writer.WriteElementString('maml', 'para', $maml, ($paragraph -replace '\s*\r?\n\s*', ' ').Trim()) }
        $writer.WriteEndElement()
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()

    $writer.WriteStartElement('command', 'relatedLinks', $command)
    foreach ($link in @($help.Links) + 'about_HelloDl') {
        $writer.WriteStartElement('maml', 'navigationLink', $maml)
        $writer.WriteElementString('maml', 'linkText', $maml, $link)
        $writer.WriteElementString('maml', 'uri', $maml, '')
        $writer.WriteEndElement()
    }
    $writer.WriteEndElement()
    $writer.WriteEndElement()
}
$writer.WriteEndElement()
$writer.WriteEndDocument()
$writer.Dispose()
Copy-Item -Path (Join-Path $PSScriptRoot 'about_HelloDl.help.txt') -Destination $OutputFolder
