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

    (int Start, int End)[]? _trainable;
    (int Start, int End)[] _chunks = [];
    int _chunksThreads;

    /// <summary>The [start, end) ranges of the parameters that steps update: all of them unless some are frozen.</summary>
    (int Start, int End)[] Trainable => _trainable ??= [(0, Parameters.Length)];

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
        _trainable = [.. trainable];
        _chunksThreads = 0;
    }

    /// <summary>
    /// The trainable ranges cut into one piece per thread, each (but a range's last) a whole number
    /// of 16-float cache lines long. On Zen 4 an MLP step's SGD update took 20-22 us in two halves
    /// against 28-29 in pieces of 16K elements: each thread streams one long run, and the pieces
    /// are handed out once. Cut again whenever a run's steps switch between one thread and all of
    /// them, so with plain loops: the library's sequence methods and their lambdas, called a few
    /// times at each switch, added up to a recompilation during a first epoch on a run that switched often.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal (int Start, int End)[] ChunksFor(int threads)
    {
        if (_chunksThreads == threads) return _chunks;
        var trainable = Trainable;
        long total = 0;
        foreach (var (start, end) in trainable) total += end - start;
        long length = Math.Max(CacheLineFloats, ((total + threads - 1) / threads + CacheLineFloats - 1) / CacheLineFloats * CacheLineFloats);
        int count = 0;
        foreach (var (start, end) in trainable) count += (int)((end - start + length - 1) / length);
        var chunks = new (int Start, int End)[count];
        int next = 0;
        foreach (var (start, end) in trainable)
            for (long first = start; first < end; first += length)
                chunks[next++] = ((int)first, (int)Math.Min(end, first + length));
        (_chunks, _chunksThreads) = (chunks, threads);
        return chunks;
    }

    const int CacheLineFloats = 16;

    /// <summary>
    /// Runs an element-wise update over [start, end) ranges of the parameters in one pass, on the
    /// kernel threads: an update reads and writes several buffers as long as the model, so a
    /// single fused pass over a piece per thread beats one library call per term.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected void ForEachChunk(Action<int, int> update)
    {
        var chunks = ChunksFor(HelloDl.Kernels.Parallelism.MaxThreads);
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
    public override unsafe void Step(float learningRate)
    {
        float momentum = Momentum, decay = WeightDecay;
        bool nesterov = Nesterov;
        fixed (float* w = Parameters, g = Gradients, v = _velocity)
        {
            float* weights = w, gradients = g, velocity = v;
            ForEachChunk([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
                Update(weights + start, gradients + start, velocity + start, end - start, momentum, decay, learningRate, nesterov));
        }
        StepCount++;
    }

    /// <summary>
    /// One run of the update through pointers. The same loop inside the closure, over spans of
    /// the arrays it captured (bounds-checked at every vector), took three times as long: on Zen 4
    /// the MLP's 109,386 parameters took 33 us on two threads with the buffers in cache, against
    /// 11 now, and 41 of a 250 us training step, against 29.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Update(float* w, float* g, float* v, int count, float momentum, float decay, float learningRate, bool nesterov)
    {
        int i = 0;
        var mu = Vector256.Create(momentum);
        var lambda = Vector256.Create(decay);
        var rate = Vector256.Create(learningRate);
        for (; i <= count - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var wi = Vector256.Load(w + i);
            var gi = Vector256.Load(g + i) + lambda * wi;   // L2 weight decay folded into the gradient
            var vi = mu * Vector256.Load(v + i) + gi;       // v = μv + g
            vi.Store(v + i);
            (wi - rate * (nesterov ? gi + mu * vi : vi)).Store(w + i);
        }
        for (; i < count; i++)
        {
            float gi = g[i] + decay * w[i];
            float vi = v[i] = momentum * v[i] + gi;
            w[i] -= learningRate * (nesterov ? gi + momentum * vi : vi);
        }
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
    public override unsafe void Step(float learningRate)
    {
        StepCount++;
        float correction1 = 1 - MathF.Pow(Beta1, StepCount), correction2 = 1 - MathF.Pow(Beta2, StepCount);
        var terms = new Terms(Beta1, Beta2, Epsilon, learningRate / correction1, MathF.Sqrt(correction2),
            Decoupled ? 0 : WeightDecay, Decoupled ? 1 - learningRate * WeightDecay : 1);
        fixed (float* w = Parameters, g = Gradients, m = _m, v = _v)
        {
            float* weights = w, gradients = g, first = m, second = v;
            ForEachChunk([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end) =>
                Update(weights + start, gradients + start, first + start, second + start, end - start, terms));
        }
    }

    /// <param name="Decay">Coupled weight decay, added to the gradient.</param>
    /// <param name="Shrink">What decoupled weight decay multiplies the weights by first (1 without).</param>
    readonly record struct Terms(float Beta1, float Beta2, float Epsilon, float StepSize, float RootCorrection2, float Decay, float Shrink);

    /// <summary>One run of the update through pointers, as <see cref="Sgd"/>'s and for the same reason.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Update(float* w, float* g, float* m, float* v, int count, Terms terms)
    {
        var (b1, b2, eps, stepSize, rootCorrection2, decay, shrink) = terms;
        int i = 0;
        for (; i <= count - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var wi = Vector256.Load(w + i);
            var gi = Vector256.Load(g + i) + Vector256.Create(decay) * wi;
            var mi = Vector256.Create(b1) * Vector256.Load(m + i) + Vector256.Create(1 - b1) * gi;
            var vi = Vector256.Create(b2) * Vector256.Load(v + i) + Vector256.Create(1 - b2) * gi * gi;
            mi.Store(m + i);
            vi.Store(v + i);
            var denominator = Vector256.Sqrt(vi) / Vector256.Create(rootCorrection2) + Vector256.Create(eps);
            (wi * Vector256.Create(shrink) - Vector256.Create(stepSize) * mi / denominator).Store(w + i);
        }
        for (; i < count; i++)
        {
            float gi = g[i] + decay * w[i];
            float mi = m[i] = b1 * m[i] + (1 - b1) * gi;
            float vi = v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            w[i] = w[i] * shrink - stepSize * mi / (MathF.Sqrt(vi) / rootCorrection2 + eps);
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
