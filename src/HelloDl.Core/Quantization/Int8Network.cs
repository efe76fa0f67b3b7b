using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using HelloDl.Autograd;
using HelloDl.Kernels;
using HelloDl.Nn;
using HelloDl.Tensors;

namespace HelloDl.Quantization;

/// <summary>
/// A network run in integers: each fully connected and convolution layer quantises its input to
/// 7-bit codes with the calibrated range, multiplies by its 8-bit weights in int32 (<see cref="Int8Gemm"/>)
/// and turns the sums back into floats with its scales and bias; pooling and activations work on
/// those floats with the float network's own kernels. Feature maps are kept channels-last, so a
/// convolution's input rows are contiguous bytes; the weights were reordered to match when the
/// network was built. Integer sums are exact on every path, so the answers do not depend on the CPU.
/// </summary>
internal sealed class Int8Network : IQuantizedNetwork
{
    readonly Stage[] _stages;

    public Int8Network(Sequential network, IReadOnlyList<QuantizedLayer> layers, int bits, string calibration)
    {
        Layers = layers;
        Bits = bits;
        Calibration = calibration;
        var byName = layers.ToDictionary(l => l.Name, StringComparer.Ordinal);
        var stages = new List<Stage>();
        // The shape flowing through: channels-last (height, width, channels) until flattened.
        (int Height, int Width, int Channels) spatial = (Model.ImageInputShape[1], Model.ImageInputShape[2], Model.ImageInputShape[0]);
        bool flat = false;
        var children = network.Children;
        for (int i = 0; i < children.Count; i++)
        {
            var (name, module) = children[i];
            switch (module)
            {
                case Conv2dLayer conv:
                    var geometry = ConvGeometry.For(1, spatial.Channels, spatial.Height, spatial.Width, conv.Kernel, conv.Kernel, conv.Stride, conv.Padding);
                    var pool = i + 1 < children.Count ? children[i + 1].Module as MaxPool2dLayer : null;
                    if (pool is not null) i++;
                    // A ReLU or GELU straight after is applied image by image too, while the values are in cache.
                    var activation = i + 1 < children.Count && children[i + 1].Module is ActivationLayer { Kind: ActivationKind.Relu or ActivationKind.Gelu } next ? next : null;
                    if (activation is not null) i++;
                    var convolution = new ConvStage(byName[name], geometry, pool, activation?.Kind);
                    stages.Add(convolution);
                    spatial = (convolution.OutputHeight, convolution.OutputWidth, conv.OutputChannels);
                    break;
                case LinearLayer:
                    var linearLayer = byName[name];
                    // Flattened channels-last, not channels-first as the float network: reorder the columns.
                    stages.Add(new LinearStage(linearLayer, flat && spatial.Channels > 1 ? spatial : null));
                    spatial = (1, 1, linearLayer.Outputs);
                    flat = true;
                    break;
                case FlattenLayer:
                    flat = true;
                    break;
                case DropoutLayer:
                    break;
                case ActivationLayer or LogSoftmaxLayer or SignToLogitsLayer:
                    // Element-wise or per row: the float layer itself, on the flattened values. (Max pooling
                    // is done by the convolution before it; the architectures have no other.)
                    stages.Add(new FloatStage(module));
                    break;
                default:
                    throw new NotSupportedException($"The layer '{name}' ({module.Describe}) has no integer form.");
            }
        }
        _stages = [.. stages];
        if (byName.Count != _stages.Count(s => s is ConvStage or LinearStage))
            throw new ArgumentException("The quantised layers do not match the network's layers with weights.");
    }

    public IReadOnlyList<QuantizedLayer> Layers { get; }
    public int Bits { get; }
    public string Calibration { get; }

    public Tensor Forward(Tape tape, Tensor input)
    {
        int count = input.Dim(0);
        // [N, 1, 28, 28]: one channel, so channels-first is channels-last.
        var x = Tensor.ViewOf(input, [count, input.Length / count]);
        foreach (var stage in _stages) x = stage.Run(tape, x, count);
        return x;
    }

