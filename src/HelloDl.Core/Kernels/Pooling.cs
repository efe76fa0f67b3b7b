using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HelloDl.Kernels;

/// <summary>Windows of a max pooling: kernel x kernel every stride, giving OutputHeight x OutputWidth per plane.</summary>
public readonly record struct PoolGeometry(int Kernel, int Stride, int OutputHeight, int OutputWidth)
{
    public int Positions => OutputHeight * OutputWidth;
}

/// <summary>Max pooling over planes of [N·C, H, W], windows clipped at the edge (ceil mode's last window).</summary>
public static unsafe class Pooling
{
    /// <summary>
    /// Windows a 2x2 pooling takes at a time: 16 with AVX-512, 8 with AVX2 (masked at a row's end
    /// either way), or 1; at 16 its gradient is written sixteen at a time too
    /// (<see cref="WinnersPlane2x2"/>). The widest this CPU runs by default; settable to any it
    /// runs, so that tests check every path.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not 16, 8 or 1.</exception>
    /// <exception cref="PlatformNotSupportedException">16 on a CPU without AVX-512, or 8 without AVX2.</exception>
    public static int WindowsPerStep
    {
        get => _windowsPerStep;
        set => _windowsPerStep = value switch
        {
            16 => Avx512F.IsSupported ? value : throw new PlatformNotSupportedException("This CPU has no AVX-512."),
            8 => Avx2.IsSupported ? value : throw new PlatformNotSupportedException("This CPU has no AVX2."),
            1 => value,
            _ => throw new ArgumentOutOfRangeException(nameof(value), value, "16, 8 or 1 windows at a time."),
        };
    }
    static int _windowsPerStep = Avx512F.IsSupported ? 16 : Avx2.IsSupported ? 8 : 1;

    /// <summary>Every value of <see cref="WindowsPerStep"/> this CPU runs, widest first.</summary>
    public static IReadOnlyList<int> WindowsPerStepChoices { get; } =
        [.. new[] { 16, 8, 1 }.Where(step => step switch { 16 => Avx512F.IsSupported, 8 => Avx2.IsSupported, _ => true })];

    /// <summary>y = window maxima; argmax (when given: training needs it, inference does not) = index of each winner within its input plane.</summary>
    public static void MaxForward(ReadOnlySpan<float> x, Span<float> y, float[]? argmax, int planes, int height, int width, PoolGeometry window)
    {
        fixed (float* px = x, py = y, pa = argmax)
        {
            float* input = px, output = py, winners = pa;
            Parallelism.For(planes, (long)planes * height * width, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (plane) =>
            {
                long outBase = (long)plane * window.Positions;
                MaxForwardPlane(input + (long)plane * height * width, height, width, output + outBase, winners == null ? null : winners + outBase, window);
            });
        }
    }

    /// <summary>
    /// Pools one plane [height, width] into output [OH, OW], <paramref name="offset"/> added to each
    /// maximum (a convolution's bias: max(conv + b) = max(conv) + b; added here rather than by a call
    /// per plane, the CNN's one-thread inference on Zen 3 ran 2-12% faster in three pairs); winners
    /// (optional) get each maximum's index in the plane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MaxForwardPlane(float* source, int height, int width, float* output, float* winners, PoolGeometry window, float offset = 0)
    {
        int kernel = window.Kernel, stride = window.Stride, outHeight = window.OutputHeight, outWidth = window.OutputWidth;
        if (kernel == 2 && stride == 2)
        {
            MaxForward2x2(source, output, winners, height, width, outHeight, outWidth, offset);
            return;
        }
        for (int oy = 0; oy < outHeight; oy++)
        {
            int y0 = oy * stride, y1 = Math.Min(y0 + kernel, height);
            for (int ox = 0; ox < outWidth; ox++)
            {
                int x0 = ox * stride, x1 = Math.Min(x0 + kernel, width);
                int best = y0 * width + x0;
                float max = source[best];
                for (int iy = y0; iy < y1; iy++)
                {
                    float* row = source + iy * width;
                    for (int ix = x0; ix < x1; ix++)
                        if (row[ix] > max) { max = row[ix]; best = iy * width + ix; }
                }
                output[oy * outWidth + ox] = max + offset;
                if (winners != null) winners[oy * outWidth + ox] = best;
            }
        }
    }

