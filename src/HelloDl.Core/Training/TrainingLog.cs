using System.Globalization;
using Microsoft.Data.Sqlite;

namespace HelloDl.Training;

/// <summary>
/// A metrics database, as hello-dl kept one: every batch, every validation pass and the final
/// confusion matrix of a training run go into SQLite tables, under one run id per run, so many
/// runs can share one file and any SQLite tool can chart them. Batch rows are written 64 to a
/// statement, in one transaction per epoch, so logging costs little next to training.
/// Schema (also in about_HelloDl):
///   runs(run_id, started_utc, architecture, classes, training_set, validation_set, epochs,
///        batch_size, optimizer, learning_rate, seed, parameters, machine)
///   batches(run_id, epoch, batch, seconds, loss, accuracy, learning_rate, batch_size)
///   validations(run_id, epoch, seconds, loss, accuracy, images)
///   confusion(run_id, actual, predicted, count)
/// </summary>
public sealed class TrainingLog : IDisposable
{
    // WAL with synchronous=NORMAL: a crash can lose the last epoch's rows, never corrupt the file,
    // and a commit does not wait for the disk.
    const string Schema = """
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = NORMAL;
        CREATE TABLE IF NOT EXISTS runs (run_id INTEGER PRIMARY KEY, started_utc TEXT NOT NULL, architecture TEXT NOT NULL,
            classes TEXT NOT NULL, training_set TEXT NOT NULL, validation_set TEXT, epochs INTEGER NOT NULL, batch_size INTEGER NOT NULL,
            optimizer TEXT NOT NULL, learning_rate REAL NOT NULL, seed INTEGER NOT NULL, parameters INTEGER NOT NULL, machine TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS batches (run_id INTEGER NOT NULL REFERENCES runs(run_id), epoch INTEGER NOT NULL, batch INTEGER NOT NULL,
            seconds REAL NOT NULL, loss REAL NOT NULL, accuracy REAL NOT NULL, learning_rate REAL NOT NULL, batch_size INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS validations (run_id INTEGER NOT NULL REFERENCES runs(run_id), epoch INTEGER NOT NULL, seconds REAL NOT NULL,
            loss REAL NOT NULL, accuracy REAL NOT NULL, images INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS confusion (run_id INTEGER NOT NULL REFERENCES runs(run_id), actual TEXT NOT NULL, predicted TEXT NOT NULL,
            count INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS batches_by_run ON batches(run_id, epoch, batch);
        """;

    /// <summary>Batches are written this many rows per INSERT: one statement per row costs more than the MLP's batch.</summary>
    const int RowsPerInsert = 64;
    readonly string _path;
    readonly SqliteConnection _connection;
    readonly SqliteCommand _insertBatch;
    readonly SqliteParameter[] _values;
    readonly List<(BatchProgress Batch, double Seconds)> _pending = new(RowsPerInsert);
    readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    SqliteTransaction? _transaction;

    /// <exception cref="IOException">The file cannot be opened or written as an SQLite database.</exception>
    public TrainingLog(string path, RunDescription run)
    {
        _path = path;
        try
        {
            (_connection, RunId) = Open(path, run);
        }
        catch (SqliteException e)
        {
            throw new IOException($"{path}: cannot be used as a training log ({e.Message}).", e);
        }
        _insertBatch = _connection.CreateCommand();
        _insertBatch.CommandText = "INSERT INTO batches VALUES " +
            string.Join(", ", Enumerable.Range(0, RowsPerInsert).Select(r => $"($run, $e{r}, $b{r}, $s{r}, $l{r}, $a{r}, $r{r}, $n{r})"));
        _insertBatch.Parameters.AddWithValue("$run", RunId);
        _values = Enumerable.Range(0, RowsPerInsert).SelectMany(r => new[]
        {
            _insertBatch.Parameters.Add($"$e{r}", SqliteType.Integer), _insertBatch.Parameters.Add($"$b{r}", SqliteType.Integer),
            _insertBatch.Parameters.Add($"$s{r}", SqliteType.Real), _insertBatch.Parameters.Add($"$l{r}", SqliteType.Real),
            _insertBatch.Parameters.Add($"$a{r}", SqliteType.Real), _insertBatch.Parameters.Add($"$r{r}", SqliteType.Real),
            _insertBatch.Parameters.Add($"$n{r}", SqliteType.Integer),
        }).ToArray();
    }

