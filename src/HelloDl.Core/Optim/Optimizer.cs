using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace HelloDl.Optim;

/// <summary>The optimizers a training run can use; checkpoints record which one made their state.</summary>
public enum OptimizerKind
{
    /// <summary>Stochastic gradient descent with momentum.</summary>
    Sgd,
    /// <summary>Adam, weight decay added to the gradient.</summary>
    Adam,
    /// <summary>Adam with decoupled weight decay.</summary>
    AdamW,
}

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

    /// <summary>An optimizer of the given kind over a model's flat parameter and gradient buffers.</summary>
    public static Optimizer Create(OptimizerKind kind, float[] parameters, float[] gradients, float momentum = 0.9f, bool nesterov = false, float weightDecay = 0) =>
        kind switch
        {
            OptimizerKind.Sgd => new Sgd(parameters, gradients, momentum, nesterov, weightDecay),
            OptimizerKind.Adam => new Adam(parameters, gradients, weightDecay: weightDecay),
            OptimizerKind.AdamW => new Adam(parameters, gradients, weightDecay: weightDecay, decoupled: true),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown optimizer."),
        };

    public abstract OptimizerKind Kind { get; }
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

    const int ChunkLength = 16 * 1024;
    (int Start, int End)[]? _chunks;

    /// <summary>The [start, end) pieces of the parameters that steps update: all of them unless some are frozen.</summary>
    (int Start, int End)[] Chunks => _chunks ??= ChunksOf([(0, Parameters.Length)]);

    /// <summary>From now on, steps leave these ranges of the parameters (and their state) exactly as they are.</summary>
    public void Freeze(IReadOnlyList<(int Offset, int Length)> ranges)
    {
        var frozen = new bool[Parameters.Length];
        foreach (var (offset, length) in ranges) frozen.AsSpan(offset, length).Fill(true);
        var trainable = new List<(int, int)>();
        for (int i = 0; i < frozen.Length;)
        {
            if (frozen[i]) { i++; continue; }
            int start = i;
            while (i < frozen.Length && !frozen[i]) i++;
            trainable.Add((start, i));
        }
        _chunks = ChunksOf(trainable);
    }

    static (int Start, int End)[] ChunksOf(IEnumerable<(int Start, int End)> ranges) =>
        ranges.SelectMany(r => Enumerable.Range(0, (r.End - r.Start + ChunkLength - 1) / ChunkLength)
            .Select(c => (r.Start + c * ChunkLength, Math.Min(r.End, r.Start + (c + 1) * ChunkLength)))).ToArray();

    /// <summary>
    /// Runs an element-wise update over [start, end) ranges of the parameters in one pass, on the
    /// kernel threads: an update reads and writes several buffers as long as the model, so a
    /// single fused pass over fixed chunks beats one library call per term.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected void ForEachChunk(Action<int, int> update)
    {
        var chunks = Chunks;
        HelloDl.Kernels.Parallelism.For(chunks.Length, (long)Parameters.Length * 16, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (chunk) =>
            update(chunks[chunk].Start, chunks[chunk].End));
    }
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

    public override OptimizerKind Kind => OptimizerKind.Sgd;
    public float Momentum { get; }
    public bool Nesterov { get; }
    public float WeightDecay { get; }
    public override IReadOnlyDictionary<string, float[]> State => new Dictionary<string, float[]> { ["velocity"] = _velocity };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Step(float learningRate)
    {
        float[] w = Parameters, g = Gradients, v = _velocity;
        float momentum = Momentum, decay = WeightDecay;
        bool nesterov = Nesterov;
        ForEachChunk([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
        {
            int i = start;
            var mu = Vector256.Create(momentum);
            var lambda = Vector256.Create(decay);
            var rate = Vector256.Create(learningRate);
            for (; i <= end - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var wi = Vector256.Create(w.AsSpan(i));
                var gi = Vector256.Create(g.AsSpan(i)) + lambda * wi;   // L2 weight decay folded into the gradient
                var vi = mu * Vector256.Create(v.AsSpan(i)) + gi;       // v = μv + g
                vi.CopyTo(v.AsSpan(i));
                (wi - rate * (nesterov ? gi + mu * vi : vi)).CopyTo(w.AsSpan(i));
            }
            for (; i < end; i++)
            {
                float gi = g[i] + decay * w[i];
                float vi = v[i] = momentum * v[i] + gi;
                w[i] -= learningRate * (nesterov ? gi + momentum * vi : vi);
            }
        });
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
    public override OptimizerKind Kind => Decoupled ? OptimizerKind.AdamW : OptimizerKind.Adam;
    public override IReadOnlyDictionary<string, float[]> State => new Dictionary<string, float[]> { ["m"] = _m, ["v"] = _v };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Step(float learningRate)
    {
        StepCount++;
        float[] w = Parameters, g = Gradients;
        float correction1 = 1 - MathF.Pow(Beta1, StepCount), correction2 = 1 - MathF.Pow(Beta2, StepCount);
        float stepSize = learningRate / correction1, rootCorrection2 = MathF.Sqrt(correction2);
        float b1 = Beta1, b2 = Beta2, eps = Epsilon, decay = WeightDecay;
        bool decoupled = Decoupled;
        ForEachChunk([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
        {
            // Within the chunk, so that frozen ranges are not decayed either.
            var wc = w.AsSpan(start, end - start);
            if (decay != 0 && !decoupled) TensorPrimitives.MultiplyAdd(wc, decay, g.AsSpan(start, end - start), g.AsSpan(start, end - start));
            if (decay != 0 && decoupled) TensorPrimitives.Multiply(wc, 1 - learningRate * decay, wc);
            int i = start;
            for (; i <= end - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var gi = Vector256.Create(g.AsSpan(i));
                var m = Vector256.Create(b1) * Vector256.Create(_m.AsSpan(i)) + Vector256.Create(1 - b1) * gi;
                var v = Vector256.Create(b2) * Vector256.Create(_v.AsSpan(i)) + Vector256.Create(1 - b2) * gi * gi;
                m.CopyTo(_m.AsSpan(i));
                v.CopyTo(_v.AsSpan(i));
                var denominator = Vector256.Sqrt(v) / Vector256.Create(rootCorrection2) + Vector256.Create(eps);
                (Vector256.Create(w.AsSpan(i)) - Vector256.Create(stepSize) * m / denominator).CopyTo(w.AsSpan(i));
            }
            for (; i < end; i++)
            {
                float gi = g[i];
                float m = _m[i] = b1 * _m[i] + (1 - b1) * gi;
                float v = _v[i] = b2 * _v[i] + (1 - b2) * gi * gi;
                w[i] -= stepSize * m / (MathF.Sqrt(v) / rootCorrection2 + eps);
            }
        });
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
