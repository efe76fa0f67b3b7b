using HelloDl.Tensors;

namespace HelloDl.Tests.Autograd;

/// <summary>
/// The ops written the obvious way, in double precision, with no code shared with the library:
/// the independent forward reference of the op catalogue (as GemmTests has for the matrix multiply).
/// </summary>
public static class NaiveOps
{
    static double[] Values(Tensor t) => t.Data.ToArray().Select(v => (double)v).ToArray();

    public static Expected Elementwise(Expected x, Func<double, double> f) => new(x.Shape, x.Values.Select(f).ToArray());
    public static Expected Elementwise(Tensor x, Func<double, double> f) => Elementwise(new Expected(x.Shape, Values(x)), f);

    /// <summary>NumPy broadcasting: shapes aligned at the end, a dimension of 1 stretches.</summary>
    public static Expected Broadcast(Tensor a, Tensor b, Func<double, double, double> f)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        int Dim(Tensor t, int axis) { int own = axis - (rank - t.Rank); return own >= 0 ? t.Shape[own] : 1; }
        var shape = Enumerable.Range(0, rank).Select(d => Math.Max(Dim(a, d), Dim(b, d))).ToArray();
        double[] va = Values(a), vb = Values(b);
        var result = new double[shape.Aggregate(1, (x, y) => x * y)];
        var index = new int[rank];
        for (int flat = 0; flat < result.Length; flat++)
        {
            for (int d = rank - 1, rest = flat; d >= 0; d--) { index[d] = rest % shape[d]; rest /= shape[d]; }
            int At(Tensor t)
            {
                int offset = 0;
                for (int d = 0; d < rank; d++)
                    if (d >= rank - t.Rank) offset = offset * Dim(t, d) + (Dim(t, d) == 1 ? 0 : index[d]);
                return offset;
            }
            result[flat] = f(va[At(a)], vb[At(b)]);
        }
        return new(shape, result);
    }

    public static Expected MatMul(Tensor a, Tensor b, bool transA, bool transB)
    {
        int m = transA ? a.Dim(1) : a.Dim(0), k = transA ? a.Dim(0) : a.Dim(1), n = transB ? b.Dim(0) : b.Dim(1);
        double[] va = Values(a), vb = Values(b);
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++)
                    c[i * n + j] += (transA ? va[p * m + i] : va[i * k + p]) * (transB ? vb[j * k + p] : vb[p * n + j]);
        return new([m, n], c);
    }

    /// <summary>y = x Wᵀ + b with W [out, in]; optionally max(0, y).</summary>
    public static Expected Linear(Tensor x, Tensor weight, Tensor bias, bool relu = false)
    {
        var product = MatMul(x, weight, false, true);
        double[] b = Values(bias);
        int outputs = weight.Dim(0);
        var y = product.Values.Select((v, i) => v + b[i % outputs]).Select(v => relu ? Math.Max(0, v) : v).ToArray();
        return new(product.Shape, y);
    }

    /// <summary>A GRU layer written out step by step and gate by gate, PyTorch's equations, time-major; masked rows keep h.</summary>
    public static Expected GruLayer(Tensor x, Tensor initial, Tensor weightIh, Tensor weightHh, Tensor biasIh, Tensor biasHh, float[]? mask)
    {
        int rows = x.Dim(0), sequences = initial.Dim(0), inputs = x.Dim(1), hidden = initial.Dim(1);
        double[] xs = Values(x), wi = Values(weightIh), wh = Values(weightHh), bi = Values(biasIh), bh = Values(biasHh), y = new double[rows * hidden];
        double[] h = Values(initial);
        static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
        for (int start = 0; start < rows; start += sequences)
        {
            var next = new double[sequences * hidden];
            for (int n = 0; n < sequences; n++)
            {
                int row = start + n;
                double Input(int gate) { double sum = bi[gate]; for (int k = 0; k < inputs; k++) sum += xs[row * inputs + k] * wi[gate * inputs + k]; return sum; }
                double Hidden(int gate) { double sum = bh[gate]; for (int k = 0; k < hidden; k++) sum += h[n * hidden + k] * wh[gate * hidden + k]; return sum; }
                for (int j = 0; j < hidden; j++)
                {
                    if (mask is not null && mask[row] == 0) { next[n * hidden + j] = h[n * hidden + j]; continue; }
                    double r = Sigmoid(Input(j) + Hidden(j)), z = Sigmoid(Input(hidden + j) + Hidden(hidden + j));
                    double candidate = Math.Tanh(Input(2 * hidden + j) + r * Hidden(2 * hidden + j));
                    next[n * hidden + j] = (1 - z) * candidate + z * h[n * hidden + j];
                }
            }
            h = next;
            Array.Copy(next, 0, y, start * hidden, next.Length);
        }
        return new([rows, hidden], y);
    }

    /// <summary>Each row: bias plus the weighted sum of the table rows its (id, weight) pairs name; negative ids are skipped.</summary>
    public static Expected EmbeddingBag(Tensor features, Tensor table, Tensor bias)
    {
        int rows = features.Dim(0), pairs = features.Dim(1), width = table.Dim(1);
        double[] f = Values(features), t = Values(table), b = Values(bias), y = new double[rows * width];
        for (int n = 0; n < rows; n++)
            for (int d = 0; d < width; d++)
            {
                double sum = b[d];
                for (int k = 0; k < pairs; k++)
                    if (f[(n * pairs + k) * 2] >= 0) sum += f[(n * pairs + k) * 2 + 1] * t[(int)f[(n * pairs + k) * 2] * width + d];
                y[n * width + d] = sum;
            }
        return new([rows, width], y);
    }

    /// <summary>Cross-correlation of x [N, C, H, W] with weight [O, C, KH, KW], zero padding, plus bias.</summary>
    public static Expected Conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding)
    {
        int n = x.Dim(0), c = x.Dim(1), h = x.Dim(2), w = x.Dim(3), o = weight.Dim(0), kh = weight.Dim(2), kw = weight.Dim(3);
        int oh = (h + 2 * padding - kh) / stride + 1, ow = (w + 2 * padding - kw) / stride + 1;
        double[] vx = Values(x), vw = Values(weight), vb = Values(bias);
        var y = new double[n * o * oh * ow];
        for (int img = 0; img < n; img++)
            for (int f = 0; f < o; f++)
                for (int r = 0; r < oh; r++)
                    for (int col = 0; col < ow; col++)
                    {
                        double sum = vb[f];
                        for (int ch = 0; ch < c; ch++)
                            for (int i = 0; i < kh; i++)
                                for (int j = 0; j < kw; j++)
                                {
                                    int yIn = r * stride - padding + i, xIn = col * stride - padding + j;
                                    if (yIn < 0 || yIn >= h || xIn < 0 || xIn >= w) continue;
                                    sum += vx[((img * c + ch) * h + yIn) * w + xIn] * vw[((f * c + ch) * kh + i) * kw + j];
                                }
                        y[((img * o + f) * oh + r) * ow + col] = sum;
                    }
        return new([n, o, oh, ow], y);
    }

    /// <summary>PyTorch's max pooling without padding: ceil mode keeps a last partial window that starts inside the input.</summary>
    public static Expected MaxPool2d(Expected x, int kernel, int stride, bool ceilMode)
    {
        int OutputSize(int input)
        {
            int size = (int)(ceilMode ? Math.Ceiling((input - kernel) / (double)stride) : Math.Floor((input - kernel) / (double)stride)) + 1;
            return ceilMode && (size - 1) * stride >= input ? size - 1 : size;
        }
        int planes = x.Shape[0] * x.Shape[1], h = x.Shape[2], w = x.Shape[3], oh = OutputSize(h), ow = OutputSize(w);
        var y = new double[planes * oh * ow];
        for (int p = 0; p < planes; p++)
            for (int r = 0; r < oh; r++)
                for (int c = 0; c < ow; c++)
                {
                    double max = double.NegativeInfinity;
                    for (int i = r * stride; i < Math.Min(h, r * stride + kernel); i++)
                        for (int j = c * stride; j < Math.Min(w, c * stride + kernel); j++)
                            max = Math.Max(max, x.Values[(p * h + i) * w + j]);
                    y[(p * oh + r) * ow + c] = max;
                }
        return new([x.Shape[0], x.Shape[1], oh, ow], y);
    }

    public static Expected MaxPool2d(Tensor x, int kernel, int stride, bool ceilMode) => MaxPool2d(new Expected(x.Shape, Values(x)), kernel, stride, ceilMode);

    /// <summary>log softmax over each row of [N, C]: x - log Σ exp x.</summary>
    public static Expected LogSoftmax(Tensor x)
    {
        int classes = x.Dim(1);
        var v = Values(x);
        var y = new double[v.Length];
        for (int r = 0; r < v.Length / classes; r++)
        {
            double logSum = Math.Log(Enumerable.Range(0, classes).Sum(c => Math.Exp(v[r * classes + c])));
            for (int c = 0; c < classes; c++) y[r * classes + c] = v[r * classes + c] - logSum;
        }
        return new(x.Shape, y);
    }

    public static Expected NllLoss(Expected logProbabilities, int[] targets)
    {
        int classes = logProbabilities.Shape[1], rows = logProbabilities.Shape[0];
        return new([1], [-Enumerable.Range(0, rows).Average(r => logProbabilities.Values[r * classes + targets[r]])]);
    }

    public static Expected NllLoss(Tensor logProbabilities, int[] targets) => NllLoss(new Expected(logProbabilities.Shape, Values(logProbabilities)), targets);

    /// <summary>The weighted mean Σ w[t]·(-log p) / Σ w[t], written out row by row.</summary>
    public static Expected WeightedNllLoss(Tensor logProbabilities, int[] targets, float[] classWeights)
    {
        var values = Values(logProbabilities);
        int classes = logProbabilities.Shape[1], rows = logProbabilities.Shape[0];
        double total = 0, weights = 0;
        for (int r = 0; r < rows; r++)
        {
            total -= classWeights[targets[r]] * values[r * classes + targets[r]];
            weights += classWeights[targets[r]];
        }
        return new([1], [total / weights]);
    }

    public static Expected Scalar(Tensor x, Func<IEnumerable<double>, double> reduce) => new([1], [reduce(Values(x))]);

    public static Expected Reshape(Tensor x, int[] shape) => new(shape, Values(x));

    public static Expected Slice(Tensor x, int axis, int start, int length)
    {
        var shape = (int[])x.Shape.Clone();
        shape[axis] = length;
        int outer = x.Shape.Take(axis).Aggregate(1, (a, b) => a * b), inner = x.Shape.Skip(axis + 1).Aggregate(1, (a, b) => a * b);
        var v = Values(x);
        var y = new List<double>();
        for (int o = 0; o < outer; o++)
            for (int i = start; i < start + length; i++)
                for (int e = 0; e < inner; e++) y.Add(v[(o * x.Shape[axis] + i) * inner + e]);
        return new(shape, y.ToArray());
    }

    public static Expected Concat(int axis, Tensor a, Tensor b)
    {
        var shape = (int[])a.Shape.Clone();
        shape[axis] += b.Shape[axis];
        int outer = a.Shape.Take(axis).Aggregate(1, (x, y) => x * y), inner = a.Shape.Skip(axis + 1).Aggregate(1, (x, y) => x * y);
        double[] va = Values(a), vb = Values(b);
        var y = new List<double>();
        for (int o = 0; o < outer; o++)
        {
            y.AddRange(va.Skip(o * a.Shape[axis] * inner).Take(a.Shape[axis] * inner));
            y.AddRange(vb.Skip(o * b.Shape[axis] * inner).Take(b.Shape[axis] * inner));
        }
        return new(shape, y.ToArray());
    }

    /// <summary>GELU's exact form x Φ(x) = x (1 + erf(x / √2)) / 2.</summary>
    public static double Gelu(double x) => x * (1 + Erf(x / Math.Sqrt(2))) / 2;

    /// <summary>erf by its Maclaurin series for |x| ≤ 3 (error near 1e-13), and the asymptotic series of erfc beyond.</summary>
    public static double Erf(double x)
    {
        double a = Math.Abs(x);
        if (a <= 3)
        {
            double term = a, sum = a;
            for (int n = 1; Math.Abs(term) > 1e-17 * Math.Abs(sum); n++)
            {
                term *= -a * a / n;
                sum += term / (2 * n + 1);
            }
            return Math.Sign(x) * 2 / Math.Sqrt(Math.PI) * sum;
        }
        double inverse = 1 / (2 * a * a);
        double series = 1 - inverse + 3 * inverse * inverse - 15 * inverse * inverse * inverse;
        return Math.Sign(x) * (1 - Math.Exp(-a * a) / (a * Math.Sqrt(Math.PI)) * series);
    }
}
