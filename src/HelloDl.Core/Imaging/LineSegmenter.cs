namespace HelloDl.Imaging;

/// <summary>One character found in an image: its box in the image's pixels and its MNIST-style image.</summary>
public sealed record CharacterBox(int Line, int Index, int X, int Y, int Width, int Height, GrayImage Image);

/// <summary>
/// Reads the layout of handwritten lines: connected pieces of ink are grouped into lines by
/// vertical overlap, ordered left to right, fragments of one character (a 5 whose top bar is
/// detached, the dot of an i) merged when they share columns, and pieces too wide for one
/// character split where the ink is thinnest.
/// </summary>
public static class LineSegmenter
{
    sealed class Piece(int left, int top, int right, int bottom, HashSet<int> labels)
    {
        public int Left = left, Top = top, Right = right, Bottom = bottom;
        public HashSet<int> Labels = labels;
        public int Width => Right - Left + 1;
        public int Height => Bottom - Top + 1;
        public void Absorb(Piece other)
        {
            Left = Math.Min(Left, other.Left); Top = Math.Min(Top, other.Top);
            Right = Math.Max(Right, other.Right); Bottom = Math.Max(Bottom, other.Bottom);
            Labels.UnionWith(other.Labels);
        }
    }

    /// <summary>The characters of every line, lines top to bottom, characters left to right.</summary>
    public static IReadOnlyList<CharacterBox> Segment(InkMap map)
    {
        var pieces = map.Components.Select(c => new Piece(c.Left, c.Top, c.Right, c.Bottom, [c.Label])).ToList();
        var boxes = new List<CharacterBox>();
        int lineNumber = 0;
        foreach (var line in GroupLines(pieces))
        {
            lineNumber++;
            var characters = MergeFragments(line);
            int lineHeight = (int)Median(characters.Select(c => (float)c.Height));
            int index = 0;
            foreach (var piece in characters)
                foreach (var (first, last) in SplitWide(map, piece, lineHeight))
                {
                    var image = MnistPreprocessor.FromInk(map, piece.Labels, first, last);
                    if (image is null) continue;
                    var (top, bottom) = InkRows(map, piece, first, last);
                    boxes.Add(new CharacterBox(lineNumber, ++index,
                        (int)(first * map.Scale), (int)(top * map.Scale), (int)((last - first + 1) * map.Scale), (int)((bottom - top + 1) * map.Scale), image));
                }
        }
        return boxes;
    }

    /// <summary>Lines: pieces whose vertical extents overlap enough, taken in order of their tops.</summary>
    static List<List<Piece>> GroupLines(List<Piece> pieces)
    {
        var lines = new List<(int Top, int Bottom, List<Piece> Pieces)>();
        foreach (var piece in pieces.OrderBy(p => p.Top))
        {
            int best = -1;
            for (int l = 0; l < lines.Count; l++)
            {
                int overlap = Math.Min(lines[l].Bottom, piece.Bottom) - Math.Max(lines[l].Top, piece.Top) + 1;
                if (overlap >= 0.4 * Math.Min(piece.Height, lines[l].Bottom - lines[l].Top + 1)) { best = l; break; }
            }
            if (best < 0) lines.Add((piece.Top, piece.Bottom, [piece]));
            else lines[best] = (Math.Min(lines[best].Top, piece.Top), Math.Max(lines[best].Bottom, piece.Bottom), [.. lines[best].Pieces, piece]);
        }
        lines = lines.OrderBy(l => l.Top).ToList();
        // A "line" of only small pieces close above or below a real line (a detached bar, a dot) belongs to it.
        float typical = Median(lines.Select(l => (float)(l.Bottom - l.Top + 1)));
        for (int l = 0; l < lines.Count && lines.Count > 1;)
        {
            var (top, bottom, small) = lines[l];
            if (bottom - top + 1 >= 0.5f * typical) { l++; continue; }
            int target = -1;
            float nearest = float.MaxValue;
            foreach (int n in new[] { l - 1, l + 1 })
            {
                if (n < 0 || n >= lines.Count) continue;
                float gap = Math.Max(lines[n].Top - bottom, top - lines[n].Bottom);
                if (gap <= 0.5f * (lines[n].Bottom - lines[n].Top + 1) && gap < nearest) { nearest = gap; target = n; }
            }
            if (target < 0) { l++; continue; }
            lines[target] = (Math.Min(lines[target].Top, top), Math.Max(lines[target].Bottom, bottom), [.. lines[target].Pieces, .. small]);
            lines.RemoveAt(l);
        }
        return lines.Select(l => l.Pieces).ToList();
    }

