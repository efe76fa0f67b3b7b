using System.Runtime.CompilerServices;
using HelloDl.Tensors;

namespace HelloDl.Autograd;

/// <summary>
/// Records the ops of one forward pass so that <see cref="Backward"/> can run their backward rules
/// in reverse order. Ops are recorded as they run, which is already a topological order. All
/// intermediate tensors and gradients come from the tape's arena and are taken back by
/// <see cref="Reset"/>, so a training loop that resets the tape each batch allocates no buffers
/// after the first batch. A tape is used by one thread at a time.
/// </summary>
public sealed class Tape
{
    static long _passes;
    readonly TensorArena _arena = new();
    readonly List<Op> _ops = [];
    /// <summary>This tape's current pass, unique among all tapes: a new one at each <see cref="Reset"/>.</summary>
    long _pass = Interlocked.Increment(ref _passes);

    /// <param name="recording">False for inference: no ops are kept, no gradients are made.</param>
    public Tape(bool recording = true) => Recording = recording;

    public bool Recording { get; }

    /// <summary>
    /// When set, each pass (from one <see cref="Reset"/> to the next) starts the parameters'
    /// gradients afresh: the first contribution a parameter gets in a pass replaces what its
    /// gradient held, instead of adding to it. A training step then needs no pass clearing every
    /// gradient beforehand, which wrote the whole gradient buffer only for the first product to
    /// read it back (MLP on Zen 4: 20 of 290 us a step). Parameters no op reaches keep an earlier
    /// pass's gradient: <see cref="Nn.Model.ClearGradientsNotReachedBy"/> clears those. When not
    /// set (the default), gradients add up across passes until cleared, as in PyTorch.
    /// </summary>
    public bool FreshParameterGradients { get; init; }

    /// <summary>Training mode for ops that behave differently (dropout).</summary>
    public bool Training { get; set; } = true;

    /// <summary>Random numbers for dropout; seed it for reproducible runs.</summary>
    public Random Random { get; set; } = new(0);

    /// <summary>When set, every recorded op's forward and backward time is added to it.</summary>
    public OpProfile? Profile { get; set; }

    /// <summary>An uninitialised tensor that lives until the next <see cref="Reset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor NewTensor(params int[] shape) => _arena.NewTensor(shape);

    /// <summary>A tensor sharing <paramref name="source"/>'s values under another shape, until the next <see cref="Reset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor NewView(Tensor source, params int[] shape) => _arena.NewView(source, shape);

    /// <summary>A scratch buffer that lives until the next <see cref="Reset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public float[] Rent(int length) => _arena.Rent(length);

    /// <summary>Keeps an op for the backward pass if any input needs a gradient; marks its output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void Record(Op op, Tensor output, params Tensor[] inputs)
    {
        if (Profile is not null) op.ProfileRow = Profile.Recorded(op);
        if (!Recording) return;
        bool needed = false;
        foreach (var input in inputs) needed |= input.RequiresGrad;
        if (!needed) return;
        output.RequiresGrad = true;
        op.Output = output;
        _ops.Add(op);
    }

    /// <summary>The gradient buffer of <paramref name="tensor"/>, zeroed on first use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal Span<float> GradOf(Tensor tensor)
    {
        if (StartsParameterGradient(tensor)) tensor.Grad.Clear();
        return tensor.EnsureGrad(_arena.Rent);
    }

    /// <summary>
    /// The gradient buffer of <paramref name="tensor"/> for an op that can write all of it:
    /// when <paramref name="fresh"/> it is new (or a parameter's, first reached in this pass of a
    /// tape with <see cref="FreshParameterGradients"/>) and uncleared, and the op writes it
    /// instead of adding, saving a pass over a large buffer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal Span<float> GradToOverwrite(Tensor tensor, out bool fresh)
    {
        if (StartsParameterGradient(tensor))
        {
            fresh = true;
            return tensor.Grad;
        }
        return tensor.EnsureGrad(_arena.Rent, clear: false, out fresh);
    }

    /// <summary>True once a pass for each parameter, with <see cref="FreshParameterGradients"/>: its first contribution.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    bool StartsParameterGradient(Tensor tensor)
    {
        if (!FreshParameterGradients || !tensor.OwnsGradient || tensor.GradientPass == _pass) return false;
        tensor.GradientPass = _pass;
        return true;
    }

    /// <summary>Whether this pass has given the parameter a gradient (only known with <see cref="FreshParameterGradients"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal bool Reached(Tensor parameter) => FreshParameterGradients
        ? parameter.GradientPass == _pass
        : throw new InvalidOperationException("Only a tape with FreshParameterGradients keeps track of the parameters it reached.");

    /// <summary>Backpropagates from a scalar: d loss / d loss = 1, then every op's rule in reverse.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Backward(Tensor loss)
    {
        if (!Recording) throw new InvalidOperationException("This tape does not record; create it with recording: true to train.");
        if (loss.Length != 1) throw new ArgumentException($"Backward starts from a scalar loss, not {loss}.", nameof(loss));
        BackwardFrom(loss, [1f]);
    }

    /// <summary>Backpropagates a given output gradient (d something / d output) through the recorded ops.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void BackwardFrom(Tensor output, ReadOnlySpan<float> outputGradient)
    {
        if (!output.RequiresGrad) throw new InvalidOperationException("The output does not depend on any parameter.");
        if (outputGradient.Length != output.Length)
            throw new ArgumentException($"The output gradient has {outputGradient.Length} values; the output {output} has {output.Length}.", nameof(outputGradient));
        var seed = GradOf(output);
        // A plain loop, once a step: TensorPrimitives' generic code ran unoptimised through a first epoch (see Rows).
        for (int i = 0; i < seed.Length; i++) seed[i] += outputGradient[i];
        for (int i = _ops.Count - 1; i >= 0; i--)
        {
            if (!_ops[i].Output!.HasGrad) continue;
            long started = Profile is null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
            _ops[i].Backward(this);
            Profile?.BackwardDone(_ops[i], started);
        }
    }

    /// <summary>Forgets the recorded ops and takes back every buffer handed out since the last reset.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Reset()
    {
        _ops.Clear();
        _arena.Reset();
        _pass = Interlocked.Increment(ref _passes);
        Profile?.Start();
    }
}

/// <summary>
/// One recorded operation. Each op's forward (a static Apply method) and its backward rule live
/// together in one class. Backward reads the output's gradient and adds (+=) into the inputs'
/// gradients, so a tensor used twice collects both contributions.
/// </summary>
public abstract class Op
{
    internal Tensor? Output { get; set; }
    /// <summary>This op's row in the tape's <see cref="OpProfile"/>, when profiling.</summary>
    internal int ProfileRow { get; set; }
    internal abstract void Backward(Tape tape);
    /// <summary>The op's row in an <see cref="OpProfile"/>: its type's name, or more where one op has two ways to run.</summary>
    internal virtual string ProfileName => GetType().Name;
}
