using System.Data.Common;
using System.Globalization;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// SQLite: one statement, prepared once inside the caller's transaction and run again for each row with that row's
/// values (<c>$p0</c>, <c>$p1</c>, … in the SQL). The way SQLite itself advises writing many rows: Microsoft.Data.Sqlite
/// prepares every statement of a command again each time the command runs, and binds each statement by looking up
/// every parameter of the whole command by name, so many rows in one multi-statement (or one long multi-row) command
/// cost more in preparing and binding than the command saves; EF Core's raw SQL adds its own work per command on top.
/// </summary>
public sealed class SqlitePreparedCommand : IAsyncDisposable
{
    private readonly DbCommand _command;
    private bool _prepared;

    public SqlitePreparedCommand(DbTransaction transaction, string sql, int parameters)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        _command = transaction.Connection!.CreateCommand();
        _command.Transaction = transaction;
        _command.CommandText = sql;
        for (var i = 0; i < parameters; i++)
        {
            var parameter = _command.CreateParameter();
            parameter.ParameterName = Placeholder(i);
            _command.Parameters.Add(parameter);
        }
    }

    /// <summary>The name of the row's <paramref name="index"/>th value in the SQL.</summary>
    public static string Placeholder(int index) => "$p" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>One row's values in an <c>INSERT</c>: <c>($p0, $p1, …)</c> for <paramref name="count"/> columns.</summary>
    public static string ValuesRow(int count) => "(" + string.Join(", ", Enumerable.Range(0, count).Select(Placeholder)) + ")";

    /// <returns>The rows the statement changed.</returns>
    public async Task<int> ExecuteAsync(IReadOnlyList<object?> values, CancellationToken cancellationToken)
    {
        await BindAsync(values, cancellationToken);
        return await _command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <returns>The first column of the first row the statement returned (e.g. <c>RETURNING</c>), or null when none.</returns>
    public async Task<object?> ScalarAsync(IReadOnlyList<object?> values, CancellationToken cancellationToken)
    {
        await BindAsync(values, cancellationToken);
        var value = await _command.ExecuteScalarAsync(cancellationToken);
        return value is DBNull ? null : value;
    }

    private async Task BindAsync(IReadOnlyList<object?> values, CancellationToken cancellationToken)
    {
        if (values.Count != _command.Parameters.Count)
            throw new ArgumentException($"{values.Count} values for a statement of {_command.Parameters.Count} parameters.", nameof(values));
        for (var i = 0; i < values.Count; i++) _command.Parameters[i].Value = values[i] ?? DBNull.Value;
        if (_prepared) return;
        await _command.PrepareAsync(cancellationToken);
        _prepared = true;
    }

    public ValueTask DisposeAsync() => _command.DisposeAsync();
}