    /// <summary>Buffers of one thread's forward pass, grown as needed and kept.</summary>
    sealed class Scratch
    {
        [ThreadStatic] static Scratch? _current;
        public static Scratch Current => _current ??= new Scratch();

        byte[] _codes = [], _rows = [];
        int[] _sums = [];

        /// <summary>With 4 bytes of slack, for the patches' 4-byte reads.</summary>
        public byte[] Codes(int length) => _codes.Length >= length + 4 ? _codes : _codes = GC.AllocateUninitializedArray<byte>(length + 4, pinned: true);
        public byte[] Rows(int length) => _rows.Length >= length ? _rows : _rows = GC.AllocateUninitializedArray<byte>(length, pinned: true);
        public int[] Sums(int length) => _sums.Length >= length ? _sums : _sums = GC.AllocateUninitializedArray<int>(length, pinned: true);
    }

    abstract class Stage
    {
        /// <summary>The next values, [count, features], channels-last where spatial.</summary>
        public abstract Tensor Run(Tape tape, Tensor x, int count);
    }

    /// <summary>What fully connected and convolution stages share: packed weights, the input code, the output scales.</summary>
    abstract unsafe class WeightedStage : Stage
    {
        protected PackedInt8Weights Weights { get; }
        protected float InverseInputScale { get; }
        protected int InputZero { get; }
        /// <summary>Input scale × weight scale per output column, and the bias (padded to PaddedN with zeros).</summary>
        readonly float[] _scales, _bias;
        readonly int[] _zeroCorrection;

        protected WeightedStage(QuantizedLayer layer, sbyte[] weightsInOrder)
        {
            Weights = Int8Gemm.Pack(weightsInOrder, layer.Outputs, layer.InputsPerOutput);
            InverseInputScale = 1 / layer.Input.Scale;
            InputZero = layer.Input.ZeroPoint;
            int padded = Weights.PaddedN;
            _scales = new float[padded];
            _bias = new float[padded];
            _zeroCorrection = new int[padded];
            for (int n = 0; n < layer.Outputs; n++)
            {
                _scales[n] = layer.Input.Scale * layer.WeightScales[n];
                _bias[n] = layer.Bias[n];
                _zeroCorrection[n] = InputZero * Weights.RowSums[n];
            }
        }

        /// <summary>Multiplies <paramref name="rows"/> (padded to the row tile) and writes y = (Σ − z·Σw) · scale + bias into <paramref name="output"/> [rows, N].</summary>
        protected void MultiplyInto(byte* rows, int rowCount, float* output)
        {
            int paddedRows = (rowCount + Int8Gemm.RowTile - 1) / Int8Gemm.RowTile * Int8Gemm.RowTile;
            fixed (int* sums = Scratch.Current.Sums(paddedRows * Weights.PaddedN))
            {
                Int8Gemm.Multiply(rows, paddedRows, Weights, sums);
                Dequantize(sums, rowCount, output);
            }
        }

        /// <summary>y = (Σ − z·Σw) · scale + bias for <paramref name="rowCount"/> rows of sums (row stride PaddedN) into rows of N floats.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        protected void Dequantize(int* sums, int rowCount, float* output)
        {
            int n = Weights.N, np = Weights.PaddedN;
            fixed (float* scale = _scales, bias = _bias) fixed (int* zero = _zeroCorrection)
                for (int r = 0; r < rowCount; r++)
                {
                    int* row = sums + r * np;
                    float* target = output + r * n;
                    int j = 0;
                    if (Vector512.IsHardwareAccelerated && n % Vector512<float>.Count == 0)
                        for (; j < n; j += Vector512<float>.Count)
                        {
                            var total = Vector512.ConvertToSingle(Vector512.Load(row + j) - Vector512.Load(zero + j));
                            (total * Vector512.Load(scale + j) + Vector512.Load(bias + j)).Store(target + j);
                        }
                    if (n % Vector256<float>.Count == 0)
                        for (; j < n; j += Vector256<float>.Count)
                        {
                            var total = Vector256.ConvertToSingle(Vector256.Load(row + j) - Vector256.Load(zero + j));
                            (total * Vector256.Load(scale + j) + Vector256.Load(bias + j)).Store(target + j);
                        }
                    for (; j < n; j++) target[j] = (row[j] - zero[j]) * scale[j] + bias[j];
                }
        }

