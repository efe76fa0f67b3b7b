using HelloDl.Autograd;
using HelloDl.Tensors;

namespace HelloDl.Nn;

/// <summary>
/// A model's network in integers, which classifies in place of the float one (built by the
/// Quantization folder). It only predicts: a quantised model is not trained.
/// </summary>
public interface IQuantizedNetwork
{
    /// <summary>Bits per weight in the model file: 8, or 4 (hello-dl's equal-population codebook).</summary>
    int Bits { get; }
    /// <summary>What the activation ranges were measured on, e.g. 'mnist-train: 2,048 images'.</summary>
    string Calibration { get; }
    /// <summary>Log-probabilities [N, classes] for a normalised batch [N, 1, 28, 28], on a tape that does not record.</summary>
    Tensor Forward(Tape tape, Tensor input);
}
