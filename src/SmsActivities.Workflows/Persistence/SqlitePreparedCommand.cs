using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// SQLite: one statement run again for each row with that row's values (<c>$p0</c>, <c>$p1</c>, … in the SQL), inside
/// the caller's transaction. The way SQLite itself advises writing many rows: Microsoft.Data.Sqlite prepares every
/// statement of a command again each time the command runs, and binds each statement by looking up every parameter of
/// the whole command by name, so many rows in one multi-statement (or one long multi-row) command cost more in
/// preparing and binding than the command saves; EF Core's raw SQL adds its own work per command on top.
/// <para>
/// The statement is also kept prepared from one transaction to the next (<see cref="PreparedStatements"/>): the
/// driver disposes a command's statements whenever a pooled connection is closed, which each short unit of work does,
/// and preparing a wide statement (an insights upsert of 17 columns, an instance row) cost SQLite more than running
/// it. Values are bound as Microsoft.Data.Sqlite binds them (<see cref="SqliteValues"/>).
/// </para>
/// </summary>
public sealed class SqlitePreparedCommand : IAsyncDisposable
{
    private readonly sqlite3 _db;
    private readonly PreparedStatements.Statement _statement;
    private bool _disposed;

    /// <summary>A statement run inside <paramref name="transaction"/>.</summary>
    public SqlitePreparedCommand(DbTransaction transaction, string sql, int parameters)
        : this(transaction?.Connection ?? throw new ArgumentException("A SQLite transaction on an open connection is needed.", nameof(transaction)), sql, parameters)
    {
    }

    /// <summary>A statement run on the open <paramref name="connection"/>, in whatever transaction it is (a read outside any).</summary>
    public SqlitePreparedCommand(DbConnection connection, string sql, int parameters)
    {
        var sqlite = connection as SqliteConnection ?? throw new ArgumentException("A SQLite connection is needed.", nameof(connection));
        _db = sqlite.Handle ?? throw new InvalidOperationException("The SQLite connection is not open.");
        _statement = PreparedStatements.Rent(_db, sql, parameters);
    }

    /// <summary>The name of the row's <paramref name="index"/>th value in the SQL.</summary>
    public static string Placeholder(int index) => "$p" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>One row's values in an <c>INSERT</c>: <c>($p0, $p1, …)</c> for <paramref name="count"/> columns.</summary>
    public static string ValuesRow(int count) => "(" + string.Join(", ", Enumerable.Range(0, count).Select(Placeholder)) + ")";

    /// <returns>The rows the statement changed.</returns>
    public Task<int> ExecuteAsync(IReadOnlyList<object?> values, CancellationToken cancellationToken)
    {
        Run(values, cancellationToken, row: null);
        return Task.FromResult(raw.sqlite3_changes(_db));
    }

    /// <returns>The first column of the first row the statement returned (e.g. <c>RETURNING</c>), or null when none.</returns>
    public Task<object?> ScalarAsync(IReadOnlyList<object?> values, CancellationToken cancellationToken) =>
        Task.FromResult(FirstValue(values, cancellationToken));

    /// <summary>Runs the statement and hands each row it returns to <paramref name="row"/>, in order.</summary>
    public Task ReadAsync(IReadOnlyList<object?> values, Action<SqliteRow> row, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(row);
        Run(values, cancellationToken, row);
        return Task.CompletedTask;
    }

    private object? FirstValue(IReadOnlyList<object?> values, CancellationToken cancellationToken)
    {
        object? first = null;
        var read = false;
        Run(values, cancellationToken, row =>
        {
            if (read) return;
            first = row.Value(0);
            read = true;
        });
        return first;
    }

    /// <summary>Binds <paramref name="values"/>, steps the statement to its end (each row to <paramref name="row"/>) and resets it.</summary>
    private void Run(IReadOnlyList<object?> values, CancellationToken cancellationToken, Action<SqliteRow>? row)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var stmt = _statement.Handle;
        if (values.Count != _statement.Parameters.Length)
            throw new ArgumentException($"{values.Count} values for a statement of {_statement.Parameters.Length} parameters.", nameof(values));
        try
        {
            for (var i = 0; i < values.Count; i++) SqliteValues.Bind(stmt, _statement.Parameters[i], values[i]);
            int rc;
            while ((rc = raw.sqlite3_step(stmt)) == raw.SQLITE_ROW) row?.Invoke(new SqliteRow(stmt));
            if (rc != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(rc, _db);
        }
        finally
        {
            // A statement left unreset would hold its read of the file until the next run.
            raw.sqlite3_reset(stmt);
            raw.sqlite3_clear_bindings(stmt);
        }
    }

    public ValueTask DisposeAsync()
    {
        // Returned once: a statement put back twice could be lent to two commands at once.
        if (!_disposed)
        {
            _disposed = true;
            PreparedStatements.Return(_db, _statement);
        }
        return ValueTask.CompletedTask;
    }
}

/// <summary>The current row of a <see cref="SqlitePreparedCommand"/>, read as Microsoft.Data.Sqlite's data reader reads its columns.</summary>
public readonly struct SqliteRow
{
    private readonly sqlite3_stmt _stmt;

    internal SqliteRow(sqlite3_stmt stmt) => _stmt = stmt;

    public bool IsNull(int column) => raw.sqlite3_column_type(_stmt, column) == raw.SQLITE_NULL;

    /// <summary>INTEGER as long, REAL as double, TEXT as string, BLOB as bytes, NULL as null.</summary>
    public object? Value(int column) => SqliteValues.Column(_stmt, column);

    public string GetString(int column) => raw.sqlite3_column_text(_stmt, column).utf8_to_string();

    public string? GetStringOrNull(int column) => IsNull(column) ? null : GetString(column);

    public long GetInt64(int column) => raw.sqlite3_column_int64(_stmt, column);

    public int GetInt32(int column) => checked((int)GetInt64(column));

    public bool GetBoolean(int column) => GetInt64(column) != 0;

    public byte[] GetBytes(int column) => raw.sqlite3_column_blob(_stmt, column).ToArray();

    /// <summary>A decimal stored as the driver stores it (TEXT), or as a number.</summary>
    public decimal GetDecimal(int column) => raw.sqlite3_column_type(_stmt, column) switch
    {
        raw.SQLITE_TEXT => decimal.Parse(GetString(column), NumberStyles.Number | NumberStyles.AllowExponent, CultureInfo.InvariantCulture),
        raw.SQLITE_INTEGER => GetInt64(column),
        _ => (decimal)raw.sqlite3_column_double(_stmt, column),
    };
}
