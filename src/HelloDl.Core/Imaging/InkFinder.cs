using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HelloDl.Imaging;

/// <summary>A connected piece of ink: its pixels' bounding box, area and label in the component map.</summary>
public sealed record InkComponent(int Label, int Left, int Top, int Right, int Bottom, int Area)
{
    public int Width => Right - Left + 1;
    public int Height => Bottom - Top + 1;
}

/// <summary>
/// The ink of a photo or scan: how strongly each pixel is inked (0 = paper, 1 = full ink), and the
/// connected pieces of ink that look like writing (specks and long thin ruled lines removed).
/// </summary>
public sealed class InkMap
{
    internal InkMap(int width, int height, float[] ink, int[] labels, IReadOnlyList<InkComponent> components, float scale, bool pooled = false)
    {
        Width = width; Height = height; Ink = ink; Labels = labels; Components = components; Scale = scale; _pooled = pooled;
    }

    bool _pooled;

    /// <summary>
    /// Gives arrays rented from the shared pools back (a map found with pooling, whose arrays may
    /// be longer than the image); the map must not be read afterwards. Does nothing otherwise.
    /// </summary>
    internal void Release()
    {
        if (!_pooled) return;
        _pooled = false;
        ArrayPool<float>.Shared.Return(Ink);
        ArrayPool<int>.Shared.Return(Labels);
    }

    public int Width { get; }
    public int Height { get; }
    /// <summary>Ink strength per pixel, 0..1.</summary>
    public float[] Ink { get; }
    /// <summary>Per pixel, the <see cref="InkComponent.Label"/> of the kept component its ink belongs to; 0 for paper.</summary>
    internal int[] Labels { get; }
    /// <summary>The pieces of ink kept as writing.</summary>
    public IReadOnlyList<InkComponent> Components { get; }
    /// <summary>Original image pixels per map pixel (large images are analysed shrunk).</summary>
    public float Scale { get; }
    public bool IsBlank => Components.Count == 0;
}

/// <summary>
/// Finds handwriting in real images, as img-ocr's histogram white balance did and then some:
/// the paper's brightness is estimated block by block (so gradients, shadows and tinted paper
/// drop out), light-on-dark boards are inverted, ink is thresholded against the paper's own
/// noise, and connected components separate writing from specks and ruled lines.
/// The per-pixel passes here, in PngPixels and in ImageReader are compiled fully optimised at
/// first use, as the kernels are: with tiered, profile-guided compilation a fresh PowerShell read
/// its first few hundred scans at half the speed of the later ones.
/// </summary>
public static class InkFinder
{
    /// <summary>Images are analysed at most this large (longer side), which keeps any scan fast.</summary>
    const int MaxSide = 800;
    /// <summary>
    /// Smaller images (8x8 data sets, thumbnails) are analysed enlarged to at least this (longer
    /// side), so that thresholds and connectivity see strokes several pixels wide, not single
    /// blocks. (A narrow crop of a 1 is not small: its height is what counts.)
    /// </summary>
    const int MinSide = 24;
    /// <summary>Images up to this size (longer side) are taken to hold one character, such as the crops of a data set.</summary>
    const int CharacterSide = 128;
    /// <summary>Spread of the palest quarter of ink values below which paper counts as quiet (no texture).</summary>
    const float QuietPaper = 0.03f;

    public static InkMap Find(LuminanceImage image) => Find(image, pooled: false);