    static (SqliteConnection Connection, long RunId) Open(string path, RunDescription run)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        connection.Open();
        using (var schema = connection.CreateCommand())
        {
            schema.CommandText = Schema;
            schema.ExecuteNonQuery();
        }
        using (var insert = connection.CreateCommand())
        {
            insert.CommandText = """
                INSERT INTO runs (started_utc, architecture, classes, training_set, validation_set, epochs, batch_size, optimizer, learning_rate, seed, parameters, machine)
                VALUES ($started, $architecture, $classes, $training, $validation, $epochs, $batchSize, $optimizer, $rate, $seed, $parameters, $machine);
                SELECT last_insert_rowid();
                """;
            insert.Parameters.AddWithValue("$started", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            insert.Parameters.AddWithValue("$architecture", run.Architecture);
            insert.Parameters.AddWithValue("$classes", string.Join(" ", run.ClassNames));
            insert.Parameters.AddWithValue("$training", run.TrainingSet);
            insert.Parameters.AddWithValue("$validation", (object?)run.ValidationSet ?? DBNull.Value);
            insert.Parameters.AddWithValue("$epochs", run.Epochs);
            insert.Parameters.AddWithValue("$batchSize", run.BatchSize);
            insert.Parameters.AddWithValue("$optimizer", run.Optimizer);
            insert.Parameters.AddWithValue("$rate", run.LearningRate);
            insert.Parameters.AddWithValue("$seed", run.Seed);
            insert.Parameters.AddWithValue("$parameters", run.Parameters);
            insert.Parameters.AddWithValue("$machine", Environment.MachineName);
            return (connection, (long)insert.ExecuteScalar()!);
        }
    }

    /// <summary>The id of this run in the runs table.</summary>
    public long RunId { get; }

    /// <exception cref="TrainingLogException">The log cannot be written (a full disk): what was committed before is kept.</exception>
    public void LogBatch(BatchProgress batch)
    {
        _pending.Add((batch, _clock.Elapsed.TotalSeconds));
        if (_pending.Count == RowsPerInsert) Writing(WritePending);
    }

    /// <summary>Runs a write; SQLite's failure (full disk, read-only file) becomes the log's own error, and the transaction it spoils is dropped.</summary>
    void Writing(Action write)
    {
        try { write(); }
        catch (SqliteException e)
        {
            // SQLite may have rolled it back itself, and then a rollback, even the one in Dispose, fails.
            try { _transaction?.Rollback(); } catch (SqliteException) { }
            try { _transaction?.Dispose(); } catch (SqliteException) { }
            _transaction = null;
            _pending.Clear();
            throw new TrainingLogException(TrainingLogErrorIds.WriteFailed, _path,
                $"the training log cannot be written ({e.Message}); what it held before is unchanged.", e);
        }
    }

    /// <summary>Writes the buffered batch rows: full groups in one statement, a last partial group row by row.</summary>
    void WritePending()
    {
        if (_pending.Count == 0) return;
        if (_transaction is null)
        {
            _transaction = _connection.BeginTransaction();
            _insertBatch.Transaction = _transaction;
        }
        if (_pending.Count == RowsPerInsert)
        {
            for (int r = 0; r < RowsPerInsert; r++) Fill(_values.AsSpan(r * 7, 7), _pending[r]);
            _insertBatch.ExecuteNonQuery();
        }
        else
        {
            using var single = _connection.CreateCommand();
            single.Transaction = _transaction;
            single.CommandText = "INSERT INTO batches VALUES ($run, $e, $b, $s, $l, $a, $r, $n)";
            single.Parameters.AddWithValue("$run", RunId);
            var values = new[] { ("$e", SqliteType.Integer), ("$b", SqliteType.Integer), ("$s", SqliteType.Real), ("$l", SqliteType.Real),
                ("$a", SqliteType.Real), ("$r", SqliteType.Real), ("$n", SqliteType.Integer) }.Select(p => single.Parameters.Add(p.Item1, p.Item2)).ToArray();
            foreach (var row in _pending)
            {
                Fill(values, row);
                single.ExecuteNonQuery();
            }
        }
        _pending.Clear();
    }

