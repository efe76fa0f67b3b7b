using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace HelloDl.Kernels;

/// <summary>
/// Asks the CPU for memory a loop will touch soon, for access patterns its own prefetchers do not
/// follow: the images of a shuffled batch as it is filled, a few floats in each of many planes
/// (<see cref="Winograd"/>'s channels-last copy and pooled planes).
/// </summary>
public static unsafe class CacheHints
{
    /// <summary>Asks for the cache lines of <paramref name="bytes"/> bytes from <paramref name="start"/> without waiting for them (where the CPU has a prefetch instruction).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Prefetch(void* start, long bytes)
    {
        if (!Sse.IsSupported || bytes <= 0) return;
        byte* first = (byte*)start;
        for (long offset = 0; offset < bytes; offset += 64) Sse.Prefetch0(first + offset);
        Sse.Prefetch0(first + bytes - 1);   // the last line, where the bytes do not start on one
    }
}