        /// <summary>q = clamp(round(x / scale) + zero, 0, 127), 32 values at a time.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        protected void Quantize(float* x, byte* q, int length)
        {
            var inverse = Vector256.Create(InverseInputScale);
            var zero = Vector256.Create((float)InputZero);
            var top = Vector256.Create((float)ActivationRange.Levels);
            int i = 0;
            for (; i <= length - 32; i += 32)
            {
                var a = Code(Vector256.Load(x + i), inverse, zero, top);
                var b = Code(Vector256.Load(x + i + 8), inverse, zero, top);
                var c = Code(Vector256.Load(x + i + 16), inverse, zero, top);
                var d = Code(Vector256.Load(x + i + 24), inverse, zero, top);
                Vector256.Narrow(Vector256.Narrow(a, b), Vector256.Narrow(c, d)).AsByte().Store(q + i);
            }
            for (; i < length; i++) q[i] = (byte)Math.Clamp(MathF.Round(x[i] * InverseInputScale + InputZero), 0, ActivationRange.Levels);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector256<int> Code(Vector256<float> x, Vector256<float> inverse, Vector256<float> zero, Vector256<float> top) =>
            Vector256.ConvertToInt32(Vector256.Min(Vector256.Max(Vector256.Round(x * inverse + zero), Vector256<float>.Zero), top));
    }

