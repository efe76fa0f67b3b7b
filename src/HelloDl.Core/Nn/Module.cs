using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HelloDl.Autograd;
using HelloDl.Tensors;

namespace HelloDl.Nn;

/// <summary>
/// A learnable tensor declared by a layer. Its values live in the owning model's flat parameter
/// buffer once a <see cref="Model"/> binds it.
/// </summary>
public sealed class Parameter
{
    internal Parameter(int[] shape, float initBound) { Shape = shape; InitBound = initBound; }

    public int[] Shape { get; }
    /// <summary>Initial values are drawn uniformly from ±InitBound (hello-dl: 1/√fan_in).</summary>
    public float InitBound { get; }
    public int Length => Tensor.Size(Shape);
    public Tensor Value => _value ?? Unbound();
    // A throw of its own kept the getter from being inlined into a training step's callers.
    static Tensor Unbound() => throw new InvalidOperationException("The parameter is not bound to a model yet.");
    Tensor? _value;

    /// <summary>Binds the parameter to its view of the model's buffers (done once, by the model).</summary>
    internal void Bind(Tensor view) => _value = view;
}

/// <summary>
/// A layer or a network of layers. Parameters and sub-modules are named, so every parameter has
/// a hierarchical name such as 'fc1.weight', which model files use.
/// </summary>
public abstract class Module
{
    readonly List<(string Name, Parameter Parameter)> _parameters = [];
    readonly List<(string Name, Module Module)> _children = [];

    /// <summary>The output for a batch; records on the tape when it records.</summary>
    public abstract Tensor Forward(Tape tape, Tensor input);

    /// <summary>The output shape for one input of the given shape (no batch dimension).</summary>
    public abstract int[] OutputShape(int[] inputShape);

    /// <summary>A short description for summaries, e.g. 'Conv2d(1→32, 3x3)'.</summary>
    public virtual string Describe => GetType().Name;

    protected Parameter AddParameter(string name, int[] shape, float initBound)
    {
        var parameter = new Parameter(shape, initBound);
        _parameters.Add((name, parameter));
        return parameter;
    }

    protected T AddModule<T>(string name, T module) where T : Module
    {
        _children.Add((name, module));
        return module;
    }

    public IReadOnlyList<(string Name, Module Module)> Children => _children;

    /// <summary>The children for a forward pass, which walks them every step: an interface's indexer is a call the runtime recompiles during a first epoch.</summary>
    private protected ReadOnlySpan<(string Name, Module Module)> ChildSpan
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => CollectionsMarshal.AsSpan(_children);
    }

    /// <summary>All parameters of this module and its children, depth first, with dotted names.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters(string prefix = "")
    {
        foreach (var (name, parameter) in _parameters) yield return (prefix + name, parameter);
        foreach (var (name, child) in _children)
            foreach (var inner in child.NamedParameters(prefix + name + "."))
                yield return inner;
    }

    public int ParameterCount => NamedParameters().Sum(p => p.Parameter.Length);
}