    /// <summary>
    /// Pieces sharing most of their columns belong to one character; so does a small piece (under
    /// half the line's height: a detached bar or tail) that touches or nearly touches a neighbour.
    /// </summary>
    static List<Piece> MergeFragments(List<Piece> line)
    {
        var merged = MergeOverlapping(line);
        int tallest = merged.Max(p => p.Height);
        float lineHeight = Median(merged.Where(p => p.Height >= 0.5 * tallest).Select(p => (float)p.Height));
        for (int i = 0; i < merged.Count && merged.Count > 1;)
        {
            var piece = merged[i];
            if (piece.Height >= 0.5f * lineHeight) { i++; continue; }
            // The neighbour it is closest to horizontally (negative distance = shared columns).
            int best = -1;
            float bestDistance = float.MaxValue;
            foreach (int n in new[] { i - 1, i + 1 })
            {
                if (n < 0 || n >= merged.Count) continue;
                float distance = Math.Max(merged[n].Left, piece.Left) - Math.Min(merged[n].Right, piece.Right);
                if (distance < bestDistance) { bestDistance = distance; best = n; }
            }
            if (best >= 0 && bestDistance <= 0.25f * lineHeight)
            {
                merged[best].Absorb(piece);
                merged.RemoveAt(i);
                i = Math.Max(0, Math.Min(i, best));
            }
            else i++;
        }
        return merged;
    }

    static List<Piece> MergeOverlapping(List<Piece> line)
    {
        var sorted = line.OrderBy(p => p.Left).ToList();
        var merged = new List<Piece>();
        foreach (var piece in sorted)
        {
            var previous = merged.Count > 0 ? merged[^1] : null;
            if (previous is not null)
            {
                int shared = Math.Min(previous.Right, piece.Right) - Math.Max(previous.Left, piece.Left) + 1;
                if (shared >= 0.5 * Math.Min(previous.Width, piece.Width))
                {
                    previous.Absorb(piece);
                    continue;
                }
            }
            merged.Add(new Piece(piece.Left, piece.Top, piece.Right, piece.Bottom, [.. piece.Labels]));
        }
        return merged;
    }

    /// <summary>Column ranges of the characters in a piece: whole, or split at the thinnest ink when too wide for one.</summary>
    static List<(int First, int Last)> SplitWide(InkMap map, Piece piece, int lineHeight)
    {
        // A handwritten digit is rarely much wider than it is tall.
        int count = piece.Width > 1.3 * lineHeight ? Math.Max(2, (int)MathF.Round(piece.Width / (0.72f * lineHeight))) : 1;
        if (count == 1) return [(piece.Left, piece.Right)];
        var columnInk = new float[piece.Width];
        for (int y = piece.Top; y <= piece.Bottom; y++)
            for (int x = piece.Left; x <= piece.Right; x++)
            {
                int i = y * map.Width + x;
                if (piece.Labels.Contains(map.Labels[i])) columnInk[x - piece.Left] += map.Ink[i];
            }
        // Touching characters meet where the ink is thin; a wide 0 or 4 has no such waist and stays whole.
        float typicalColumn = columnInk.Where(v => v > 0).Order().ElementAtOrDefault(columnInk.Count(v => v > 0) / 2);
        var ranges = new List<(int, int)>();
        int start = piece.Left;
        float step = piece.Width / (float)count;
        for (int k = 1; k < count; k++)
        {
            int expected = (int)(k * step), window = (int)(0.3f * step);
            int cut = Enumerable.Range(Math.Max(1, expected - window), Math.Min(piece.Width - 2, expected + window) - Math.Max(1, expected - window) + 1)
                .OrderBy(c => columnInk[c]).ThenBy(c => Math.Abs(c - expected)).First();
            if (columnInk[cut] > 0.5f * typicalColumn) continue;
            ranges.Add((start, piece.Left + cut - 1));
            start = piece.Left + cut;
        }
        ranges.Add((start, piece.Right));
        return ranges;
    }

    static (int Top, int Bottom) InkRows(InkMap map, Piece piece, int first, int last)
    {
        int top = piece.Bottom, bottom = piece.Top;
        for (int y = piece.Top; y <= piece.Bottom; y++)
            for (int x = first; x <= last; x++)
                if (map.Ink[y * map.Width + x] > 0 && piece.Labels.Contains(map.Labels[y * map.Width + x]))
                {
                    top = Math.Min(top, y); bottom = Math.Max(bottom, y);
                    break;
                }
        return bottom < top ? (piece.Top, piece.Bottom) : (top, bottom);
    }

    static float Median(IEnumerable<float> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? 0 : sorted[sorted.Count / 2];
    }
}