    sealed unsafe class LinearStage(QuantizedLayer layer, (int Height, int Width, int Channels)? channelsLast)
        : WeightedStage(layer, channelsLast is { } shape ? ChannelsLastColumns(layer, shape) : layer.Weights)
    {
        /// <summary>Columns reordered from the float network's (c, h, w) flattening to (h, w, c).</summary>
        static sbyte[] ChannelsLastColumns(QuantizedLayer layer, (int Height, int Width, int Channels) shape)
        {
            int inputs = layer.InputsPerOutput, plane = shape.Height * shape.Width;
            var reordered = new sbyte[layer.Weights.Length];
            for (int o = 0; o < layer.Outputs; o++)
                for (int c = 0; c < shape.Channels; c++)
                    for (int p = 0; p < plane; p++)
                        reordered[o * inputs + p * shape.Channels + c] = layer.Weights[o * inputs + c * plane + p];
            return reordered;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override Tensor Run(Tape tape, Tensor x, int count)
        {
            int k = Weights.K, kp = Weights.PaddedK;
            int paddedRows = (count + Int8Gemm.RowTile - 1) / Int8Gemm.RowTile * Int8Gemm.RowTile;
            var rows = Scratch.Current.Rows(paddedRows * kp);
            var y = tape.NewTensor(count, Weights.N);
            fixed (float* input = x.Data) fixed (byte* r = rows)
            {
                // The bytes from K to PaddedK are left as they are: they meet zero weights.
                for (int i = 0; i < count; i++) Quantize(input + i * k, r + i * kp, k);
                new Span<byte>(r + count * kp, (paddedRows - count) * kp).Clear();
                fixed (float* output = y.Data) MultiplyInto(r, count, output);
            }
            return y;
        }
    }

    /// <summary>
    /// A convolution, one image at a time so its patch rows and sums stay in cache; when max pooling
    /// follows, it pools the integer sums (dequantising is increasing, so the maximum is the same)
    /// and dequantises only the pooled values, then applies the activation that follows, if any.
    /// </summary>
    sealed unsafe class ConvStage(QuantizedLayer layer, ConvGeometry geometry, MaxPool2dLayer? pool, ActivationKind? activation)
        : WeightedStage(layer, ChannelsLastKernel(layer))
    {
        readonly int _pooledHeight = pool is null ? geometry.OutputHeight : MaxPool2d.OutputSize(geometry.OutputHeight, pool.Kernel, pool.Stride, pool.CeilMode);
        readonly int _pooledWidth = pool is null ? geometry.OutputWidth : MaxPool2d.OutputSize(geometry.OutputWidth, pool.Kernel, pool.Stride, pool.CeilMode);

        public int OutputHeight => _pooledHeight;
        public int OutputWidth => _pooledWidth;

        /// <summary>Weights reordered from [out, in, kh, kw] to [out, kh, kw, in], the order of a channels-last patch.</summary>
        static sbyte[] ChannelsLastKernel(QuantizedLayer layer)
        {
            int outputs = layer.WeightShape[0], channels = layer.WeightShape[1], taps = layer.WeightShape[2] * layer.WeightShape[3];
            var reordered = new sbyte[layer.Weights.Length];
            for (int o = 0; o < outputs; o++)
                for (int c = 0; c < channels; c++)
                    for (int t = 0; t < taps; t++)
                        reordered[(o * taps + t) * channels + c] = layer.Weights[(o * channels + c) * taps + t];
            return reordered;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override Tensor Run(Tape tape, Tensor x, int count)
        {
            var g = geometry;
            int kp = Weights.PaddedK, np = Weights.PaddedN, positions = g.Positions;
            int paddedRows = (positions + Int8Gemm.RowTile - 1) / Int8Gemm.RowTile * Int8Gemm.RowTile;
            int pooledPositions = _pooledHeight * _pooledWidth, imageInputs = g.Height * g.Width * g.Channels;
            var scratch = Scratch.Current;
            var codes = scratch.Codes(x.Length);
            var rows = scratch.Rows(paddedRows * kp);
            var sums = scratch.Sums(paddedRows * np + (pool is null ? 0 : pooledPositions * np));
            var y = tape.NewTensor(count, pooledPositions * Weights.N);
            fixed (float* input = x.Data, output = y.Data) fixed (byte* q = codes, r = rows) fixed (int* s = sums)
            {
                Quantize(input, q, x.Length);
                new Span<byte>(r + positions * kp, (paddedRows - positions) * kp).Clear();
                for (int image = 0; image < count; image++)
                {
                    Patches(q + image * imageInputs, r);
                    Int8Gemm.Multiply(r, paddedRows, Weights, s);
                    float* target = output + image * pooledPositions * Weights.N;
                    if (pool is null) Dequantize(s, positions, target);
                    else
                    {
                        int* pooled = s + paddedRows * np;
                        MaxPool(s, pooled, pool);
                        Dequantize(pooled, pooledPositions, target);
                    }
                    var values = new Span<float>(target, pooledPositions * Weights.N);
                    if (activation == ActivationKind.Gelu) Activations.GeluForward(values, values, []);
                    else if (activation == ActivationKind.Relu) Activations.ReluForward(values, values);
                }
            }
            return y;
        }

        /// <summary>One image's patch rows, each kh · kw · channels codes, PaddedK bytes apart.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void Patches(byte* source, byte* rows)
        {
            var g = geometry;
            int channels = g.Channels, kp = Weights.PaddedK, run = g.KernelWidth * channels;
            // Runs of up to 4 bytes (c1's 3) as one 4-byte copy each: the extra byte is overwritten by
            // the next run or lands in the padding, and the codes buffer has slack for the extra read.
            bool shortRuns = run <= 4 && (g.KernelHeight - 1) * run + 4 <= kp;
            byte zero = (byte)InputZero;
            byte* row = rows;
            for (int oy = 0; oy < g.OutputHeight; oy++)
                for (int ox = 0; ox < g.OutputWidth; ox++, row += kp)
                {
                    byte* target = row;
                    int y0 = oy * g.Stride - g.Padding, x0 = ox * g.Stride - g.Padding;
                    if (y0 >= 0 && x0 >= 0 && y0 + g.KernelHeight <= g.Height && x0 + g.KernelWidth <= g.Width)
                    {
                        // Inside the image a patch row is kw · channels contiguous codes (channels-last).
                        if (shortRuns)
                            for (int ky = 0; ky < g.KernelHeight; ky++, target += run) *(uint*)target = *(uint*)(source + ((y0 + ky) * g.Width + x0) * channels);
                        else
                            for (int ky = 0; ky < g.KernelHeight; ky++, target += run) CopyBytes(source + ((y0 + ky) * g.Width + x0) * channels, target, run);
                    }
                    else
                        for (int ky = 0; ky < g.KernelHeight; ky++)
                            for (int kx = 0; kx < g.KernelWidth; kx++, target += channels)
                            {
                                int iy = y0 + ky, ix = x0 + kx;
                                // Outside the image the input is 0, whose code is the zero point.
                                if ((uint)iy < (uint)g.Height && (uint)ix < (uint)g.Width) CopyBytes(source + (iy * g.Width + ix) * channels, target, channels);
                                else new Span<byte>(target, channels).Fill(zero);
                            }
                    // The bytes from K to PaddedK are left as they are: they meet zero weights.
                }
        }

        /// <summary>A short copy: 32, 8, 4, 2 and 1 bytes at a time (c1's runs are 3 bytes, c2's 96).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void CopyBytes(byte* from, byte* to, int count)
        {
            int i = 0;
            for (; i <= count - 32; i += 32) Vector256.Store(Vector256.Load(from + i), to + i);
            for (; i <= count - 8; i += 8) *(ulong*)(to + i) = *(ulong*)(from + i);
            if (i <= count - 4) { *(uint*)(to + i) = *(uint*)(from + i); i += 4; }
            if (i <= count - 2) { *(ushort*)(to + i) = *(ushort*)(from + i); i += 2; }
            if (i < count) to[i] = from[i];
        }

        /// <summary>Max pooling of one image's sums [positions, PaddedN], channels-last.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void MaxPool(int* sums, int* pooled, MaxPool2dLayer window)
        {
            var g = geometry;
            int np = Weights.PaddedN, kernel = window.Kernel, stride = window.Stride;
            for (int oy = 0; oy < _pooledHeight; oy++)
                for (int ox = 0; ox < _pooledWidth; ox++, pooled += np)
                {
                    int y0 = oy * stride, y1 = Math.Min(y0 + kernel, g.OutputHeight), x0 = ox * stride, x1 = Math.Min(x0 + kernel, g.OutputWidth);
                    int c = 0;
                    if (Vector512.IsHardwareAccelerated)
                        for (; c < np; c += Vector512<int>.Count)
                        {
                            var best = Vector512.Create(int.MinValue);
                            for (int iy = y0; iy < y1; iy++)
                                for (int ix = x0; ix < x1; ix++) best = Vector512.Max(best, Vector512.Load(sums + (iy * g.OutputWidth + ix) * np + c));
                            best.Store(pooled + c);
                        }
                    for (; c < np; c += Vector256<int>.Count)
                    {
                        var best = Vector256.Create(int.MinValue);
                        for (int iy = y0; iy < y1; iy++)
                            for (int ix = x0; ix < x1; ix++) best = Vector256.Max(best, Vector256.Load(sums + (iy * g.OutputWidth + ix) * np + c));
                        best.Store(pooled + c);
                    }
                }
        }
    }

    sealed class FloatStage(Module layer) : Stage
    {
        public override Tensor Run(Tape tape, Tensor x, int count) => layer.Forward(tape, x);
    }
}
