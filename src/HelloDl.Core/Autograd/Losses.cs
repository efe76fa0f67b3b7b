using System.Runtime.CompilerServices;
using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>log softmax over the last dimension of [N, C]: x - max - log Σ exp(x - max).</summary>
public sealed class LogSoftmax : Op
{
    readonly Tensor _x;

    LogSoftmax(Tensor x) => _x = x;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Apply(Tape tape, Tensor x)
    {
        if (x.Rank != 2) throw new ArgumentException($"LogSoftmax takes [N, C], not {x}.");
        int rows = x.Dim(0), classes = x.Dim(1);
        var y = tape.NewTensor(rows, classes);
        for (int r = 0; r < rows; r++)
        {
            var input = x.Data.Slice(r * classes, classes);
            var output = y.Data.Slice(r * classes, classes);
            float max = Rows.Max(input), sum = 0;
            for (int c = 0; c < classes; c++) sum += MathF.Exp(output[c] = input[c] - max);
            float log = MathF.Log(sum);
            for (int c = 0; c < classes; c++) output[c] -= log;
        }
        tape.Record(new LogSoftmax(x), y, x);
        return y;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal override void Backward(Tape tape)
    {
        // dx = dy - softmax(x) Σ dy, per row; softmax = exp(y).
        int rows = _x.Dim(0), classes = _x.Dim(1);
        var dx = tape.GradOf(_x);
        for (int r = 0; r < rows; r++)
        {
            var y = Output!.Data.Slice(r * classes, classes);
            var dy = Output.Grad.Slice(r * classes, classes);
            var g = dx.Slice(r * classes, classes);
            float total = Rows.Sum(dy);
            for (int c = 0; c < classes; c++) g[c] += dy[c] - MathF.Exp(y[c]) * total;
        }
    }
}

/// <summary>
/// Negative log-likelihood: the mean over the batch of -logProbabilities[i, target[i]]; with
/// class weights, the weighted mean Σ w[tᵢ]·(-log pᵢ) / Σ w[tᵢ] (as PyTorch's weight=), so that a
/// rare class counts as much as a common one.
/// </summary>
public sealed class NllLoss : Op
{
    readonly Tensor _logProbabilities;
    readonly int[] _targets;
    readonly float[]? _classWeights;
    readonly double _weightSum;

    NllLoss(Tensor logProbabilities, int[] targets, float[]? classWeights, double weightSum)
    {
        _logProbabilities = logProbabilities;
        _targets = targets;
        _classWeights = classWeights;
        _weightSum = weightSum;
    }

    /// <param name="targets">Class index per row; the array is read again by backward, so keep it unchanged until then.</param>
    /// <param name="classWeights">One positive weight per class, or null for all 1; kept unchanged until backward.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Tensor Apply(Tape tape, Tensor logProbabilities, int[] targets, float[]? classWeights = null)
    {
        int rows = logProbabilities.Dim(0), classes = logProbabilities.Dim(1);
        if (targets.Length < rows) throw new ArgumentException($"{rows} rows but {targets.Length} targets.");
        if (classWeights is not null && (classWeights.Length != classes || classWeights.Any(w => !(w > 0) || !float.IsFinite(w))))
            throw new ArgumentException($"Class weights must be {classes} positive numbers.", nameof(classWeights));
        double total = 0, weightSum = 0;
        for (int r = 0; r < rows; r++)
        {
            if ((uint)targets[r] >= (uint)classes) throw new ArgumentOutOfRangeException(nameof(targets), $"Target {targets[r]} of row {r} is not one of {classes} classes.");
            double weight = classWeights?[targets[r]] ?? 1;
            total -= weight * logProbabilities.Data[r * classes + targets[r]];
            weightSum += weight;
        }
        var loss = tape.NewTensor(1);
        loss.Data[0] = (float)(total / weightSum);
        tape.Record(new NllLoss(logProbabilities, targets, classWeights, weightSum), loss, logProbabilities);
        return loss;
    }

    /// <summary>Cross-entropy of raw scores: NLL of their log-softmax.</summary>
    public static Tensor CrossEntropy(Tape tape, Tensor logits, int[] targets) => Apply(tape, LogSoftmax.Apply(tape, logits), targets);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal override void Backward(Tape tape)
    {
        int rows = _logProbabilities.Dim(0), classes = _logProbabilities.Dim(1);
        var dx = tape.GradOf(_logProbabilities);
        double g = Output!.Grad[0] / _weightSum;
        for (int r = 0; r < rows; r++) dx[r * classes + _targets[r]] -= (float)(g * (_classWeights?[_targets[r]] ?? 1));
    }
}