    static void Fill(Span<SqliteParameter> values, (BatchProgress Batch, double Seconds) row)
    {
        values[0].Value = row.Batch.Epoch;
        values[1].Value = row.Batch.Batch;
        values[2].Value = row.Seconds;
        values[3].Value = row.Batch.BatchLoss;
        values[4].Value = row.Batch.BatchAccuracy;
        values[5].Value = row.Batch.LearningRate;
        values[6].Value = row.Batch.BatchSize;
    }

    /// <summary>Commits the epoch's batches and records its validation pass, if any.</summary>
    /// <exception cref="TrainingLogException">The log cannot be written.</exception>
    public void LogEpoch(EpochResult epoch) => Writing(() => WriteEpoch(epoch));

    void WriteEpoch(EpochResult epoch)
    {
        Commit();
        if (epoch.Validation is not { } validation) return;
        using var insert = _connection.CreateCommand();
        insert.CommandText = "INSERT INTO validations VALUES ($run, $epoch, $seconds, $loss, $accuracy, $images)";
        insert.Parameters.AddWithValue("$run", RunId);
        insert.Parameters.AddWithValue("$epoch", epoch.Epoch);
        insert.Parameters.AddWithValue("$seconds", _clock.Elapsed.TotalSeconds);
        insert.Parameters.AddWithValue("$loss", validation.MeanLoss);
        insert.Parameters.AddWithValue("$accuracy", validation.Accuracy);
        insert.Parameters.AddWithValue("$images", validation.Count);
        insert.ExecuteNonQuery();
    }

    /// <summary>Records a confusion matrix (the last validation's) for the run.</summary>
    /// <exception cref="TrainingLogException">The log cannot be written.</exception>
    public void LogConfusion(ConfusionMatrix matrix) => Writing(() => WriteConfusion(matrix));

    void WriteConfusion(ConfusionMatrix matrix)
    {
        Commit();
        using var transaction = _connection.BeginTransaction();
        using var insert = _connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO confusion VALUES ($run, $actual, $predicted, $count)";
        insert.Parameters.AddWithValue("$run", RunId);
        var actual = insert.Parameters.Add("$actual", SqliteType.Text);
        var predicted = insert.Parameters.Add("$predicted", SqliteType.Text);
        var count = insert.Parameters.Add("$count", SqliteType.Integer);
        for (int a = 0; a < matrix.ClassNames.Count; a++)
            for (int p = 0; p < matrix.ClassNames.Count; p++)
            {
                actual.Value = matrix.ClassNames[a];
                predicted.Value = matrix.ClassNames[p];
                count.Value = matrix[a, p];
                insert.ExecuteNonQuery();
            }
        transaction.Commit();
    }

    void Commit()
    {
        WritePending();
        _transaction?.Commit();
        _transaction?.Dispose();
        _transaction = null;
    }

    /// <summary>Commits what was logged (a stopped run keeps its batches) and closes the file.</summary>
    public void Dispose()
    {
        // A failure here is of a disk that already failed a write being reported, or loses a
        // stopped run's last rows; closing must not replace the error in flight.
        try { Commit(); }
        catch (SqliteException) { }
        _insertBatch.Dispose();
        try { _connection.Dispose(); }   // not pooled: the file is released when training ends
        catch (SqliteException) { }      // closing checkpoints the WAL, which a full disk refuses; the WAL keeps the rows
    }
}

