using System.Reflection;
using System.Runtime.CompilerServices;

namespace HelloDl.Kernels;

/// <summary>
/// Compiles the kernels ahead of their first call, on a background thread. The kernels are marked
/// to be compiled fully optimised at once (they cannot be precompiled: their code depends on the
/// CPU's vector width), which took some 40 ms inside a run's first batch, a fifth of a one-epoch
/// MLP run. <see cref="Training.TrainingWarmup"/> runs this after its rehearsal (which compiles the
/// kernels a first training step needs, in the order it needs them), for the kernels left. Each
/// method waits while a user's run calls kernels (<see cref="Parallelism.WaitUntilQuiet"/>).
/// </summary>
public static class KernelWarmup
{
    static readonly Lazy<Task<int>> Started = new(() => Task.Factory.StartNew(CompileKernels, CancellationToken.None,
        TaskCreationOptions.LongRunning, TaskScheduler.Default));

    /// <summary>Starts compiling once per process; the task's result is the number of methods compiled.</summary>
    public static Task<int> Start() => Started.Value;

    /// <summary>
    /// The kernels' classes, named rather than found: listing every type of the assembly would load
    /// ImageSharp (image reading's types need it), which waits until an image is read.
    /// </summary>
    static readonly Type[] Kernels = [typeof(Gemm), typeof(Convolution), typeof(Winograd), typeof(Im2Col), typeof(Pooling), typeof(Activations), typeof(Parallelism), typeof(Int8Gemm), typeof(CacheHints)];

    static int CompileKernels()
    {
        const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        int compiled = 0;
        // Each kernel class with its nested types: the closures of its parallel loops and its jobs.
        foreach (var type in Kernels.SelectMany(k => k.GetNestedTypes(Declared).Prepend(k)))
        {
            if (type.ContainsGenericParameters) continue;
            foreach (var method in type.GetMethods(Declared))
            {
                if (method.ContainsGenericParameters || method.IsAbstract
                    || !method.MethodImplementationFlags.HasFlag(MethodImplAttributes.AggressiveOptimization)) continue;
                Parallelism.WaitUntilQuiet(Parallelism.Quiet);
                RuntimeHelpers.PrepareMethod(method.MethodHandle);
                compiled++;
            }
        }
        return compiled;
    }
}
