namespace HelloDl.Data;

/// <summary>The MNIST family of data sets that share the IDX file format.</summary>
public enum DatasetVariant
{
    /// <summary>LeCun's original MNIST digits (not transposed).</summary>
    Mnist,
    /// <summary>EMNIST Digits: 280,000 digits.</summary>
    Digits,
    /// <summary>EMNIST Letters: 26 classes, upper and lower case merged, labels 1..26.</summary>
    Letters,
    /// <summary>EMNIST Balanced: 47 classes, equal counts.</summary>
    Balanced,
    /// <summary>EMNIST ByClass: 62 classes (digits, upper, lower).</summary>
    ByClass,
    /// <summary>EMNIST ByMerge: 47 classes, look-alike upper/lower letters merged.</summary>
    ByMerge,
    /// <summary>EMNIST's own MNIST-sized digit set (file names 'emnist-mnist-*').</summary>
    EmnistMnist,
    /// <summary>
    /// One's own images (Import-HelloImageSet), or sets joined from several; written out in
    /// EMNIST's layout with a mapping file of its class names (file names 'emnist-byclass-*').
    /// </summary>
    Custom,
}

/// <summary>Which half of a data set.</summary>
public enum DatasetSplit
{
    Train,
    Test,
}