    /// <summary>
    /// The ink map, with its two image-sized arrays rented from the shared pools when
    /// <paramref name="pooled"/> (the caller then calls <see cref="InkMap.Release"/>): reading a
    /// folder of scans otherwise allocated a megabyte a page on the large object heap, and the
    /// collections that churn set off kept two threads from reading twice as fast as one.
    /// </summary>
    internal static InkMap Find(LuminanceImage image, bool pooled)
    {
        var (width, height, lum, scale) = Resize(image);
        if (BorderMedian(lum, width, height) < 0.45f)
        {
            // Light ink on a dark board: inverted into a new array, since lum may be the caller's own pixels.
            var inverted = new float[width * height];
            for (int i = 0; i < inverted.Length; i++) inverted[i] = 1 - lum[i];
            lum = inverted;
        }
        // In an image the size of one character, a long thin stroke is a 1 or an l, not a ruled line.
        bool oneCharacter = Math.Max(image.Width, image.Height) <= CharacterSide;
        var (map, paperNoise, inkSetTheBar) = Analyse(width, height, lum, scale, dropLines: !oneCharacter, pooled);
        bool reachesFrame = map.Components.Any(c => c.Left == 0 || c.Top == 0 || c.Right == width - 1 || c.Bottom == height - 1);
        // So much ink that it set the bar for itself, where the paper between the strokes is quiet
        // or the image is the size of one character. (A photo of a wall's texture, noisy all over
        // and larger, stays blank.)
        bool inkEverywhere = inkSetTheBar && (paperNoise < QuietPaper || oneCharacter);
        if (!reachesFrame && !inkEverywhere) return map;
        // A character cut tightly or drawn thick: laid in a margin of its own paper it is sparse ink again.
        var framed = InMargin(width, height, lum, scale, dropLines: !oneCharacter, pooled);
        if (framed.IsBlank) return map;
        map.Release();
        return framed;
    }