/// <summary>Reads a training log back: for scripts that chart runs without an SQLite tool.</summary>
public static class TrainingLogReader
{
    public static IReadOnlyList<LoggedRun> Runs(string path) => Query(path, "SELECT run_id, started_utc, architecture, training_set, validation_set, epochs, batch_size, optimizer, learning_rate FROM runs ORDER BY run_id", null,
        r => new LoggedRun(r.GetInt64(0), DateTime.Parse(r.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind), r.GetString(2), r.GetString(3),
            r.IsDBNull(4) ? null : r.GetString(4), r.GetInt32(5), r.GetInt32(6), r.GetString(7), r.GetDouble(8)));

    public static IReadOnlyList<LoggedBatch> Batches(string path, long? runId) => Query(path,
        "SELECT run_id, epoch, batch, seconds, loss, accuracy, learning_rate, batch_size FROM batches WHERE $run IS NULL OR run_id = $run ORDER BY run_id, epoch, batch", runId,
        r => new LoggedBatch(r.GetInt64(0), r.GetInt32(1), r.GetInt32(2), r.GetDouble(3), r.GetDouble(4), r.GetDouble(5), r.GetDouble(6), r.GetInt32(7)));

    public static IReadOnlyList<LoggedValidation> Validations(string path, long? runId) => Query(path,
        "SELECT run_id, epoch, seconds, loss, accuracy, images FROM validations WHERE $run IS NULL OR run_id = $run ORDER BY run_id, epoch", runId,
        r => new LoggedValidation(r.GetInt64(0), r.GetInt32(1), r.GetDouble(2), r.GetDouble(3), r.GetDouble(4), r.GetInt32(5)));

    public static IReadOnlyList<LoggedConfusion> Confusion(string path, long? runId) => Query(path,
        "SELECT run_id, actual, predicted, count FROM confusion WHERE $run IS NULL OR run_id = $run ORDER BY run_id, rowid", runId,
        r => new LoggedConfusion(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt32(3)));

    /// <exception cref="TrainingLogException">The file is not a readable training log.</exception>
    static List<T> Query<T>(string path, string sql, long? runId, Func<SqliteDataReader, T> read)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such training log.", path);
        try { return Read(path, sql, runId, read); }
        // A damaged file fails in SQLite, or hands back a cell that is NULL, of another type or out of range.
        catch (Exception e) when (e is SqliteException or InvalidOperationException or InvalidCastException or FormatException or OverflowException)
        {
            throw new TrainingLogException(TrainingLogErrorIds.Unreadable, path, $"not a readable HelloDl training log ({e.Message}).", e);
        }
    }

    static List<T> Read<T>(string path, string sql, long? runId, Func<SqliteDataReader, T> read)
    {
        var builder = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false };
        using var connection = new SqliteConnection(builder.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$run", (object?)runId ?? DBNull.Value);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read()) rows.Add(read(reader));
        return rows;
    }
}

/// <summary>A training log that cannot be read; its id is one of <see cref="TrainingLogErrorIds"/>.</summary>
public sealed class TrainingLogException(string errorId, string path, string problem, Exception? inner = null)
    : FileProblemException(errorId, path, problem, inner);

public static class TrainingLogErrorIds
{
    /// <summary>Not an SQLite database, damaged, or not laid out as a HelloDl log.</summary>
    public const string Unreadable = "TrainingLogUnreadable";
    /// <summary>A write failed (full disk, read-only file); the log keeps what was committed before.</summary>
    public const string WriteFailed = "TrainingLogWriteFailed";
}

public sealed record LoggedRun(long RunId, DateTime StartedUtc, string Architecture, string TrainingSet, string? ValidationSet, int Epochs, int BatchSize, string Optimizer, double LearningRate);
public sealed record LoggedBatch(long RunId, int Epoch, int Batch, double Seconds, double Loss, double Accuracy, double LearningRate, int BatchSize);
public sealed record LoggedValidation(long RunId, int Epoch, double Seconds, double Loss, double Accuracy, int Images);
public sealed record LoggedConfusion(long RunId, string Actual, string Predicted, int Count);

/// <summary>What a training run is, for the runs table.</summary>
public sealed record RunDescription(string Architecture, IReadOnlyList<string> ClassNames, string TrainingSet, string? ValidationSet,
    int Epochs, int BatchSize, string Optimizer, double LearningRate, int Seed, int Parameters);
