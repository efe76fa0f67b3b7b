using System.Diagnostics;

namespace HelloDl.Autograd;

/// <summary>
/// Where the time of a training step goes, op by op: attach one to <see cref="Tape.Profile"/> and
/// every recorded op adds its forward time (since the previous op was recorded, so the glue
/// between layers counts too) and the time of its backward rule. Rows are kept per position in
/// the tape, so the two convolutions of a network are told apart.
/// </summary>
public sealed class OpProfile
{
    readonly List<Row> _rows = [];
    long _mark;
    int _position;

    /// <summary>One op position of the tape: its type (as its first step ran it) and the total time spent in it.</summary>
    public sealed class Row
    {
        internal Row(string op) => Op = op;
        public string Op { get; }
        public TimeSpan Forward { get; internal set; }
        public TimeSpan Backward { get; internal set; }
    }

    /// <summary>Ops in tape order with their accumulated forward and backward times.</summary>
    public IReadOnlyList<Row> Rows => _rows;

    /// <summary>Forward passes seen (tape resets).</summary>
    public int Steps { get; private set; }

    internal void Start()
    {
        _position = 0;
        Steps++;
        _mark = Stopwatch.GetTimestamp();
    }

    /// <summary>Adds the op's forward time; returns its row.</summary>
    internal int Recorded(Op op)
    {
        long now = Stopwatch.GetTimestamp();
        int position = _position++;
        RowAt(position, op).Forward += Stopwatch.GetElapsedTime(_mark, now);
        _mark = now;
        return position;
    }

    internal void BackwardDone(Op op, long started) => RowAt(op.ProfileRow, op).Backward += Stopwatch.GetElapsedTime(started);

    Row RowAt(int position, Op op)
    {
        if (position == _rows.Count) _rows.Add(new Row(op.ProfileName));
        return _rows[position];
    }
}