    /// <summary>
    /// The common 2x2, stride 2 case without the general window loops; a window cut by the edge
    /// (ceil mode) repeats its last row or column, which cannot change the maximum or its first position.
    /// Sixteen windows at a time with AVX-512 (see <see cref="MaxWindows16"/>) or eight with AVX2
    /// (<see cref="MaxWindows8"/>), with no scalar rest (the scalar 2x2 pooling was a seventh of a
    /// CNN's inference, and finding the winners an eighth of its training). Branch-free: which of
    /// four activations wins is a coin toss the branch predictor would lose half the time, so maxima
    /// come from maxss and winners from compare results used as 0/1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MaxForward2x2(float* source, float* output, float* winners, int height, int width, int outHeight, int outWidth, float offset)
    {
        for (int oy = 0; oy < outHeight; oy++)
        {
            int y0 = 2 * oy, y1 = Math.Min(y0 + 1, height - 1);
            float* row0 = source + y0 * width, row1 = source + y1 * width, line = output + oy * outWidth;
            float* winnerLine = winners == null ? null : winners + oy * outWidth;
            if (_windowsPerStep == 16)
            {
                MaxWindows16(row0, row1, y0 * width, (y1 - y0) * width, line, winnerLine, width, outWidth, offset);
                continue;
            }
            if (_windowsPerStep == 8)
            {
                MaxWindows8(row0, row1, y0 * width, (y1 - y0) * width, line, winnerLine, width, outWidth, offset);
                continue;
            }
            for (int ox = 0; ox < outWidth; ox++)
            {
                int x0 = 2 * ox, x1 = Math.Min(x0 + 1, width - 1);
                float a = row0[x0], b = row0[x1], c = row1[x0], d = row1[x1];
                int bWins = Bit(b > a), dWins = Bit(d > c);
                float top = Max(a, b), bottom = Max(c, d);
                int bottomWins = Bit(bottom > top);
                int column = x0 + (bWins + bottomWins * (dWins - bWins)) * (x1 - x0);
                line[ox] = Max(top, bottom) + offset;
                if (winnerLine != null) winnerLine[ox] = (y0 + bottomWins * (y1 - y0)) * width + column;
            }
        }
    }

    // Sixteen columns of a row as its even and odd columns, per 128-bit lane: windows 0 1 4 5 | 2 3 6 7.
    const byte EvenColumns = 0b10_00_10_00, OddColumns = 0b11_01_11_01, WindowOrder = 0b11_01_10_00;

