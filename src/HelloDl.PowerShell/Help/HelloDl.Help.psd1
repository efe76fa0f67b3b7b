# The words of the module's help. New-MamlHelp.ps1 turns them, with the parameter metadata of the
# compiled cmdlets, into HelloDl.PowerShell.dll-Help.xml. Examples run from the repository root
# (they read ./data/mnist); the Pester help test runs every example whose remarks do not say
# "not run by the tests".
@{
    'Import-EmnistSet' = @{
        Synopsis    = 'Reads MNIST or an EMNIST split (IDX files) into a data set object.'
        Description = @'
Import-EmnistSet reads the IDX format used by MNIST and by every EMNIST split, from the files people actually have: a folder, NIST's gzip.zip archive (read in place, without unpacking), or one images file whose labels file lies beside it. Files may be raw or gzipped; gzip is recognised by content, not by name.

The variant and the split are inferred from the file names (train-images-idx3-ubyte, t10k-images-idx3-ubyte, emnist-letters-test-images-idx3-ubyte.gz, ...) unless given. A folder or archive holding several variants needs -Variant; without -Split a folder or archive gives its training split.

EMNIST stores every image transposed relative to MNIST; the images are turned upright on import, so all data sets look alike. EMNIST Letters merges upper and lower case: its labels 1..26 become the 26 classes 'a'..'z'. Balanced, ByClass and ByMerge take their class names from NIST's emnist-*-mapping.txt when it is present, and from a built-in table otherwise.

Images are kept as bytes (EMNIST ByClass, about 700,000 images, takes about 550 MB). Loading MNIST's 60,000 training images takes well under a second.

A file that cannot be read stops the command with a terminating error whose id names the problem and whose message names the file: IdxBadMagic, IdxTruncated, IdxTrailingData, IdxTooLarge, IdxEmptyDimension, IdxCountMismatch, IdxLabelOutOfRange, IdxCorruptCompression, IdxLabelsFileMissing, IdxImagesFileMissing, IdxAmbiguousVariant, EmnistBadMapping. Nothing is allocated from an unchecked header.
'@
        Parameters  = @{
            Path        = 'A folder, a .zip archive (such as NIST''s gzip.zip) or an images file. Wildcards are expanded.'
            LiteralPath = 'Like -Path, but taken exactly as written: use it for names with [ ] or other wildcard characters. Get-ChildItem and Get-Item output binds to it through PSPath.'
            Variant     = 'Which data set: Mnist, Digits, Letters, Balanced, ByClass, ByMerge or EmnistMnist (EMNIST''s own MNIST-sized set). Inferred from file names when omitted.'
            Split       = 'Train or Test. Inferred from the file name when one images file is given; otherwise Train.'
        }
        Inputs      = @(
            @{ Type = 'System.String'; Description = 'Paths, by value (to -Path) or by property name (PSPath, to -LiteralPath).' }
        )
        Outputs     = @(
            @{ Type = 'HelloDl.Data.ImageDataset'; Description = 'One data set per path: name, variant, split, count, image size, class names and per-class counts.' }
        )
        Examples    = @(
            @{
                Title   = 'Load MNIST''s training and test sets'
                Code    = @'
$train = Import-EmnistSet -Path ./data/mnist
$test = Import-EmnistSet -Path ./data/mnist -Split Test
$train, $test
'@
                Remarks = 'Reads train-images-idx3-ubyte and t10k-images-idx3-ubyte with their labels from the folder that build.ps1 Data fills.'
            }
            @{
                Title   = 'Count the images per class'
                Code    = @'
(Import-EmnistSet ./data/mnist/t10k-images-idx3-ubyte).ClassCounts
'@
                Remarks = 'One images file is enough: the labels file is found beside it and the split (Test) comes from the name.'
            }
            @{
                Title   = 'Read EMNIST Letters straight from NIST''s download'
                Code    = @'
$letters = Import-EmnistSet -Path ~/Downloads/gzip.zip -Variant Letters -Split Train
$letters.ClassNames -join ''
'@
                Remarks = 'gzip.zip holds every split; -Variant picks one. The archive is read in place. (Needs the NIST download, which is not part of this repository: not run by the tests.)'
            }
        )
        Notes       = 'EMNIST: Cohen, Afshar, Tapson and van Schaik, "EMNIST: an extension of MNIST to handwritten letters", 2017. MNIST: LeCun, Cortes and Burges.'
        Links       = @('Get-HelloSample', 'New-HelloModel', 'Start-HelloTraining')
    }

    'Get-HelloSample' = @{
        Synopsis    = 'Gets images of a data set, by index or at random, with their labels.'
        Description = @'
Get-HelloSample returns sample objects (data set, index, label, class name, image) from a data set. Their default view draws the image as text art in the console, like hello-dl's printImgTensor, so you can see what the data looks like. Samples pipe into Invoke-HelloClassify.
'@
        Parameters  = @{
            Dataset = 'The data set to take images from (from Import-EmnistSet).'
            Index   = 'Indices of the images (0-based). An index past the end writes an error and the rest are still returned.'
            Random  = 'Pick this many distinct images at random instead.'
            Seed    = 'Makes -Random repeatable.'
        }
        Inputs      = @(@{ Type = 'HelloDl.Data.ImageDataset'; Description = 'A data set, by value.' })
        Outputs     = @(@{ Type = 'HelloDl.Data.Sample'; Description = 'One sample per image: Dataset, Index, Label (class index), ClassName and Image (28x28 bytes, 0 = background).' })
        Examples    = @(
            @{
                Title   = 'Look at the first test image'
                Code    = @'
$test = Import-EmnistSet ./data/mnist -Split Test
Get-HelloSample $test -Index 0
'@
                Remarks = 'Prints "mnist-test[0] label 7 = ''7''" and the digit drawn in characters.'
            }
            @{
                Title   = 'Five random training images, repeatably'
                Code    = @'
$train = Import-EmnistSet ./data/mnist
$train | Get-HelloSample -Random 5 -Seed 42 | Select-Object Index, ClassName
'@
                Remarks = 'The same seed gives the same five images.'
            }
        )
        Links       = @('Import-EmnistSet', 'Invoke-HelloClassify')
    }

    'New-HelloModel' = @{
        Synopsis    = 'Creates one of hello-dl''s networks (Linear, Mlp or Cnn), freshly initialised.'
        Description = @'
New-HelloModel builds a network and initialises it as hello-dl does (uniform in plus or minus 1/sqrt(fan-in)), reproducibly from -Seed. The class names come from a data set (-ClassesFrom) or are given (-ClassNames).

Linear: one linear layer on the 784 pixels; with two classes it has one weight per pixel plus a bias and the sign of the score decides (hello-dl's 3-versus-7 classifier). Mlp: 784-128-64-N with ReLU (109,184 weights and 202 biases for ten classes). Cnn: hello-dl's letters network: three 3x3 convolutions (32, 64, 128 channels) each followed by 2x2 max pooling (the second with ceil mode, 11x11 to 6x6) and GELU, then fully connected layers 512-64-128-N with dropout 0.5 after the first (136,736 weights and 442 biases for 26 classes).

The model's default view is a layer summary: layer, output shape and parameters, and the totals.
'@
        Parameters  = @{
            Architecture = 'Linear, Mlp or Cnn for images; TextNgram (hashed words, word pairs and character 4-grams into one hidden layer) or Gru (bytes through an embedding and three stacked GRU layers, hello-dl chapter 9) for text. Required unless -From gives it.'
            From         = 'A trained model to fine-tune: the new model copies its layers. With the same class names in the same order the output layer is copied too; with other classes (-ClassesFrom or -ClassNames) it is made new for them. Start-HelloTraining then starts from a quarter of the usual learning rate.'
            ClassesFrom  = 'Take the class names from this data set.'
            ClassNames   = 'The class names, in label order (at least two, distinct).'
            HiddenSize   = 'Width of the Mlp''s first hidden layer (default 128, as hello-dl), of the TextNgram''s hidden layer (default 32) or of each Gru layer (default 128; hello-dl used 256). Other architectures ignore it.'
            Seed         = 'Fixes the initial weights (default 1).'
            Objective    = 'NextCharacter: a Gru language model over the 256 byte values, to train on a text corpus and write with Get-HelloText. It needs no class names.'
            SequenceLength = 'Bytes a Gru reads of each document (a classifier, default 256) or per training window (a language model). Other architectures ignore it.'
        }
        Inputs      = @(@{ Type = 'HelloDl.Data.ImageDataset'; Description = 'A data set to take the class names from, by value.' })
        Outputs     = @(@{ Type = 'HelloDl.Nn.Model'; Description = 'The model: architecture, class names, parameters (in one flat buffer) and training summary.' })
        Examples    = @(
            @{
                Title   = 'A CNN for MNIST''s digits'
                Code    = @'
$train = Import-EmnistSet ./data/mnist
New-HelloModel -Architecture Cnn -ClassesFrom $train
'@
                Remarks = 'Shows the layer summary: c1 Conv2d(1→32, 3x3) [32, 26, 26] 320 parameters, ..., 135,114 parameters in all.'
            }
            @{
                Title   = 'hello-dl''s MLP with named classes'
                Code    = @'
$mlp = New-HelloModel Mlp -ClassNames (0..9 | ForEach-Object { "$_" }) -Seed 7
'{0:N0} weights and {1:N0} biases' -f $mlp.WeightCount, $mlp.BiasCount
'@
                Remarks = 'Prints "109,184 weights and 202 biases".'
            }
        )
        Links       = @('Start-HelloTraining', 'Export-HelloModel')
    }

    'Start-HelloTraining' = @{
        Synopsis    = 'Trains a model on a data set, emitting one result object per epoch.'
        Description = @'
Start-HelloTraining trains the model in place with mini-batches, shows progress (epoch, batch, loss, accuracy, images per second, time left) and emits one object per epoch with the training loss and accuracy, the validation loss and accuracy (with -ValidationSet), the learning rate, the duration and the images per second, so the output pipes to Format-Table or Export-Csv.

The defaults train well without tuning: Adam (beta1 0.9, beta2 0.999, eps 1e-8, hello-dl's values) at the rate that suits the architecture (0.005 for Linear and Mlp, 0.002 for Cnn), batch 64, and a cosine learning-rate schedule that ends the planned epochs at a low rate. SGD uses momentum 0.9 with a real velocity buffer and a default rate of 0.05.

With -ValidationSet the model's confidence is calibrated after the last epoch (temperature scaling on the validation set), before that epoch's checkpoint is written, and the temperature is stored in the model and its files, so a confidence of 90% means right about 90% of the time; -Verbose shows the temperature.

Ctrl+C stops after the current batch: the model stays usable, and the checkpoint written after the last completed epoch (with -CheckpointPath) stays valid. A checkpoint holds the weights and the optimizer state; -Resume continues from it up to -Epochs as if training had never stopped. A checkpoint of another architecture or class list stops with CheckpointModelMismatch, one that cannot be written (a full disk, a read-only folder) with CheckpointWriteFailed, and the previous checkpoint is kept whole; a log that cannot be written stops with TrainingLogWriteFailed and keeps what it held. Before any work, sets whose classes are not the model's stop with ClassesDoNotMatch and a batch larger than the images trained on with BatchLargerThanSet. A loss that turns NaN or infinite stops with TrainingDiverged, and the model is put back to the last weights that gave a finite loss (kept every 16 batches). Runs are reproducible: the model's seed fixes the initial weights, -Seed fixes shuffling, dropout and augmentation.
'@
        Parameters  = @{
            Model          = 'The model to train (from New-HelloModel or Import-HelloModel). It is changed in place.'
            TrainingSet    = 'The data set to learn from; its class names must equal the model''s.'
            ValidationSet  = 'Evaluated after every epoch; its loss and accuracy appear in the epoch objects.'
            Epochs         = 'Total epochs (default 3). With -Resume, training continues until the model has this many.'
            BatchSize      = 'Images per batch. Default: 16 for sets under 20,000 images (more steps for one''s own small set), else 64.'
            LearningRate   = 'The base learning rate. Default: the rate the model''s architecture trains well with for the optimizer (Adam and AdamW: 0.005 for Linear and Mlp, 0.002 for Cnn; SGD: 0.05). With them the Mlp reaches about 97.7% on MNIST''s test set in 2 epochs, the Cnn about 99.3%. A model that is trained already (a fine-tune, New-HelloModel -From) starts from a quarter of that.'
            Optimizer      = 'Sgd (momentum), Adam or AdamW (decoupled weight decay). Default Adam; with -Resume, the optimizer the checkpoint was trained with (another one is refused with CheckpointOptimizerMismatch).'
            Momentum       = 'SGD momentum (default 0.9).'
            WeightDecay    = 'L2 weight decay (for Adam and SGD added to the gradient, for AdamW applied to the weights). Default 0.'
            Schedule       = 'Constant, Step (times 0.1 after each third of the steps) or Cosine (default).'
            HoldOutFraction = 'Without -ValidationSet, keep this fraction of the training set (stratified by class) apart to validate and calibrate on. Default: 0.1 for sets under 20,000 images (one''s own), else 0. 0 trains on everything.'
            Freeze         = 'Layers (top-level names from the model''s summary, such as c1, c2, fc1) whose weights stay bit for bit as they are; the other layers train. An unknown name stops with UnknownLayer.'
            Objective      = 'A check: the objective the model must have been made for (New-HelloModel -Objective). Classify or NextCharacter; a model of the other objective is refused (ObjectiveDoesNotMatch). A NextCharacter model trains on windows cut from the corpus, with no validation set and no calibration, and reports next-byte accuracy.'
            ClassBalance   = 'How classes of different sizes are made up for. None: every example alike; Weighted: examples weighted in the loss by N / (classes x their class''s count); Oversampled: each epoch repeats a rarer class''s examples (about largest count / its count times), each time with fresh dropout. Default: Oversampled for text models, None for image models.'
            Augment        = 'Distort the training images at random. Default: Geometric for sets under 20,000 images, else None. None; HelloDl: shift by up to 2 pixels and flip 5 pixels; Geometric: also rotate up to 10 degrees and scale by up to 10%; Scan: geometric plus what real scans do (thicker or thinner strokes, blur, paler ink, noise), for models that must read people''s scans.'
            Seed           = 'Fixes shuffling, dropout and augmentation (default 1).'
            CheckpointPath = 'Write a checkpoint (model and optimizer state, safetensors) here after every epoch, atomically.'
            LogPath        = 'Record every batch (epoch, batch, seconds, loss, accuracy, learning rate, batch size), every validation pass and the final confusion matrix in this SQLite file, under a new run id; many runs can share one file. Read it with Get-HelloTrainingLog or any SQLite tool; the schema is in about_HelloDl.'
            Resume         = 'Continue from the checkpoint at -CheckpointPath instead of starting afresh.'
            PassThru       = 'Also emit the trained model at the end.'
            WhatIf         = 'Shows that checkpoints (and the log) would be written; training still runs, nothing is written.'
            Confirm        = 'Asks once, before training, whether to write the checkpoints (and the log).'
        }
        Inputs      = @(@{ Type = 'HelloDl.Data.ImageDataset'; Description = 'The training set, by value.' })
        Outputs     = @(
            @{ Type = 'HelloDl.Training.EpochResult'; Description = 'One per completed epoch: Epoch, TrainLoss, TrainAccuracy, ValidationLoss, ValidationAccuracy, LearningRate, Duration, ImagesPerSecond, Images, Validation (the full evaluation) and, after the last epoch of a calibrated run, CalibratedTemperature.' }
            @{ Type = 'HelloDl.Nn.Model'; Description = 'With -PassThru, the trained model.' }
        )
        Examples    = @(
            @{
                Title   = 'A quick MLP on 10,000 images'
                Code    = @'
$train = Import-EmnistSet ./data/mnist
$test = Import-EmnistSet ./data/mnist -Split Test
$mlp = New-HelloModel Mlp -ClassesFrom $train
Start-HelloTraining -Model $mlp -TrainingSet $train.Select([int[]](0..9999)) -ValidationSet $test -Epochs 1 -Optimizer Sgd
'@
                Remarks = 'One epoch takes well under a second and reaches about 92% on the test set.'
            }
            @{
                Title   = 'The CNN, logged to CSV, with checkpoints'
                Code    = @'
$cnn = New-HelloModel Cnn -ClassesFrom $train
Start-HelloTraining $cnn $train -ValidationSet $test -Epochs 3 -CheckpointPath ./cnn.ckpt -Augment Scan |
    Export-Csv ./training.csv
'@
                Remarks = 'Reaches about 99.2% on MNIST''s test set. If you press Ctrl+C, run the same command with -Resume to continue from the last completed epoch. (Takes a few minutes: not run by the tests.)'
            }
        )
        Links       = @('New-HelloModel', 'Measure-HelloModel', 'Export-HelloModel')
    }

    'Measure-HelloModel' = @{
        Synopsis    = 'Evaluates a model on a data set: accuracy, loss, per-class metrics and the confusion matrix.'
        Description = @'
Measure-HelloModel classifies every image of a data set and returns an evaluation: the count, Accuracy (a fraction from 0 to 1), the mean loss, precision, recall and F1 per class (PerClass) and the confusion matrix (rows actual, columns predicted). Its default view prints hello-dl's confusion table; Get-HelloConfusionMatrix turns it into rows for Format-Table and Export-Csv.

It also reports the risk-coverage trade-off of the model's (calibrated) confidence (RiskCoverage): for thresholds from 0.5 to 0.999, the share of answers that are confident and the error rate among them, and the threshold that keeps the error among confident answers at or under 1% (ThresholdForOnePercentError). Use that threshold as Invoke-HelloClassify -MinimumConfidence.

With -MinimumAccuracy it is a gate for CI: when the accuracy is lower the command fails with the terminating error AccuracyBelowMinimum, so pwsh -Command exits non-zero.
'@
        Parameters  = @{
            Model           = 'The model to evaluate.'
            Dataset         = 'The labelled images to evaluate on; its class names must equal the model''s.'
            MinimumAccuracy = 'Fail with the error AccuracyBelowMinimum when the accuracy (a fraction 0..1) is below this.'
        }
        Inputs      = @(@{ Type = 'HelloDl.Data.ImageDataset'; Description = 'The data set, by value.' })
        Outputs     = @(@{ Type = 'HelloDl.Training.Evaluation'; Description = 'Dataset, Count, Correct, Accuracy, MeanLoss, PerClass and ConfusionMatrix.' })
        Examples    = @(
            @{
                Title   = 'Per-class precision and recall'
                Code    = @'
$train = Import-EmnistSet ./data/mnist
$test = Import-EmnistSet ./data/mnist -Split Test
$mlp = New-HelloModel Mlp -ClassesFrom $train
$null = Start-HelloTraining $mlp $train.Select([int[]](0..9999)) -Epochs 1 -Optimizer Sgd
$evaluation = Measure-HelloModel -Model $mlp -Dataset $test
$evaluation.PerClass | Format-Table
'@
                Remarks = 'Shows Class, Support, Precision, Recall and F1 for each digit.'
            }
            @{
                Title   = 'Gate a CI job on accuracy'
                Code    = @'
pwsh -NoProfile -Command { Import-Module ./HelloDl.psd1; $m = Import-HelloModel ./mnist-cnn.safetensors; Measure-HelloModel $m (Import-EmnistSet ./data/mnist -Split Test) -MinimumAccuracy 0.98 }
'@
                Remarks = 'The process exits non-zero when the model is below 98%. (Needs a trained model file; not run by the tests.)'
            }
        )
        Links       = @('Get-HelloConfusionMatrix', 'Start-HelloTraining')
    }

    'Get-HelloConfusionMatrix' = @{
        Synopsis    = 'Turns an evaluation''s confusion matrix into one row per actual class.'
        Description = @'
Get-HelloConfusionMatrix emits one object per actual class with an Actual property and one property per predicted class holding the count, so Format-Table prints the matrix (rows actual, columns predicted, class names as headers) and Export-Csv writes it.
'@
        Parameters  = @{ Evaluation = 'The evaluation from Measure-HelloModel.' }
        Inputs      = @(@{ Type = 'HelloDl.Training.Evaluation'; Description = 'By value.' })
        Outputs     = @(@{ Type = 'System.Management.Automation.PSObject'; Description = 'One row per actual class (type name HelloDl.ConfusionRow).' })
        Examples    = @(
            @{
                Title   = 'The matrix as a table'
                Code    = @'
$train = Import-EmnistSet ./data/mnist
$test = Import-EmnistSet ./data/mnist -Split Test
$linear = New-HelloModel Linear -ClassesFrom $train
$null = Start-HelloTraining $linear $train.Select([int[]](0..9999)) -Epochs 1
Measure-HelloModel $linear $test | Get-HelloConfusionMatrix | Format-Table
'@
                Remarks = 'Rows are the true digits, columns what the model said.'
            }
            @{
                Title   = 'The matrix to CSV'
                Code    = @'
$evaluation = Measure-HelloModel $linear $test
$evaluation | Get-HelloConfusionMatrix | Export-Csv (Join-Path ([IO.Path]::GetTempPath()) 'confusion.csv')
'@
                Remarks = 'Writes Actual,0,1,...,9 and one line per digit.'
            }
        )
        Links       = @('Measure-HelloModel')
    }

    'Export-HelloModel' = @{
        Synopsis    = 'Saves a model as a safetensors file, or as an ONNX graph for other runtimes.'
        Description = @'
Export-HelloModel writes the model as safetensors (-Format SafeTensors, HelloDl's own model file, which Import-HelloModel reads) or as an ONNX graph (-Format Onnx, the default for a path ending in .onnx).

The safetensors file is an 8-byte little-endian header length, a JSON header with dtype F32, shape and data offsets per tensor and a __metadata__ string map, then the raw little-endian weights. Tensor names are the hierarchical parameter names (c1.weight, fc1.bias, ...). The metadata holds the format version, architecture, class names, input normalisation, calibration temperature, training summary and creation time: enough to classify with nothing else.

The ONNX graph (opset 13, written with the ONNX project's own protobuf schema) takes the input 'pixels', float32 [N, 1, 28, 28] of pixels scaled to 0..1 with the ink bright, as Invoke-HelloClassify prepares images; the model's normalisation, layers and calibration temperature are inside the graph, dropout is left out and GELU is the exact erf form. Its output 'log_probabilities', float32 [N, classes], holds log-probabilities whose exp are the confidences HelloDl reports, in the order of the class_names entry (a JSON array) of the model's metadata, which also holds the architecture and training summary. ONNX Runtime gives the same labels as HelloDl on all 10,000 MNIST test images, with probabilities within 1e-4 (the tests check this for the Linear, Mlp and Cnn models). A quantised model (ConvertTo-HelloQuantizedModel) gets the error OnnxExportNotSupported: export the float model it was made from.

The file is written atomically: to a temporary file, flushed, then renamed over the target, so an interrupted export never leaves half a model. An existing file is only replaced with -Force.
'@
        Parameters  = @{
            Model       = 'The model to save.'
            Format      = 'SafeTensors (HelloDl''s model file) or Onnx. Without it, a path ending in .onnx gets Onnx and any other SafeTensors.'
            Path        = 'The file to write. Not a wildcard: the file need not exist.'
            LiteralPath = 'The file to write, taken exactly as written.'
            Force       = 'Replace an existing file.'
            PassThru    = 'Emit the written file (FileInfo).'
            WhatIf      = 'Shows what would be written without writing.'
            Confirm     = 'Asks before writing.'
        }
        Inputs      = @(@{ Type = 'HelloDl.Nn.Model'; Description = 'The model, by value.' })
        Outputs     = @(@{ Type = 'System.IO.FileInfo'; Description = 'With -PassThru, the written file.' })
        Examples    = @(
            @{
                Title   = 'Save a model'
                Code    = @'
$model = New-HelloModel Mlp -ClassNames (0..9 | ForEach-Object { "$_" })
$model | Export-HelloModel -Path (Join-Path ([IO.Path]::GetTempPath()) 'mlp.safetensors') -Force -PassThru
'@
                Remarks = 'A 10-class MLP file is about 438 KB.'
            }
            @{
                Title   = 'Read the weights with Python'
                Code    = @'
python -c "from safetensors.numpy import load_file; w = load_file('mlp.safetensors'); print(w['fc1.weight'].shape)"
'@
                Remarks = 'Any safetensors reader sees (128, 784). (Needs Python and the safetensors package; not run by the tests.)'
            }
            @{
                Title   = 'Export an ONNX graph for another runtime'
                Code    = @'
$model = New-HelloModel Cnn -ClassNames (0..9 | ForEach-Object { "$_" })
$model | Export-HelloModel -Path (Join-Path ([IO.Path]::GetTempPath()) 'cnn.onnx') -Force -PassThru
'@
                Remarks = 'The .onnx extension picks -Format Onnx. ONNX Runtime, OpenCV''s dnn module or Netron then read the graph; feed it pixels / 255 with the ink bright.'
            }
        )
        Links       = @('Import-HelloModel')
    }

    'Import-HelloModel' = @{
        Synopsis    = 'Loads a model file written by Export-HelloModel, or a training checkpoint.'
        Description = @'
Import-HelloModel validates the file strictly before building anything: the SHA-256 checksum that Export-HelloModel and checkpoints store in the metadata (checksum_sha256, over every tensor and metadata entry; a file damaged after it was written is refused with ModelFileCorrupt, and a file written before checksums loads with a warning that its damage cannot be detected), the header length, the JSON header (valid UTF-8, no name twice, no deep nesting), every tensor's dtype, shape and offsets (contiguous and inside the file), the format version (a file from a newer HelloDl gets a clear message), the architecture and class names, and that every tensor has exactly the shape the architecture needs and holds finite numbers. A corrupt or truncated file gets a terminating error (ModelFileCorrupt, ModelFileTruncated, ModelFileNotSafetensors, ModelFileBadHeader, ModelFileBadTensor, ModelFileNewerVersion, ModelFileWrongShape) naming the file; a half-loaded model is never returned.

The round trip is bit-exact: a loaded model gives exactly the predictions of the model that was saved.
'@
        Parameters  = @{
            Path        = 'Model files to load. Wildcards are expanded.'
            LiteralPath = 'Model files, taken exactly as written. Get-ChildItem output binds here through PSPath.'
        }
        Inputs      = @(@{ Type = 'System.String'; Description = 'Paths, by value or by property name (PSPath).' })
        Outputs     = @(@{ Type = 'HelloDl.Nn.Model'; Description = 'The model.' })
        Examples    = @(
            @{
                Title   = 'Save and load again'
                Code    = @'
$file = Join-Path ([IO.Path]::GetTempPath()) 'roundtrip.safetensors'
New-HelloModel Cnn -ClassNames 'a', 'b', 'c' | Export-HelloModel -Path $file -Force
Import-HelloModel -Path $file
'@
                Remarks = 'Shows the loaded model''s layer summary.'
            }
            @{
                Title   = 'Load every model in a folder'
                Code    = @'
Get-ChildItem ([IO.Path]::GetTempPath()) -Filter *.safetensors | Import-HelloModel | Select-Object Architecture, TrainingSummary
'@
                Remarks = 'FileInfo objects bind to -LiteralPath.'
            }
        )
        Links       = @('Export-HelloModel', 'Invoke-HelloClassify')
    }

    'ConvertTo-HelloQuantizedModel' = @{
        Synopsis    = 'Turns a trained model into one with 8-bit or 4-bit weights that classifies with integer kernels.'
        Description = @'
ConvertTo-HelloQuantizedModel does what hello-dl's chapter 7 describes. Each fully connected and convolution layer gets 8-bit weights with one scale per output channel; its input is quantised to 7-bit codes (0..127) whose range is measured by running the float model over the calibration set (at most 4,096 of its images, spread evenly over it). The products are summed in exact 32-bit integers by kernels chosen from what the CPU reports: vpdpbusd (AVX-VNNI) where the CPU has it, else vpmaddubsw and vpmaddwd on 512 bits (AVX-512 BW) or 256 bits (AVX2), else plain code. Seven-bit activations keep vpmaddubsw from saturating, so every path gives the same answers. .NET 10 has no AVX-512 VNNI intrinsics, so CPUs with AVX-512 VNNI but not AVX-VNNI (Zen 4) use the AVX-512 BW path. Pooling, activations and log-softmax work on floats between the layers.

With -Bits 4 the weights become hello-dl's equal-population codebook: per layer, the weights are sorted, cut into 16 runs of equal length, and each weight stored as the 4-bit index of its run, whose value is the run's mean. They run on the same 8-bit kernels.

The result is a model like any other to Invoke-HelloClassify, Measure-HelloModel, Export-HelloModel and Import-HelloModel. It keeps the class names, the calibration temperature and the training summary. Its Values hold the weights as the integers represent them, and its Quantized property tells the bits and the calibration. The model file stores the integers (format version 3): an 8-bit CNN file is 3.9 times smaller than the float one, a 4-bit one 7.5 times. On MNIST the 8-bit models score within 0.2 points of the float ones (the tests check this for the Mlp and for the CNN, on the test set and on scans); 4-bit costs the Mlp about half a point.

A quantised model cannot be trained (Start-HelloTraining fails with QuantizedModelNotTrainable) or exported to ONNX (OnnxExportNotSupported): keep the float model for both. Quantising a quantised model gives the error ModelAlreadyQuantized, a model that gives NaN or infinite values on the calibration images (a diverged training) ModelNotFinite; an empty calibration set, or one whose images are not 28 x 28, the terminating error CalibrationSetUnusable.
'@
        Parameters  = @{
            Model          = 'The trained float model.'
            CalibrationSet = 'Images like those the model will see (the training set or part of it); only the images are used, not the labels.'
            Bits           = 'Bits per weight: 8 (default) or 4.'
        }
        Inputs      = @(@{ Type = 'HelloDl.Nn.Model'; Description = 'The float model, by value.' })
        Outputs     = @(@{ Type = 'HelloDl.Nn.Model'; Description = 'The quantised model.' })
        Examples    = @(
            @{
                Title   = 'Quantise a model and compare it with the float one'
                Code    = @'
$train = Import-EmnistSet ./data/mnist
$test = Import-EmnistSet ./data/mnist -Split Test
$mlp = New-HelloModel Mlp -ClassesFrom $train
$null = Start-HelloTraining $mlp $train.Select([int[]](0..9999)) -Epochs 1 -Optimizer Sgd
$int8 = ConvertTo-HelloQuantizedModel $mlp -CalibrationSet $train
(Measure-HelloModel $mlp $test).Accuracy, (Measure-HelloModel $int8 $test).Accuracy
'@
                Remarks = 'The two accuracies differ by a few hundredths of a point.'
            }
            @{
                Title   = 'A 4-bit model file'
                Code    = @'
$train = Import-EmnistSet ./data/mnist
$cnn = New-HelloModel Cnn -ClassesFrom $train
$int4 = ConvertTo-HelloQuantizedModel $cnn -CalibrationSet $train -Bits 4
$int4 | Export-HelloModel -Path (Join-Path ([IO.Path]::GetTempPath()) 'cnn-4bit.safetensors') -Force -PassThru
'@
                Remarks = 'About 72 KB instead of 542 KB; Import-HelloModel reads it back.'
            }
        )
        Links       = @('Export-HelloModel', 'Measure-HelloModel')
    }

    'Invoke-HelloClassify' = @{
        Synopsis    = 'Classifies image files, samples or a data set with a model.'
        Description = @'
Invoke-HelloClassify takes image files (Get-ChildItem output binds through PSPath; -Path expands wildcards), samples from Get-HelloSample, or a whole data set, and returns one result per input: Path (or data set and index), Label (the class name, such as '7' or 'a'), Confidence (the softmax probability, calibrated when the model is), the three most likely classes (Alternatives) and IsConfident.

Image files (PNG, JPEG, BMP, GIF first frame, TIFF, WebP) are decoded with bounds a hostile file cannot exceed (64 MB, 40 megapixels, one frame), EXIF orientation applied, and turned into the model's input the way MNIST itself was made: grayscale, ink found (dark ink on light paper is inverted), cropped to the ink, scaled to fit 20x20 keeping the aspect, and centred by centre of mass in 28x28. An image without ink is reported as blank (IsBlank) rather than given a random label.

Ink is found the way a careful person would: the paper's brightness is estimated region by region (so gradients, shadows and tinted paper drop out), light ink on a dark board is inverted, and connected pieces of ink separate writing from specks and ruled lines.

With -Segment each image is read as lines of characters: pieces of ink are grouped into lines, ordered left to right, fragments of one character (a 5 whose top bar is detached) merged, and touching characters split where the ink is thinnest; there is one result per character (Path, Line, Index, X, Y, Width, Height, Label, Confidence, IsConfident, Alternatives) in reading order, or with -AsText one per line with its Text. -AnnotatedPath writes a copy of the image with a box around each character and its label under it (green when confident, red when not), like hello-dl's boxed.png.

A bad file (not an image, empty, damaged, cut off, enormous, too small) gets one error with a stable id (ImageFileNotAnImage, ImageFileEmpty, ImageFileCorrupt, ImageFileTruncated, ImageFileTooLarge, ImageFileTooSmall) naming the file, and the pipeline goes on with the next file. Files are read 64 at a time, decoded and searched for ink on all cores, and classified in batches of 64: results come in the order of the files, and an error is written when its file is read, so it can come before the results of earlier files.
'@
        Parameters  = @{
            Model             = 'The model to classify with.'
            Path              = 'Image files; wildcards are expanded.'
            LiteralPath       = 'Image files taken exactly as written (names with [ ]). Get-ChildItem output binds here through PSPath.'
            Sample            = 'Samples from Get-HelloSample; their known class appears as Actual and IsCorrect.'
            Dataset           = 'Classify every image of this data set.'
            MinimumConfidence = 'Results below this probability are kept but marked IsConfident = false. Default 0.9; Measure-HelloModel suggests one (RiskCoverage.ThresholdForOnePercentError).'
            Text              = 'Classify strings as documents with a text model: given after -Text, or by pipeline (Get-Content lines.txt | Invoke-HelloClassify -Model $m -Text classifies each line).'
            InputObject       = 'With -Text: the documents to classify.'
            Segment           = 'Read lines of characters in each image: one result per character, in reading order.'
            AsText            = 'With -Segment: one result per line, with the line''s text.'
            AnnotatedPath     = 'With -Segment: write a copy of the image with boxed, labelled characters to this .png file, or into this folder as <name>-boxed.png.'
        }
        Inputs      = @(
            @{ Type = 'System.IO.FileInfo'; Description = 'Files from Get-ChildItem, by property name (PSPath).' }
            @{ Type = 'System.String'; Description = 'Paths, by value.' }
            @{ Type = 'HelloDl.Data.Sample'; Description = 'Samples, by value.' }
            @{ Type = 'HelloDl.Data.ImageDataset'; Description = 'A data set, by value.' }
        )
        Outputs     = @(
            @{ Type = 'HelloDl.Inference.ClassificationResult'; Description = 'Path or Dataset/Index, Label, Confidence, IsConfident, IsBlank, Alternatives, Actual, IsCorrect.' }
            @{ Type = 'HelloDl.Inference.CharacterResult'; Description = 'With -Segment: Path, Line, Index, X, Y, Width, Height, Label, Confidence, IsConfident, Alternatives.' }
            @{ Type = 'HelloDl.Inference.LineResult'; Description = 'With -Segment -AsText: Path, Line, Text, Confidence (of the least sure character), IsConfident, Characters.' }
        )
        Examples    = @(
            @{
                Title   = 'Classify a folder of scans'
                Code    = @'
$train = Import-EmnistSet ./data/mnist
$test = Import-EmnistSet ./data/mnist -Split Test
$mlp = New-HelloModel Mlp -ClassesFrom $train
$null = Start-HelloTraining $mlp $train.Select([int[]](0..9999)) -Epochs 1 -Optimizer Sgd
$scans = Join-Path ([IO.Path]::GetTempPath()) 'hellodl-scans'
New-Item -ItemType Directory -Force $scans | Out-Null
Get-HelloSample $test -Index (0..4) | Export-HelloImage -Path $scans -Scale 4 | Out-Null
Get-ChildItem $scans -Filter *.png | Invoke-HelloClassify -Model $mlp
'@
                Remarks = 'Writes five test digits as dark-on-white PNG files and reads them back.'
            }
            @{
                Title   = 'Only the answers the model is not sure of'
                Code    = @'
Get-HelloSample $test -Random 200 -Seed 1 | Invoke-HelloClassify $mlp -MinimumConfidence 0.95 | Where-Object { -not $_.IsConfident }
'@
                Remarks = 'Lists the samples a person should look at; Actual and IsCorrect show whether the model was right.'
            }
            @{
                Title   = 'Read a line of handwritten digits and draw the boxes'
                Code    = @'
Invoke-HelloClassify -Model $mlp -Path ./scans/line.jpg -Segment -AsText -AnnotatedPath ./scans/line-boxed.png
'@
                Remarks = 'Prints the line''s text and writes line-boxed.png. (Needs a scan of your own: not run by the tests.)'
            }
        )
        Links       = @('Import-HelloModel', 'Get-HelloSample')
    }
    'Import-HelloImageSet' = @{
        Synopsis    = 'Imports one''s own labelled images as a data set.'
        Description = @'
Import-HelloImageSet reads image files of any size and format that Invoke-HelloClassify reads (PNG, JPEG, BMP, GIF, TIFF, WebP) and turns each into the 28x28 MNIST-style input by exactly the preprocessing classification uses, so training and classifying see the same input. Tiny images (8x8 and up), crops whose ink touches the frame, thick and thin strokes, dark-on-light and light-on-dark are all read.

The labels come from one of three places: a folder with one subfolder per class (the folder name is the class name; digits sort numerically, other names ordinally, or -ClassNames fixes the order); a CSV manifest (-ManifestPath) with the columns file and label, paths relative to the CSV; or files by pipeline with -Label. Hidden files are left out.

A file that cannot be read gets one error naming it (ImageFileNotAnImage, ImageFileCorrupt, ImageFileTruncated, ImageFileTooSmall, ImageFileMissing, ImageSetUnknownLabel, ImageSetManifestBadLine, ...) and the import goes on; an image without ink is skipped and counted in one warning (-Verbose names each). The result is an ImageDataset (kept as bytes, like MNIST) that Start-HelloTraining, Measure-HelloModel, Get-HelloSample, Export-HelloImage, Export-EmnistSet, Split-HelloDataset and Join-HelloDataset take unchanged.
'@
        Parameters  = @{
            Path         = 'A folder with one subfolder per class. With -Label: image files, or folders of them, all of that class. Wildcards are expanded.'
            LiteralPath  = 'As -Path, taken as written; Get-ChildItem output binds here.'
            ManifestPath = 'A CSV file whose header names the columns file and label; paths are relative to the CSV''s folder.'
            Label        = 'The class of every file given by -Path or -LiteralPath.'
            ClassNames   = 'The classes in this order (the model''s output order). An image of another class is an error.'
            Name         = 'The data set''s name. Default: the folder''s or manifest''s name.'
        }
        Inputs      = @(@{ Type = 'System.IO.FileInfo'; Description = 'Image files (with -Label), or class folders, from Get-ChildItem.' })
        Outputs     = @(@{ Type = 'HelloDl.Data.ImageDataset'; Description = 'The imported images with their classes.' })
        Examples    = @(
            @{
                Title   = 'A folder with a subfolder per class'
                Code    = @'
$folder = Join-Path ([IO.Path]::GetTempPath()) "hello-mine-$PID"
$test = Import-EmnistSet ./data/mnist -Split Test
$null = Get-HelloSample $test -Index (0..99) | Export-HelloSample -Path $folder
$mine = Import-HelloImageSet $folder
'{0} images in classes {1}' -f $mine.Count, ($mine.ClassNames -join ' ')
Remove-Item $folder -Recurse
'@
                Remarks = 'Files 100 test digits by class (0/, 1/, ... 9/) with Export-HelloSample, then imports the folder: "100 images in classes 0 1 2 3 4 5 6 7 8 9".'
            }
            @{
                Title   = 'A manifest, and files by pipeline'
                Code    = @'
$labelled = Import-HelloImageSet -ManifestPath ./labels.csv
$xs = Get-ChildItem ./drawn/x -File | Import-HelloImageSet -Label X
'@
                Remarks = 'labels.csv has the header "file,label". Not run by the tests (it needs the files).'
            }
        )
        Links       = @('Split-HelloDataset', 'Join-HelloDataset', 'New-HelloModel', 'Export-HelloSample')
    }

    'Import-HelloTextSet' = @{
        Synopsis    = 'Imports labelled documents (text files, raw e-mail, or a CSV) as a text data set.'
        Description = @'
Import-HelloTextSet reads documents for the text models (New-HelloModel TextNgram): one document per file, plain text or a raw e-mail message with its headers (a mail's subject and its text parts, decoded from base64 and quoted-printable, are what the model reads; relays and dates are left out, as they tell a period, not a kind of mail), or the records of a CSV file.

The labels come from -Label (one class for all), from each file's folder name (Get-ChildItem mail/spam/*.txt gives class spam), from a folder's class subfolders (Import-HelloTextSet mail with mail/ham and mail/spam), or from the CSV's label column. -ClassNames fixes the classes and their order.

Reading is bounded: a file larger than -MaximumFileSize gets TextFileTooLarge, a binary file (NUL bytes or many control codes) TextFileBinary, and the import goes on; a CSV record without text or label gets TextSetCsvBadRecord. Text is read as UTF-8 where it is valid UTF-8 (or UTF-16 by its BOM), else as Latin-1. The result is a TextDataset that Split-HelloDataset, Join-HelloDataset, Start-HelloTraining, Measure-HelloModel and Invoke-HelloClassify -Dataset take like an image set.
'@
        Parameters  = @{
            Path            = 'Text files, or folders: with -Label, every file below them; without, a folder''s class subfolders. Wildcards are expanded.'
            LiteralPath     = 'As -Path, taken as written; Get-ChildItem output binds here.'
            CsvPath         = 'A CSV file whose header names the text and label columns; quoted fields may span lines.'
            TextColumn      = 'The CSV column holding the documents (default text).'
            LabelColumn     = 'The CSV column holding the classes (default label), unless -Label names one class for all.'
            Label           = 'The class of every document. Default: each file''s folder name, or the CSV''s label column.'
            ClassNames      = 'The classes in this order (the model''s output order). A document of another class is an error.'
            Name            = 'The data set''s name. Default: the folder''s or file''s name.'
            MaximumFileSize = 'Files larger than this many bytes are refused with TextFileTooLarge (default 4 MiB); a CSV may be 64 times as large.'
        }
        Inputs      = @(@{ Type = 'System.IO.FileInfo'; Description = 'Text files, or folders of them, from Get-ChildItem.' })
        Outputs     = @(@{ Type = 'HelloDl.Data.TextDataset'; Description = 'The imported documents with their classes.' })
        Examples    = @(
            @{
                Title   = 'Two classes of messages, a text model, and strings classified'
                Code    = @'
$folder = Join-Path ([IO.Path]::GetTempPath()) "hello-text-$PID"
foreach ($kind in 'ham', 'spam') { $null = New-Item -ItemType Directory -Force (Join-Path $folder $kind) }
$words = @{ ham = 'patch', 'kernel', 'review', 'build', 'merge'; spam = 'winner', 'prize', 'cheap', 'offer', 'money' }
$random = [Random]::new(1)
foreach ($kind in 'ham', 'spam') {
    foreach ($n in 1..60) {
        $text = (1..12 | ForEach-Object { if ($_ % 3) { 'the', 'a', 'today', 'please', 'see' | Get-Random -SetSeed $random.Next() } else { $words[$kind] | Get-Random -SetSeed $random.Next() } }) -join ' '
        Set-Content -LiteralPath (Join-Path $folder "$kind/$n.txt") -Value $text
    }
}
$mail = Import-HelloTextSet $folder
$model = New-HelloModel TextNgram -ClassesFrom $mail
$null = Start-HelloTraining $model $mail -Epochs 8
'please review the kernel patch today', 'you are a winner, claim the prize money' | Invoke-HelloClassify -Model $model -Text
Remove-Item $folder -Recurse
'@
                Remarks = 'Writes 60 messages of each kind into ham/ and spam/, imports the folder (classes from the subfolders), trains a TextNgram model and classifies two strings: ham, then spam.'
            }
            @{
                Title   = 'Files by pipeline, and a CSV'
                Code    = @'
$ham = Get-ChildItem ./mail/ham -File | Import-HelloTextSet
$comments = Import-HelloTextSet -CsvPath ./comments.csv -TextColumn body -LabelColumn verdict
'@
                Remarks = 'The files take their folder''s name (ham) as their class; the CSV names its columns. Not run by the tests (it needs the files).'
            }
        )
        Links       = @('New-HelloModel', 'Start-HelloTraining', 'Invoke-HelloClassify', 'Split-HelloDataset')
    }

    'Get-HelloText' = @{
        Synopsis    = 'Writes text with a language model, continuing a prompt (hello-dl''s tensor-gru).'
        Description = @'
Get-HelloText feeds the prompt's bytes to a Gru language model (New-HelloModel Gru -Objective NextCharacter, trained with Start-HelloTraining on a text corpus), then draws each next byte from the model's distribution, divided by -Temperature before the softmax, and feeds it back, carrying the GRU's states from step to step. It writes -Length characters (multi-byte UTF-8 characters count once). The same -Seed writes the same text; Ctrl+C stops it.
'@
        Parameters  = @{
            Model         = 'A Gru model made with -Objective NextCharacter and trained on text. Any other model is refused (ModelIsNotLanguageModel).'
            Prompt        = 'The text to continue (also from the pipeline). Empty: start as a new document of the corpus starts.'
            Length        = 'Characters to write after the prompt (default 200).'
            Temperature   = 'Divides the model''s scores before the softmax: below 1 keeps to the likeliest characters, above 1 ventures further (default 0.8).'
            Seed          = 'Fixes the draws. Default: a different text each time.'
            IncludePrompt = 'Write the prompt before what the model adds.'
        }
        Inputs      = @(@{ Type = 'System.String'; Description = 'Prompts, each continued in turn.' })
        Outputs     = @(@{ Type = 'System.String'; Description = 'The text written after each prompt.' })
        Examples    = @(
            @{
                Title   = 'Colder and warmer text from a saved model'
                Code    = @'
$writer = Import-HelloModel ./shakespeare-gru.safetensors
0.3, 0.8, 1.2 | ForEach-Object { Get-HelloText $writer -Prompt 'ROMEO: ' -Length 300 -Temperature $_ -Seed 1 -IncludePrompt }
'@
                Remarks = 'At 0.3 the model repeats its likeliest turns; at 1.2 it invents words. Not run by the tests (it needs a trained model file).'
            }
            @{
                Title   = 'A tiny language model, written from'
                Code    = @'
$file = Join-Path ([IO.Path]::GetTempPath()) "hello-verse-$PID.txt"
Set-Content -LiteralPath $file -Value ('the quick brown fox jumps over the lazy dog. ' * 40)
$corpus = Import-HelloTextSet -LiteralPath $file -Label verse
$writer = New-HelloModel Gru -Objective NextCharacter -HiddenSize 32 -SequenceLength 32
$null = Start-HelloTraining $writer $corpus -Epochs 20 -BatchSize 2 -LearningRate 0.01
Get-HelloText $writer -Prompt 'the quick ' -Length 30 -Temperature 0.3 -Seed 1
Remove-Item -LiteralPath $file
'@
                Remarks = 'Trains a small Gru on one repeated sentence for a few seconds; it then continues "the quick " much as the sentence does.'
            }
        )
        Links       = @('New-HelloModel', 'Start-HelloTraining', 'Import-HelloTextSet')
    }

    'Split-HelloDataset' = @{
        Synopsis    = 'Splits a data set into a training and a validation set, stratified by class.'
        Description = @'
Split-HelloDataset puts a random share of each class (-ValidationFraction, rounded, and at least one image of every class that has two) into a validation set and the rest into a training set; both keep the data set''s order. It writes the training set first, then the validation set, so $train, $validation = Split-HelloDataset $set works. The same seed gives the same split.
'@
        Parameters  = @{
            Dataset            = 'The data set to split.'
            ValidationFraction = 'The share of each class that goes to the validation set (default 0.2).'
            Seed               = 'Fixes which images go where (default 1).'
        }
        Inputs      = @(@{ Type = 'HelloDl.Data.ImageDataset'; Description = 'The data set, by value.' })
        Outputs     = @(@{ Type = 'HelloDl.Data.ImageDataset'; Description = 'The training set, then the validation set (of images).' }, @{ Type = 'HelloDl.Data.TextDataset'; Description = 'The training set, then the validation set (of documents).' })
        Examples    = @(
            @{
                Title   = 'A fifth of each digit for validation'
                Code    = @'
$test = Import-EmnistSet ./data/mnist -Split Test
$train, $validation = Split-HelloDataset $test -ValidationFraction 0.2 -Seed 1
'{0:N0} + {1:N0}' -f $train.Count, $validation.Count
'@
                Remarks = 'Prints "8,000 + 2,000".'
            }
            @{
                Title   = 'From the pipeline'
                Code    = @'
$parts = Import-EmnistSet ./data/mnist -Split Test | Split-HelloDataset -ValidationFraction 0.1
$parts[1].ClassCounts['7']
'@
                Remarks = 'A tenth of the 1,028 sevens: 103.'
            }
        )
        Links       = @('Join-HelloDataset', 'Start-HelloTraining')
    }

    'Join-HelloDataset' = @{
        Synopsis    = 'Joins data sets into one, merging classes by name.'
        Description = @'
Join-HelloDataset puts the images of all the given sets into one. Classes of the same name are one class: the first set''s classes keep their order and each class new in a later set is added after them. MNIST joined with one''s own digits is still ten classes, so a fine-tune can train on both and not forget MNIST. Sets of different image sizes, or more than 256 classes together, stop with DatasetsDoNotJoin.
'@
        Parameters  = @{
            Dataset = 'The sets to join, in order; also from the pipeline.'
            Name    = 'The joined set''s name. Default: the names joined with +.'
        }
        Inputs      = @(@{ Type = 'HelloDl.Data.ImageDataset'; Description = 'Data sets, by value.' })
        Outputs     = @(@{ Type = 'HelloDl.Data.ImageDataset'; Description = 'One set with all the images.' }, @{ Type = 'HelloDl.Data.TextDataset'; Description = 'One set with all the documents (text sets join with text sets only).' })
        Examples    = @(
            @{
                Title   = 'MNIST''s test digits twice'
                Code    = @'
$test = Import-EmnistSet ./data/mnist -Split Test
(Join-HelloDataset $test, $test).Count
'@
                Remarks = 'Prints 20000.'
            }
            @{
                Title   = 'MNIST and one''s own digits'
                Code    = @'
$both = Import-EmnistSet ./data/mnist | Join-HelloDataset -Dataset (Import-HelloImageSet ./my-digits) -Name mnist+mine
'@
                Remarks = 'Not run by the tests (it needs the folder).'
            }
        )
        Links       = @('Split-HelloDataset', 'Import-HelloImageSet')
    }

    'Export-HelloSample' = @{
        Synopsis    = 'Copies classified inputs into a folder per label, for a person to review.'
        Description = @'
Export-HelloSample files each input it is given under a subfolder of -Path named by its label: results of Invoke-HelloClassify on files (the file is copied as it is), characters from Invoke-HelloClassify -Segment (the character''s crop of its page is written as a PNG, with a little paper around it), or samples of a data set (written as a PNG). A person moves the wrong ones into the right folder, and Import-HelloImageSet reads the folder back as a labelled set: the review loop. An existing file is never overwritten (a taken name gets a number), each file appears only when complete, and blank results are skipped with a warning.
'@
        Parameters  = @{
            Path      = 'The review folder; a subfolder per label is made in it.'
            Result    = 'Results of Invoke-HelloClassify on files.'
            Character = 'Characters from Invoke-HelloClassify -Segment.'
            Sample    = 'Samples of a data set (Get-HelloSample).'
        }
        Inputs      = @(
            @{ Type = 'HelloDl.Inference.ClassificationResult'; Description = 'Classified files.' }
            @{ Type = 'HelloDl.Inference.CharacterResult'; Description = 'Characters read from pages.' }
            @{ Type = 'HelloDl.Data.Sample'; Description = 'Samples of a data set.' }
        )
        Outputs     = @(@{ Type = 'System.IO.FileInfo'; Description = 'Each file written.' })
        Examples    = @(
            @{
                Title   = 'Review the answers the model is unsure of'
                Code    = @'
Get-ChildItem ./scans -File | Invoke-HelloClassify -Model $m | Where-Object { -not $_.IsConfident } | Export-HelloSample -Path ./review
# move misfiled images to the right folder, then:
$reviewed = Import-HelloImageSet ./review
'@
                Remarks = 'Not run by the tests (it needs the scans and a model).'
            }
            @{
                Title   = 'Samples of a data set, filed by class'
                Code    = @'
$test = Import-EmnistSet ./data/mnist -Split Test
Get-HelloSample $test -Index 0, 1, 2 | Export-HelloSample -Path (Join-Path ([IO.Path]::GetTempPath()) "hello-review-$PID") -WhatIf
'@
                Remarks = 'With -WhatIf, says which three PNG files it would write (7/, 2/ and 1/).'
            }
        )
        Links       = @('Invoke-HelloClassify', 'Import-HelloImageSet')
    }

    'Export-EmnistSet' = @{
        Synopsis    = 'Writes a data set as IDX files, in MNIST''s layout or EMNIST''s (transposed, with NIST''s names and mapping).'
        Description = @'
Export-EmnistSet writes the images and labels of a data set as an IDX pair that Import-EmnistSet and other tools read. With -Variant Mnist the files are named and laid out as MNIST's (train-images-idx3-ubyte, t10k-labels-idx1-ubyte); with an EMNIST variant they get NIST's names (emnist-digits-test-images-idx3-ubyte), the images are stored transposed as EMNIST stores them, Letters labels start at 1, and an emnist-*-mapping.txt is written beside them. -Compress gzips the IDX files as NIST ships them.

Use it to hand a subset to another tool, or to make EMNIST-format files from MNIST to test EMNIST handling.
'@
        Parameters  = @{
            Dataset  = 'The data set to write.'
            Path     = 'The folder to write into; created when missing.'
            Variant  = 'Write as this variant (Mnist, Digits, Letters, Balanced, ByClass, ByMerge, EmnistMnist). Default: the data set''s own.'
            Compress = 'gzip the IDX files (.gz).'
            WhatIf   = 'Shows what would be written without writing.'
            Confirm  = 'Asks before writing.'
        }
        Inputs      = @(@{ Type = 'HelloDl.Data.ImageDataset'; Description = 'The data set, by value.' })
        Outputs     = @(@{ Type = 'System.IO.FileInfo'; Description = 'The files written: images, labels and, for EMNIST variants, the mapping.' })
        Examples    = @(
            @{
                Title   = 'Make EMNIST-format digits from MNIST and read them back'
                Code    = @'
$test = Import-EmnistSet ./data/mnist -Split Test
$folder = Join-Path ([IO.Path]::GetTempPath()) 'emnist-from-mnist'
$test.Select([int[]](0..999)) | Export-EmnistSet -Path $folder -Variant Digits -Compress
Import-EmnistSet $folder
'@
                Remarks = 'Writes emnist-digits-test-images-idx3-ubyte.gz (transposed), its labels and emnist-digits-mapping.txt; importing turns the images upright again.'
            }
            @{
                Title   = 'Save the 3s and 7s for hello-dl''s first chapter'
                Code    = @'
$train = Import-EmnistSet ./data/mnist
$train.WithClasses('3', '7') | Export-EmnistSet -Path (Join-Path ([IO.Path]::GetTempPath()) 'threes-and-sevens') -Variant Mnist
'@
                Remarks = 'WithClasses keeps only the images of the named classes and relabels them 0 and 1.'
            }
        )
        Links       = @('Import-EmnistSet')
    }

    'Export-HelloImage' = @{
        Synopsis    = 'Writes PNG pictures of samples, misclassified images, model weights, confusion matrices and training curves.'
        Description = @'
Export-HelloImage draws what people would rather look at than read, as PNG files, with a small built-in bitmap font for labels:

-Sample: one file per sample (named <data set>-<index>-<class>.png, dark ink on white like a scan) into the folder -Path, or with -Grid one picture of all samples with their class under each. With -Scan each sample becomes a realistic scan (paper, lighting, pen, blur, noise); with -Line all samples become one scanned line of handwriting.

-Model -Dataset -Misclassified: a gallery of the images the model gets wrong, captioned actual->predicted.

-Model -Weights: the first layer's weights, red positive and blue negative: for the Linear model one 28x28 map per class (with two classes, hello-dl's chapter 1 picture of what separates a 3 from a 7), for the CNN its 32 first-layer filters, for the MLP the 128 first-layer neurons.

-Evaluation: the confusion matrix as a heat map (rows actual, columns predicted), mistakes in red.

-Epoch: training curves (loss and accuracy per epoch, training and validation) from Start-HelloTraining's output. -Batch: per-batch curves (loss, accuracy, learning rate) from Get-HelloTrainingLog -Table Batches.
'@
        Parameters  = @{
            Sample        = 'Samples from Get-HelloSample.'
            Model         = 'The model whose weights (-Weights) or mistakes (-Misclassified) to draw.'
            Weights       = 'Draw the model''s first-layer weights. -Model without -Dataset draws them too: the switch only makes it explicit.'
            Dataset       = 'With -Misclassified: the labelled images to look for mistakes in.'
            Misclassified = 'Draw the images of -Dataset that -Model classifies wrongly. -Model with -Dataset draws them too: the switch only makes it explicit.'
            Evaluation    = 'An evaluation from Measure-HelloModel: its confusion matrix is drawn as a heat map.'
            Epoch         = 'Epoch objects from Start-HelloTraining: drawn as training curves.'
            Batch         = 'Batch rows from Get-HelloTrainingLog -Table Batches: drawn as per-batch loss, accuracy and learning-rate curves.'
            Path          = 'The PNG file to write; with -Sample and no -Grid, the folder to write one file per sample into.'
            Grid          = 'With -Sample: one picture of all samples, each with its class under it.'
            Columns       = 'Images (or maps) per row of a grid (default 10).'
            Scale         = 'Screen pixels per image pixel (default 2).'
            MaximumCount  = 'With -Misclassified: at most this many images (default 100).'
            AsStored      = 'With -Sample: light ink on black, as MNIST stores its images, instead of dark ink on white.'
            Scan          = 'With -Sample: render each sample as a realistic scan or photo: enlarged 3-10x, placed anywhere on tinted paper with a lighting gradient, noise, specks and sometimes ruled lines, in black, blue or pencil, slightly rotated and blurred. Test material for reading real scans.'
            Line          = 'With -Sample: render all samples as one realistic scan of a handwritten line (varying gaps, some touching), written to -Path.'
            Seed          = 'With -Scan or -Line: makes the rendering repeatable.'
            WhatIf        = 'Shows what would be written without writing.'
            Confirm       = 'Asks before each file is written.'
        }
        Inputs      = @(
            @{ Type = 'HelloDl.Data.Sample'; Description = 'Samples, by value.' }
            @{ Type = 'HelloDl.Training.Evaluation'; Description = 'An evaluation, by value.' }
            @{ Type = 'HelloDl.Training.EpochResult'; Description = 'Epoch objects, by value.' }
            @{ Type = 'HelloDl.Training.LoggedBatch'; Description = 'Batch rows of a training log, by value.' }
        )
        Outputs     = @(@{ Type = 'System.IO.FileInfo'; Description = 'Each file written.' })
        Examples    = @(
            @{
                Title   = 'A grid of samples with their labels'
                Code    = @'
$test = Import-EmnistSet ./data/mnist -Split Test
Get-HelloSample $test -Random 40 -Seed 3 | Export-HelloImage -Grid -Path (Join-Path ([IO.Path]::GetTempPath()) 'samples.png')
'@
                Remarks = 'Four rows of ten digits, each captioned with its class.'
            }
            @{
                Title   = 'hello-dl''s 3-versus-7 weights, the mistakes, the confusion matrix and the curves'
                Code    = @'
$train = (Import-EmnistSet ./data/mnist).WithClasses('3', '7')
$test = (Import-EmnistSet ./data/mnist -Split Test).WithClasses('3', '7')
$linear = New-HelloModel Linear -ClassesFrom $train
$epochs = Start-HelloTraining $linear $train -ValidationSet $test -Epochs 3 -Optimizer Sgd -LearningRate 0.02
$out = [IO.Path]::GetTempPath()
Export-HelloImage -Model $linear -Weights -Path (Join-Path $out 'three-vs-seven.png') -Scale 8
Export-HelloImage -Model $linear -Dataset $test -Misclassified -Path (Join-Path $out 'mistakes.png')
Measure-HelloModel $linear $test | Export-HelloImage -Path (Join-Path $out 'confusion.png')
$epochs | Export-HelloImage -Path (Join-Path $out 'curves.png')
'@
                Remarks = 'Red pixels push towards 7, blue towards 3, as in hello-dl''s chapter 1.'
            }
            @{
                Title   = 'Make a realistic scan of a line of test digits and read it back'
                Code    = @'
$test = Import-EmnistSet ./data/mnist -Split Test
$line = Join-Path ([IO.Path]::GetTempPath()) 'line.png'
Get-HelloSample $test -Index (0..5) | Export-HelloImage -Line -Seed 1 -Path $line | Out-Null
$mlp = New-HelloModel Mlp -ClassesFrom $test
$null = Start-HelloTraining $mlp (Import-EmnistSet ./data/mnist).Select([int[]](0..9999)) -Epochs 1 -Optimizer Sgd
Invoke-HelloClassify -Model $mlp -LiteralPath $line -Segment -AsText
'@
                Remarks = 'The digits 7, 2, 1, 0, 4, 1 on paper, read back as one line of text.'
            }
        )
        Links       = @('Get-HelloSample', 'Measure-HelloModel', 'Start-HelloTraining')
    }
    'Get-HelloTrainingLog' = @{
        Synopsis    = 'Reads the SQLite metrics database written by Start-HelloTraining -LogPath.'
        Description = @'
Start-HelloTraining -LogPath run.sqlite records every batch, every validation pass and the final confusion matrix of a training run, under one run id per run, so many runs can share one file (the schema is in about_HelloDl). Get-HelloTrainingLog reads one table of it back as objects: Runs (what each run was), Batches (loss and accuracy of every batch), Validations (per epoch) or Confusion (the last validation's confusion matrix as actual/predicted/count rows), for all runs or for -RunId.
'@
        Parameters  = @{
            LiteralPath = 'The SQLite file. Get-ChildItem output binds here.'
            Table       = 'Runs (default), Batches, Validations or Confusion.'
            RunId       = 'Only this run.'
        }
        Inputs      = @(@{ Type = 'System.String'; Description = 'The log file path, by value or by property name (PSPath, FullName).' })
        Outputs     = @(
            @{ Type = 'HelloDl.Training.LoggedRun'; Description = 'With -Table Runs: RunId, StartedUtc, Architecture, TrainingSet, ValidationSet, Epochs, BatchSize, Optimizer, LearningRate.' }
            @{ Type = 'HelloDl.Training.LoggedBatch'; Description = 'With -Table Batches: RunId, Epoch, Batch, Seconds, Loss, Accuracy, LearningRate, BatchSize.' }
            @{ Type = 'HelloDl.Training.LoggedValidation'; Description = 'With -Table Validations: RunId, Epoch, Seconds, Loss, Accuracy, Images.' }
            @{ Type = 'HelloDl.Training.LoggedConfusion'; Description = 'With -Table Confusion: RunId, Actual, Predicted, Count.' }
        )
        Examples    = @(
            @{
                Title   = 'Log a run and look at its batches'
                Code    = @'
$train = Import-EmnistSet ./data/mnist
$test = Import-EmnistSet ./data/mnist -Split Test
$log = Join-Path ([IO.Path]::GetTempPath()) 'hellodl-run.sqlite'
$mlp = New-HelloModel Mlp -ClassesFrom $train
$null = Start-HelloTraining $mlp $train.Select([int[]](0..6399)) -ValidationSet $test -Epochs 2 -Optimizer Sgd -LogPath $log
Get-HelloTrainingLog $log
Get-HelloTrainingLog $log -Table Batches | Select-Object -Last 5
'@
                Remarks = 'Every run appends to the file under a new run id.'
            }
            @{
                Title   = 'Chart the loss of every batch of the last run'
                Code    = @'
$run = Get-HelloTrainingLog $log | Select-Object -Last 1
Get-HelloTrainingLog $log -Table Batches -RunId $run.RunId | Measure-Object Loss -Average -Minimum -Maximum
'@
                Remarks = 'The same rows can be read with sqlite3 or Python: SELECT epoch, batch, loss FROM batches WHERE run_id = 1.'
            }
        )
        Links       = @('Start-HelloTraining', 'about_HelloDl')
    }
}
