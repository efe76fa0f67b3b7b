using System.Numerics.Tensors;

namespace HelloDl.Optim;

/// <summary>
/// Updates a model's flat parameter buffer from its flat gradient buffer. State (velocities,
/// moments) is flat too, parallel to the parameters, so checkpoints save it as is.
/// </summary>
public abstract class Optimizer
{
    protected Optimizer(float[] parameters, float[] gradients)
    {
        if (parameters.Length != gradients.Length) throw new ArgumentException("Parameters and gradients differ in length.");
        Parameters = parameters;
        Gradients = gradients;
    }

    protected float[] Parameters { get; }
    protected float[] Gradients { get; }

    /// <summary>Steps taken so far.</summary>
    public long StepCount { get; protected set; }

    /// <summary>Named state buffers, for checkpoints (each as long as the parameters).</summary>
    public abstract IReadOnlyDictionary<string, float[]> State { get; }

    /// <summary>One update with the given learning rate.</summary>
    public abstract void Step(float learningRate);

    /// <summary>Restores the step count after loading <see cref="State"/> from a checkpoint.</summary>
    public void RestoreStepCount(long steps) => StepCount = steps >= 0 ? steps : throw new ArgumentOutOfRangeException(nameof(steps));
}

/// <summary>
/// Stochastic gradient descent with a real velocity buffer: v = μv + g (+ λw), w -= lr·v; with
/// Nesterov, w -= lr·(g + μv). Weight decay λ is added to the gradient (L2).
/// </summary>
public sealed class Sgd : Optimizer
{
    readonly float[] _velocity;

    public Sgd(float[] parameters, float[] gradients, float momentum = 0.9f, bool nesterov = false, float weightDecay = 0)
        : base(parameters, gradients)
    {
        if (momentum is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(momentum), "Momentum must be in [0, 1).");
        if (nesterov && momentum == 0) throw new ArgumentException("Nesterov needs momentum.", nameof(nesterov));
        Momentum = momentum;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
        _velocity = new float[parameters.Length];
    }

    public float Momentum { get; }
    public bool Nesterov { get; }
    public float WeightDecay { get; }
    public override IReadOnlyDictionary<string, float[]> State => new Dictionary<string, float[]> { ["velocity"] = _velocity };

    public override void Step(float learningRate)
    {
        Span<float> w = Parameters, g = Gradients, v = _velocity;
        if (WeightDecay != 0) TensorPrimitives.MultiplyAdd(w, WeightDecay, g, g);
        if (Momentum == 0)
        {
            TensorPrimitives.MultiplyAdd(g, -learningRate, w, w);
        }
        else
        {
            TensorPrimitives.MultiplyAdd(v, Momentum, g, v);              // v = μv + g
            if (Nesterov) TensorPrimitives.MultiplyAdd(v, Momentum, g, g); // g + μv
            TensorPrimitives.MultiplyAdd(Nesterov ? g : v, -learningRate, w, w);
        }
        StepCount++;
    }
}

/// <summary>
/// Adam (Kingma and Ba) with bias correction; hello-dl's defaults β1 0.9, β2 0.999, ε 1e-8.
/// With <c>decoupled</c> it is AdamW: weight decay shrinks the weights directly (w -= lr·λ·w)
/// instead of being added to the gradient.
/// </summary>
public sealed class Adam : Optimizer
{
    readonly float[] _m, _v;

    public Adam(float[] parameters, float[] gradients, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f,
        float weightDecay = 0, bool decoupled = false) : base(parameters, gradients)
    {
        (Beta1, Beta2, Epsilon, WeightDecay, Decoupled) = (beta1, beta2, epsilon, weightDecay, decoupled);
        _m = new float[parameters.Length];
        _v = new float[parameters.Length];
    }

    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Epsilon { get; }
    public float WeightDecay { get; }
    public bool Decoupled { get; }
    public override IReadOnlyDictionary<string, float[]> State => new Dictionary<string, float[]> { ["m"] = _m, ["v"] = _v };

    public override void Step(float learningRate)
    {
        StepCount++;
        float[] w = Parameters, g = Gradients;
        if (WeightDecay != 0 && !Decoupled) TensorPrimitives.MultiplyAdd(w, WeightDecay, g, g);
        if (WeightDecay != 0 && Decoupled) TensorPrimitives.Multiply(w, 1 - learningRate * WeightDecay, w);
        float correction1 = 1 - MathF.Pow(Beta1, StepCount), correction2 = 1 - MathF.Pow(Beta2, StepCount);
        float stepSize = learningRate / correction1, rootCorrection2 = MathF.Sqrt(correction2);
        float b1 = Beta1, b2 = Beta2, eps = Epsilon;
        for (int i = 0; i < w.Length; i++)
        {
            float gi = g[i];
            float m = _m[i] = b1 * _m[i] + (1 - b1) * gi;
            float v = _v[i] = b2 * _v[i] + (1 - b2) * gi * gi;
            w[i] -= stepSize * m / (MathF.Sqrt(v) / rootCorrection2 + eps);
        }
    }
}

/// <summary>Scales all gradients down together when their global L2 norm exceeds a limit.</summary>
public static class GradientClipping
{
    /// <returns>The norm before clipping.</returns>
    public static float ClipByNorm(Span<float> gradients, float maxNorm)
    {
        float norm = TensorPrimitives.Norm(gradients);
        if (norm > maxNorm && norm > 0) TensorPrimitives.Multiply(gradients, maxNorm / norm, gradients);
        return norm;
    }
}