    /// <summary>
    /// A row pair's windows eight at a time with AVX2, as <see cref="MaxWindows16"/> takes sixteen:
    /// sixteen columns of each row loaded under a mask (vmaskmovps, nothing read past the row), so no
    /// window is left to the scalar loop: hello-dl's CNN has 13, 6 and 2 windows a row, and on Zen 3
    /// its second layer's 11x11 planes pool 1.4-1.6x as fast with winners as with a scalar rest. A
    /// short last step is stored element by element (masked stores are slow on AMD); winners are
    /// chosen as the scalar loop chooses them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void MaxWindows8(float* row0, float* row1, int rowStart, int rowStep, float* line, float* winnerLine, int width, int outWidth, float offset)
    {
        var lane = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        // Column offsets of the windows' even and odd columns, in the shuffled order.
        var evenOffsets = Vector256.Create(0f, 2, 8, 10, 4, 6, 12, 14);
        var oddColumns = Vector256.Create(1, 3, 9, 11, 5, 7, 13, 15);
        var one = Vector256.Create(1f);
        var down = Vector256.Create((float)rowStep);
        for (int ox = 0; ox < outWidth; ox += 8)
        {
            int columns = width - 2 * ox;
            var leftHalf = Vector256.LessThan(lane, Vector256.Create(columns)).AsSingle();
            var rightHalf = Vector256.LessThan(lane, Vector256.Create(columns - 8)).AsSingle();
            float* top = row0 + 2 * ox, bottom = row1 + 2 * ox;
            var topLeft = Avx.MaskLoad(top, leftHalf); var topRight = Avx.MaskLoad(top + 8, rightHalf);
            var bottomLeft = Avx.MaskLoad(bottom, leftHalf); var bottomRight = Avx.MaskLoad(bottom + 8, rightHalf);
            var a = Avx.Shuffle(topLeft, topRight, EvenColumns);
            var c = Avx.Shuffle(bottomLeft, bottomRight, EvenColumns);
            // A window cut by the edge has no odd column: it repeats the even one, which then stays the winner.
            var hasOdd = Vector256.LessThan(oddColumns, Vector256.Create(columns)).AsSingle();
            var b = Avx.BlendVariable(a, Avx.Shuffle(topLeft, topRight, OddColumns), hasOdd);
            var d = Avx.BlendVariable(c, Avx.Shuffle(bottomLeft, bottomRight, OddColumns), hasOdd);
            var upper = Avx.Max(a, b);
            var lower = Avx.Max(c, d);
            int windows = Math.Min(8, outWidth - ox);
            Store(line + ox, Avx2.Permute4x64(Avx.Max(upper, lower).AsDouble(), WindowOrder).AsSingle() + Vector256.Create(offset), windows);
            if (winnerLine == null) continue;
            var lowerWins = Avx.CompareGreaterThan(lower, upper);
            var column = Avx.And(Avx.BlendVariable(Avx.CompareGreaterThan(b, a), Avx.CompareGreaterThan(d, c), lowerWins), one);
            var winner = Vector256.Create((float)(rowStart + 2 * ox)) + evenOffsets + column + Avx.And(lowerWins, down);
            Store(winnerLine + ox, Avx2.Permute4x64(winner.AsDouble(), WindowOrder).AsSingle(), windows);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(float* target, Vector256<float> values, int count)
    {
        if (count == 8) Avx.Store(target, values);
        else for (int k = 0; k < count; k++) target[k] = values.GetElement(k);
    }

    /// <summary>
    /// A row pair's windows sixteen at a time with AVX-512: 32 columns of each row loaded under a
    /// mask (nothing read past the row), split into even and odd columns, and the maxima and
    /// winners stored under a mask, so no window is left to a scalar loop (hello-dl's CNN has 13, 6
    /// and 2 windows a row, which left 5, 6 and 2 of them to it). A window cut by the right edge
    /// takes its one column twice, and winners are chosen as the scalar loop chooses them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void MaxWindows16(float* row0, float* row1, int rowStart, int rowStep, float* line, float* winnerLine, int width, int outWidth, float offset)
    {
        var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var evenColumns = lane * 2;
        var oddColumns = evenColumns + Vector512<int>.One;
        var firstColumns = Vector512.ConvertToSingle(evenColumns);
        var down = Vector512.Create((float)rowStep);
        for (int ox = 0; ox < outWidth; ox += 16)
        {
            int columns = width - 2 * ox;
            var leftHalf = Vector512.LessThan(lane, Vector512.Create(columns)).AsSingle();
            var rightHalf = Vector512.LessThan(lane, Vector512.Create(columns - 16)).AsSingle();
            float* top = row0 + 2 * ox, bottom = row1 + 2 * ox;
            var topLeft = Avx512F.MaskLoad(top, leftHalf, Vector512<float>.Zero);
            var topRight = Avx512F.MaskLoad(top + 16, rightHalf, Vector512<float>.Zero);
            var bottomLeft = Avx512F.MaskLoad(bottom, leftHalf, Vector512<float>.Zero);
            var bottomRight = Avx512F.MaskLoad(bottom + 16, rightHalf, Vector512<float>.Zero);
            var a = Avx512F.PermuteVar16x32x2(topLeft, evenColumns, topRight);
            var c = Avx512F.PermuteVar16x32x2(bottomLeft, evenColumns, bottomRight);
            // A window cut by the edge has no odd column: it repeats the even one, which then stays the winner.
            var hasOdd = Vector512.LessThan(oddColumns, Vector512.Create(columns)).AsSingle();
            var b = Vector512.ConditionalSelect(hasOdd, Avx512F.PermuteVar16x32x2(topLeft, oddColumns, topRight), a);
            var d = Vector512.ConditionalSelect(hasOdd, Avx512F.PermuteVar16x32x2(bottomLeft, oddColumns, bottomRight), c);
            var upper = Avx512F.Max(a, b);
            var lower = Avx512F.Max(c, d);
            var windows = Vector512.LessThan(lane, Vector512.Create(outWidth - ox)).AsSingle();
            Avx512F.MaskStore(line + ox, windows, Avx512F.Max(upper, lower) + Vector512.Create(offset));
            if (winnerLine == null) continue;
            var bWins = Vector512.GreaterThan(b, a);
            var dWins = Vector512.GreaterThan(d, c);
            var lowerWins = Vector512.GreaterThan(lower, upper);
            var column = Vector512.ConditionalSelect(lowerWins, dWins, bWins) & Vector512<float>.One;
            var winner = Vector512.Create((float)(rowStart + 2 * ox)) + firstColumns + column + (lowerWins & down);
            Avx512F.MaskStore(winnerLine + ox, windows, winner);
        }
    }

    /// <summary>
    /// The gradient of a 2x2, stride 2 pooling's input plane [height, width], written whole: each
    /// window's gradient (times <paramref name="slopes"/>, a GELU's derivatives after the pooling,
    /// when not null) at its winner, 0 elsewhere, including rows and columns no window covers.
    /// Sixteen windows at a time with AVX-512 (see <see cref="WindowsPerStep"/>): each window's
    /// gradient goes to the one of its four places its winner names, the even and odd columns are
    /// interleaved, and the two rows stored under a mask. Adding window by window into a cleared
    /// plane was a third of the first layer's backward time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void WinnersPlane2x2(float* dPooled, float* winners, float* slopes, float* plane, int height, int width, PoolGeometry window)
    {
        var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var firstColumns = Vector512.ConvertToSingle(lane * 2);
        var lowerHalf = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        var upperHalf = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        int outHeight = window.OutputHeight, outWidth = window.OutputWidth;
        for (int oy = 0; oy < outHeight; oy++)
        {
            int y0 = 2 * oy, y1 = Math.Min(y0 + 1, height - 1);
            float* row0 = plane + y0 * width, row1 = plane + y1 * width;
            // On to the row's last column, which floor mode leaves to no window when the width is odd.
            for (int ox = 0; 2 * ox < width; ox += 16)
            {
                int at = oy * outWidth + ox;
                var windows = Vector512.LessThan(lane, Vector512.Create(outWidth - ox)).AsSingle();
                var gradient = Avx512F.MaskLoad(dPooled + at, windows, Vector512<float>.Zero);
                if (slopes != null) gradient *= Avx512F.MaskLoad(slopes + at, windows, Vector512<float>.Zero);
                var winner = Avx512F.MaskLoad(winners + at, windows, Vector512.Create(-1f));
                var topLeft = Vector512.Create((float)(y0 * width + 2 * ox)) + firstColumns;
                var below = Vector512.Create((float)((y1 - y0) * width));
                // A window cut by the right edge has no odd column; its "top right" index is another
                // window's, which its winner never is.
                var even0 = Vector512.ConditionalSelect(Vector512.Equals(winner, topLeft), gradient, Vector512<float>.Zero);
                var odd0 = Vector512.ConditionalSelect(Vector512.Equals(winner, topLeft + Vector512<float>.One), gradient, Vector512<float>.Zero);
                var columns = Vector512.Create(width - 2 * ox);
                var leftColumns = Vector512.LessThan(lane, columns).AsSingle();
                var rightColumns = Vector512.LessThan(lane + Vector512.Create(16), columns).AsSingle();
                Avx512F.MaskStore(row0 + 2 * ox, leftColumns, Avx512F.PermuteVar16x32x2(even0, lowerHalf, odd0));
                Avx512F.MaskStore(row0 + 2 * ox + 16, rightColumns, Avx512F.PermuteVar16x32x2(even0, upperHalf, odd0));
                if (y1 == y0) continue;   // a window cut by the bottom edge: its one row is done
                var even1 = Vector512.ConditionalSelect(Vector512.Equals(winner, topLeft + below), gradient, Vector512<float>.Zero);
                var odd1 = Vector512.ConditionalSelect(Vector512.Equals(winner, topLeft + below + Vector512<float>.One), gradient, Vector512<float>.Zero);
                Avx512F.MaskStore(row1 + 2 * ox, leftColumns, Avx512F.PermuteVar16x32x2(even1, lowerHalf, odd1));
                Avx512F.MaskStore(row1 + 2 * ox + 16, rightColumns, Avx512F.PermuteVar16x32x2(even1, upperHalf, odd1));
            }
        }
        // Rows no window covers (floor mode, odd height).
        if (2 * outHeight < height) new Span<float>(plane + 2 * outHeight * width, (height - 2 * outHeight) * width).Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int Bit(bool condition) => Unsafe.As<bool, byte>(ref condition);

    /// <summary>The larger of two floats with one maxss where available (no NaN special-casing: activations are finite).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Max(float a, float b) => Sse.IsSupported
        ? Sse.MaxScalar(Vector128.CreateScalarUnsafe(b), Vector128.CreateScalarUnsafe(a)).ToScalar()
        : MathF.Max(a, b);

    /// <summary>dx[winner] += dy for every output position; with <paramref name="clearFirst"/>, dx = that (each plane cleared by the thread that fills it).</summary>
    public static void MaxBackward(ReadOnlySpan<float> dy, float[] argmax, Span<float> dx, int outPlane, int inPlane, bool clearFirst = false)
    {
        fixed (float* pdy = dy, pa = argmax, pdx = dx)
        {
            float* g = pdy, winners = pa, target = pdx;
            int planes = dy.Length / outPlane;
            // Planes are disjoint, so threads never add into the same input.
            Parallelism.For(planes, (long)dy.Length * 4, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (plane) =>
            {
                long o = (long)plane * outPlane;
                float* dxPlane = target + (long)plane * inPlane;
                if (clearFirst) new Span<float>(dxPlane, inPlane).Clear();
                for (int i = 0; i < outPlane; i++) dxPlane[(int)winners[o + i]] += g[o + i];
            });
        }
    }
}