    /// <summary>The ink of the image analysed inside a paper margin half its longer side wide, reported in the image's own frame.</summary>
    static InkMap InMargin(int width, int height, float[] lum, float scale, bool dropLines, bool pooled)
    {
        int margin = Math.Max(width, height) / 2, outerWidth = width + 2 * margin, outerHeight = height + 2 * margin;
        float paper = Quantile01(lum.AsSpan(0, width * height), 0.9f);
        var outer = new float[outerWidth * outerHeight];
        Array.Fill(outer, paper);
        for (int y = 0; y < height; y++) lum.AsSpan(y * width, width).CopyTo(outer.AsSpan((y + margin) * outerWidth + margin));
        var (found, _, _) = Analyse(outerWidth, outerHeight, outer, scale, dropLines, pooled);
        var ink = new float[width * height];
        var labels = new int[width * height];
        var boxes = new Dictionary<int, InkComponent>();
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int from = (y + margin) * outerWidth + x + margin, to = y * width + x, label = found.Labels[from];
                ink[to] = found.Ink[from];
                labels[to] = label;
                if (label == 0) continue;
                var box = boxes.TryGetValue(label, out var b) ? b : new InkComponent(label, x, y, x, y, 0);
                boxes[label] = new InkComponent(label, Math.Min(box.Left, x), Math.Min(box.Top, y), Math.Max(box.Right, x), Math.Max(box.Bottom, y), box.Area + 1);
            }
        // In the order the analysis found them, as an unframed map lists them.
        var components = found.Components.Where(c => boxes.ContainsKey(c.Label)).Select(c => boxes[c.Label]).ToList();
        found.Release();
        return new InkMap(width, height, ink, labels, components, scale);
    }

    /// <summary>
    /// The ink map of brightness already the right way up (dark ink); how noisy its palest pixels
    /// are; and whether the ink's threshold came out over half the strongest ink, as it does when
    /// ink, not paper, is the common tone.
    /// </summary>
    static (InkMap Map, float PaperNoise, bool InkSetTheBar) Analyse(int width, int height, float[] lum, float scale, bool dropLines, bool pooled)
    {
        int pixels = width * height;
        // Every pixel's ink is written before it is read.
        var ink = pooled ? ArrayPool<float>.Shared.Rent(pixels) : GC.AllocateUninitializedArray<float>(pixels);
        // The paper's own texture sets the bar: median ink plus many of its deviations.
        Span<int> counts = stackalloc int[QuantileBins];
        counts.Clear();
        float strongest = InkOnPaper(lum, width, height, ink, counts);
        float median = Quantile(counts, pixels, 0.5f);
        float paperNoise = Quantile(counts, pixels, 0.25f) - Quantile(counts, pixels, 0.05f);
        counts.Clear();
        CountBins(ink.AsSpan(0, pixels), counts, distanceFrom: median);
        float spread = Quantile(counts, pixels, 0.5f);
        // Relative to the strongest ink too, but loosely: one pale character next to bold ones must survive.
        float threshold = Math.Max(Math.Max(0.18f, median + 8 * spread), 0.2f * strongest);
        if (strongest < 0.2f) return (new InkMap(width, height, ink, NoLabels(pixels, pooled), [], scale, pooled), paperNoise, threshold > 0.5f * strongest);

        var labels = NoLabels(pixels, pooled);
        var all = Components(ink, labels, width, height, threshold);
        var kept = KeepWriting(all, width, height, dropLines);
        var isKept = new bool[all.Count + 1];
        foreach (var component in kept) isKept[component.Label] = true;
        for (int i = NextLabelled(labels, pixels, 0); i >= 0; i = NextLabelled(labels, pixels, i + 1)) if (!isKept[labels[i]]) labels[i] = 0;
        // Hysteresis: the faint edges of a stroke belong to it when they touch it, not otherwise.
        GrowInto(labels, ink, width, height, Math.Max(0.02f, median + 3 * spread), kept, all.Count);
        // The clean ink is written over the raw ink: one image-sized array fewer.
        CleanInk(ink.AsSpan(0, pixels), labels, median, Math.Max(0.05f, strongest - median));
        return (new InkMap(width, height, ink, labels, kept, scale, pooled), paperNoise, threshold > 0.5f * strongest);
    }

    /// <summary>An image's labels, all 0 (paper): rented and cleared when pooled.</summary>
    static int[] NoLabels(int pixels, bool pooled)
    {
        if (!pooled) return new int[pixels];
        var labels = ArrayPool<int>.Shared.Rent(pixels);
        Array.Clear(labels, 0, pixels);
        return labels;
    }

    const int QuantileBins = 4096;

    static int Bin(float value) => Math.Clamp((int)(value * (QuantileBins - 1)), 0, QuantileBins - 1);

    static Vector256<int> Bins(Vector256<float> values) => Vector256.Min(
        Vector256.Max(Vector256.ConvertToInt32(values * Vector256.Create((float)(QuantileBins - 1))), Vector256<int>.Zero), Vector256.Create(QuantileBins - 1));

    /// <summary>Counts the bins of <paramref name="values"/>, or of their distances from <paramref name="distanceFrom"/>, into <paramref name="counts"/>.</summary>
    static void CountBins(ReadOnlySpan<float> values, Span<int> counts, float? distanceFrom = null) =>
        CountBins(values, 1, values.Length, values.Length, counts, distanceFrom);

    /// <summary>
    /// Counts the bins of a block of <paramref name="rows"/> rows of <paramref name="rowLength"/>
    /// values, <paramref name="stride"/> apart, (or of their distances from
    /// <paramref name="distanceFrom"/>) into <paramref name="counts"/>: bins are found eight at a
    /// time, the counting itself stays scalar. Returns the lowest and highest bin counted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static (int Lowest, int Highest) CountBins(ReadOnlySpan<float> values, int rows, int rowLength, int stride, Span<int> counts, float? distanceFrom = null)
    {
        Span<int> bins = stackalloc int[Vector256<int>.Count];
        var lowest = Vector256.Create(QuantileBins);
        var highest = Vector256.Create(-1);
        bool distance = distanceFrom.HasValue;
        float center = distanceFrom.GetValueOrDefault();
        int low = QuantileBins, high = -1;
        for (int row = 0; row < rows; row++)
        {
            var line = values.Slice(row * stride, rowLength);
            int i = 0;
            for (; i <= line.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.Create(line.Slice(i));
                var found = Bins(distance ? Vector256.Abs(v - Vector256.Create(center)) : v);
                lowest = Vector256.Min(lowest, found);
                highest = Vector256.Max(highest, found);
                found.CopyTo(bins);
                foreach (int bin in bins) counts[bin]++;
            }
            for (; i < line.Length; i++)
            {
                int bin = Bin(distance ? Math.Abs(line[i] - center) : line[i]);
                counts[bin]++;
                (low, high) = (Math.Min(low, bin), Math.Max(high, bin));
            }
        }
        for (int lane = 0; lane < Vector256<int>.Count; lane++) (low, high) = (Math.Min(low, lowest[lane]), Math.Max(high, highest[lane]));
        return (low, high);
    }

    /// <summary>The index of the first value above <paramref name="threshold"/> at or after <paramref name="from"/>, or -1: most of a page is paper, skipped eight pixels at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int NextAbove(ReadOnlySpan<float> values, int from, float threshold)
    {
        var bar = Vector256.Create(threshold);
        int i = from;
        for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            uint above = Vector256.GreaterThan(Vector256.Create(values.Slice(i)), bar).ExtractMostSignificantBits();
            if (above != 0) return i + BitOperations.TrailingZeroCount(above);
        }
        for (; i < values.Length; i++) if (values[i] > threshold) return i;
        return -1;
    }

    /// <summary>The index of the first labelled pixel at or after <paramref name="from"/> among the first <paramref name="pixels"/>, or -1.</summary>
    static int NextLabelled(int[] labels, int pixels, int from)
    {
        int offset = labels.AsSpan(from, pixels - from).IndexOfAnyExcept(0);
        return offset < 0 ? -1 : from + offset;
    }

    /// <summary>
    /// The value below which <paramref name="fraction"/> of values in [0, 1] lie, from a fine
    /// histogram (to 1/4096): linear time, where sorting every block of a scan was most of its cost.
    /// </summary>
    static float Quantile01(ReadOnlySpan<float> values, float fraction)
    {
        Span<int> counts = stackalloc int[QuantileBins];
        counts.Clear();
        CountBins(values, counts);
        return Quantile(counts, values.Length, fraction);
    }

    /// <summary>The quantile from bin counts; <paramref name="firstBin"/> is the bin of counts[0] when only the occupied range is passed.</summary>
    static float Quantile(ReadOnlySpan<int> counts, int total, float fraction, int firstBin = 0)
    {
        int rank = (int)(total * fraction), seen = 0;
        for (int b = 0; b < counts.Length; b++)
            if ((seen += counts[b]) > rank) return (firstBin + b + 0.5f) / (QuantileBins - 1);
        return 1;
    }

    /// <summary>
    /// Extends each labelled component into touching pixels whose ink exceeds <paramref name="low"/>,
    /// but only a few pixels beyond its own box, so it cannot creep along a ruled line it crosses.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void GrowInto(int[] labels, float[] ink, int width, int height, float low, List<InkComponent> components, int largestLabel)
    {
        // Indexed by label (labels run 1..largestLabel): this runs for every neighbour of every ink pixel.
        var boxes = new (int Left, int Top, int Right, int Bottom)[largestLabel + 1];
        foreach (var c in components)
        {
            int margin = Math.Max(2, Math.Max(c.Width, c.Height) / 20);
            boxes[c.Label] = (c.Left - margin, c.Top - margin, c.Right + margin, c.Bottom + margin);
        }
        // A pixel is queued once, when it is labelled, so an array as long as the image holds the whole queue.
        int pixels = width * height;
        var queue = ArrayPool<int>.Shared.Rent(pixels);
        int head = 0, tail = 0;
        for (int i = NextLabelled(labels, pixels, 0); i >= 0; i = NextLabelled(labels, pixels, i + 1)) queue[tail++] = i;
        while (head < tail)
        {
            int p = queue[head++], y = p / width, x = p - y * width, label = labels[p];
            var box = boxes[label];
            bool inside = IsInside(x, y, width, height);
            for (int k = 0; k < 8; k++)
            {
                int nx = x + NeighbourX[k], ny = y + NeighbourY[k];
                if (!inside && ((uint)nx >= (uint)width || (uint)ny >= (uint)height)) continue;
                int q = ny * width + nx;
                if (labels[q] == 0 && ink[q] > low && nx >= box.Left && nx <= box.Right && ny >= box.Top && ny <= box.Bottom)
                {
                    labels[q] = label;
                    queue[tail++] = q;
                }
            }
        }
        ArrayPool<int>.Shared.Return(queue);
    }

    /// <summary>
    /// The image at the size it is analysed at: shrunk by area averaging when large, enlarged
    /// bilinearly when tiny, else the image's own pixels (which the analysis only reads).
    /// </summary>
    static (int Width, int Height, float[] Lum, float Scale) Resize(LuminanceImage image)
    {
        int longer = Math.Max(image.Width, image.Height);
        if (longer < MinSide) return Enlarge(image, (MinSide + longer - 1) / longer);
        if (longer <= MaxSide) return (image.Width, image.Height, image.Pixels, 1);
        float scale = (float)longer / MaxSide;
        int width = Math.Max(1, (int)(image.Width / scale)), height = Math.Max(1, (int)(image.Height / scale));
        var lum = new float[width * height];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int x0 = (int)(x * scale), x1 = Math.Min(image.Width, (int)((x + 1) * scale)), y0 = (int)(y * scale), y1 = Math.Min(image.Height, (int)((y + 1) * scale));
                float sum = 0; int count = 0;
                for (int sy = y0; sy < Math.Max(y1, y0 + 1); sy++)
                    for (int sx = x0; sx < Math.Max(x1, x0 + 1); sx++) { sum += image.Pixels[sy * image.Width + sx]; count++; }
                lum[y * width + x] = sum / count;
            }
        return (width, height, lum, scale);
    }

    static (int Width, int Height, float[] Lum, float Scale) Enlarge(LuminanceImage image, int factor)
    {
        int width = image.Width * factor, height = image.Height * factor;
        return (width, height, MnistPreprocessor.Resample(image.Pixels, image.Width, image.Height, width, height), 1f / factor);
    }

    static float BorderMedian(float[] lum, int width, int height)
    {
        var border = new float[2 * width + 2 * height];
        for (int x = 0; x < width; x++) (border[2 * x], border[2 * x + 1]) = (lum[x], lum[(height - 1) * width + x]);
        for (int y = 0; y < height; y++) (border[2 * width + 2 * y], border[2 * width + 2 * y + 1]) = (lum[y * width], lum[y * width + width - 1]);
        // The value a sort would put in the middle, without sorting: sorting was a twentieth of finding a page's ink.
        return MnistPreprocessor.ValueAtRank(border, border.Length / 2);
    }

    /// <summary>
    /// The paper's brightness block by block: the 90th percentile of each block (ink is dark and
    /// sparse, so it barely moves it), then the brightest of each block's neighbours (a block that
    /// a thick stroke fills is not dark paper).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static (float[] Levels, int Block, int BlocksX, int BlocksY) PaperLevels(float[] lum, int width, int height)
    {
        int block = Math.Max(8, Math.Min(width, height) / 6);
        int blocksX = (width + block - 1) / block, blocksY = (height + block - 1) / block;
        var levels = new float[blocksX * blocksY];
        Span<int> counts = stackalloc int[QuantileBins];
        counts.Clear();
        for (int by = 0; by < blocksY; by++)
            for (int bx = 0; bx < blocksX; bx++)
            {
                // Only the occupied range of bins is read and cleared: a block of bare paper fills a few hundred of 4,096.
                int x0 = bx * block, x1 = Math.Min(width, (bx + 1) * block), y0 = by * block, y1 = Math.Min(height, (by + 1) * block);
                var (lowest, highest) = CountBins(lum.AsSpan(y0 * width + x0), y1 - y0, x1 - x0, width, counts);
                var occupied = counts[lowest..(highest + 1)];
                levels[by * blocksX + bx] = Quantile(occupied, (x1 - x0) * (y1 - y0), 0.9f, lowest);
                occupied.Clear();
            }
        var brightest = new float[levels.Length];
        for (int by = 0; by < blocksY; by++)
            for (int bx = 0; bx < blocksX; bx++)
            {
                float level = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                        if ((uint)(by + dy) < (uint)blocksY && (uint)(bx + dx) < (uint)blocksX) level = Math.Max(level, levels[(by + dy) * blocksX + bx + dx]);
                brightest[by * blocksX + bx] = level;
            }
        return (brightest, block, blocksX, blocksY);
    }

    /// <summary>
    /// Each pixel's ink, 1 - its brightness / the paper's there (clamped to 0..1), counted into
    /// <paramref name="counts"/>; returns the strongest. The paper is interpolated bilinearly
    /// between block centres one row at a time and never stored whole: the image-sized paper
    /// array, and clearing it, were a third of finding a scan's ink.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float InkOnPaper(float[] lum, int width, int height, float[] ink, Span<int> counts)
    {
        var (levels, block, blocksX, blocksY) = PaperLevels(lum, width, height);
        // Each column's blocks and weight are the same on every row, so a pair of block rows is
        // blended across once; each image row then only blends that pair down.
        var column0 = new int[width]; var column1 = new int[width]; var columnWeight = new float[width];
        for (int x = 0; x < width; x++)
        {
            float fx = Math.Clamp((x + 0.5f) / block - 0.5f, 0, blocksX - 1);
            column0[x] = (int)fx;
            column1[x] = Math.Min(column0[x] + 1, blocksX - 1);
            columnWeight[x] = fx - column0[x];
        }
        var upper = new float[width]; var lower = new float[width];
        int pairTop = -1;
        Span<int> bins = stackalloc int[Vector256<int>.Count];
        var strongestLanes = Vector256<float>.Zero;
        float strongest = 0;
        for (int y = 0; y < height; y++)
        {
            float fy = Math.Clamp((y + 0.5f) / block - 0.5f, 0, blocksY - 1);
            int y0 = (int)fy, y1 = Math.Min(y0 + 1, blocksY - 1);
            float ay = fy - y0;
            if (y0 != pairTop)
            {
                for (int x = 0; x < width; x++)
                {
                    float ax = columnWeight[x];
                    upper[x] = levels[y0 * blocksX + column0[x]] * (1 - ax) + levels[y0 * blocksX + column1[x]] * ax;
                    lower[x] = levels[y1 * blocksX + column0[x]] * (1 - ax) + levels[y1 * blocksX + column1[x]] * ax;
                }
                pairTop = y0;
            }
            var lumRow = lum.AsSpan(y * width, width);
            var inkRow = ink.AsSpan(y * width, width);
            var (keep, take) = (Vector256.Create(1 - ay), Vector256.Create(ay));
            int i = 0;
            for (; i <= width - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var paper = Vector256.Create(upper.AsSpan(i)) * keep + Vector256.Create(lower.AsSpan(i)) * take;
                var value = Vector256.Min(Vector256.Max(Vector256<float>.One - Vector256.Create(lumRow.Slice(i)) / Vector256.Max(paper, Vector256.Create(0.05f)), Vector256<float>.Zero), Vector256<float>.One);
                value.CopyTo(inkRow.Slice(i));
                strongestLanes = Vector256.Max(strongestLanes, value);
                Bins(value).CopyTo(bins);
                foreach (int bin in bins) counts[bin]++;
            }
            for (; i < width; i++)
            {
                float value = Math.Clamp(1 - lumRow[i] / Math.Max(upper[i] * (1 - ay) + lower[i] * ay, 0.05f), 0, 1);
                inkRow[i] = value;
                counts[Bin(value)]++;
                strongest = Math.Max(strongest, value);
            }
        }
        for (int lane = 0; lane < Vector256<float>.Count; lane++) strongest = Math.Max(strongest, strongestLanes[lane]);
        return strongest;
    }

    /// <summary>Labelled pixels' ink stretched from the paper's median to the strongest (<paramref name="range"/>), clamped to 0..1; everything else paper.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void CleanInk(Span<float> ink, int[] labels, float median, float range)
    {
        int i = 0;
        for (; i <= ink.Length - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var value = Vector256.Min(Vector256.Max((Vector256.Create(ink.Slice(i)) - Vector256.Create(median)) / Vector256.Create(range), Vector256<float>.Zero), Vector256<float>.One);
            var paper = Vector256.Equals(Vector256.Create(labels.AsSpan(i)), Vector256<int>.Zero).AsSingle();
            Vector256.ConditionalSelect(paper, Vector256<float>.Zero, value).CopyTo(ink.Slice(i));
        }
        for (; i < ink.Length; i++) ink[i] = labels[i] != 0 ? Math.Clamp((ink[i] - median) / range, 0, 1) : 0;
    }

    // A pixel's eight neighbours, row by row as a raster scan meets them (growing depends on the order).
    static ReadOnlySpan<int> NeighbourX => [-1, 0, 1, -1, 1, -1, 0, 1];
    static ReadOnlySpan<int> NeighbourY => [-1, -1, -1, 0, 0, 1, 1, 1];

    /// <summary>Whether all eight neighbours of (x, y) lie in the image, so none needs checking.</summary>
    static bool IsInside(int x, int y, int width, int height) => (uint)(x - 1) < (uint)(width - 2) && (uint)(y - 1) < (uint)(height - 2);

    /// <summary>
    /// 8-connected components of pixels above the threshold (iterative flood fill), labelled into
    /// <paramref name="labels"/> (all 0 on entry) in the order a raster scan meets them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static List<InkComponent> Components(float[] ink, int[] labels, int width, int height, float threshold)
    {
        var components = new List<InkComponent>();
        var inked = ink.AsSpan(0, width * height);
        // A pixel is pushed once, when it is labelled, so an array as long as the image holds the whole stack.
        var stack = ArrayPool<int>.Shared.Rent(inked.Length);
        for (int start = NextAbove(inked, 0, threshold); start >= 0; start = NextAbove(inked, start + 1, threshold))
        {
            if (labels[start] != 0) continue;
            int label = components.Count + 1;
            int left = width, right = -1, top = height, bottom = -1, area = 0, depth = 0;
            labels[start] = label;
            stack[depth++] = start;
            while (depth > 0)
            {
                int p = stack[--depth], y = p / width, x = p - y * width;
                area++;
                left = Math.Min(left, x); right = Math.Max(right, x); top = Math.Min(top, y); bottom = Math.Max(bottom, y);
                bool inside = IsInside(x, y, width, height);
                for (int k = 0; k < 8; k++)
                {
                    int nx = x + NeighbourX[k], ny = y + NeighbourY[k];
                    if (!inside && ((uint)nx >= (uint)width || (uint)ny >= (uint)height)) continue;
                    int q = ny * width + nx;
                    if (labels[q] == 0 && ink[q] > threshold) { labels[q] = label; stack[depth++] = q; }
                }
            }
            components.Add(new InkComponent(label, left, top, right, bottom, area));
        }
        ArrayPool<int>.Shared.Return(stack);
        return components;
    }

    /// <summary>Drops ruled lines (long and thin) when asked, then specks (tiny next to the writing).</summary>
    static List<InkComponent> KeepWriting(List<InkComponent> components, int width, int height, bool dropLines)
    {
        var notLines = components.Where(c => !dropLines || (!(c.Width >= 0.4 * width && c.Height <= Math.Max(4, 0.04 * c.Width))
                                          && !(c.Height >= 0.4 * height && c.Width <= Math.Max(4, 0.04 * c.Height)))).ToList();
        if (notLines.Count == 0) return [];
        int largest = notLines.Max(c => c.Area);
        int minimum = Math.Max(6, largest / 25);
        return notLines.Where(c => c.Area >= minimum).ToList();
    }
}
