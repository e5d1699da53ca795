using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// Hand-written writes of many rows of one table, the same SQL on SQLite and PostgreSQL, sent through EF Core's raw SQL
/// (inside the caller's transaction, seen by its interceptors and diagnostics): a multi-row <c>INSERT</c>, or one
/// <c>UPDATE</c> by key a row with several in one command. A commit's journal, execution records and instance rows
/// then cost a few statements rather than EF's change tracking and one statement each.
/// </summary>
internal static class RowStatements
{
    // Rows a PostgreSQL statement or command carries at most: far below its parameter limit (fewer on SQLite, see DatabaseSettings.RowsPerStatement).
    private const int MostRows = 500;

    /// <summary>The names of each model's tables, built once (a commit asks for them several times).</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IEntityType, TableNames> NamesCache = new();

    /// <summary>The table's and columns' names as the model maps <typeparamref name="T"/> on this provider.</summary>
    public static TableNames Names<T>(DbContext context) =>
        NamesCache.GetValue(context.Model.FindEntityType(typeof(T))!, entity =>
        {
            var sql = context.GetService<ISqlGenerationHelper>();
            var store = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
            var columns = entity.GetProperties().ToDictionary(p => p.Name, p => sql.DelimitIdentifier(p.GetColumnName(store)!), StringComparer.Ordinal);
            return new TableNames(sql.DelimitIdentifier(store.Name, store.Schema), property => columns[property]);
        });

    /// <summary>Inserts <paramref name="rows"/> with multi-row statements; <paramref name="fields"/> gives a row's values in the order of <paramref name="properties"/>.</summary>
    public static async Task InsertAsync<T>(DbContext context, IReadOnlyCollection<T> rows, IReadOnlyList<string> properties, Func<T, object?[]> fields,
        CancellationToken cancellationToken)
    {
        if (rows.Count == 0) return;
        var names = Names<T>(context);
        var head = $"INSERT INTO {names.Table} ({string.Join(", ", properties.Select(names.Column))}) VALUES ";
        if (DatabaseEngine.IsSqlite(context.Database) && context.Database.CurrentTransaction is { } transaction)
        {
            // One row a run of one prepared statement (SqlitePreparedCommand).
            await using var insert = new SqlitePreparedCommand(transaction.GetDbTransaction(), head + SqlitePreparedCommand.ValuesRow(properties.Count), properties.Count);
            foreach (var row in rows) await insert.ExecuteAsync(fields(row), cancellationToken);
            return;
        }
        foreach (var chunk in rows.Chunk(DatabaseSettings.RowsPerStatement(context.Database, properties.Count, MostRows)))
        {
            var parameters = new List<object?>(chunk.Length * properties.Count);
            var values = new List<string>(chunk.Length);
            foreach (var row in chunk)
            {
                var first = parameters.Count;
                parameters.AddRange(fields(row));
                values.Add("(" + string.Join(", ", Enumerable.Range(first, properties.Count).Select(Placeholder)) + ")");
            }
            await ExecuteAsync(context, head + string.Join(", ", values), parameters, cancellationToken);
        }
    }

    /// <summary>
    /// Updates each of <paramref name="rows"/> by its key, one <c>UPDATE</c> a row and several in a command;
    /// <paramref name="statement"/> writes a row's statement, taking its values through the function it is given (which
    /// returns their placeholders). Returns the rows the statements changed.
    /// </summary>
    public static async Task<int> UpdateAsync<T>(DbContext context, IReadOnlyCollection<T> rows, int columns, Func<T, Func<object?, string>, string> statement,
        CancellationToken cancellationToken)
    {
        if (DatabaseEngine.IsSqlite(context.Database) && context.Database.CurrentTransaction is { } transaction)
            return await UpdatePreparedAsync(transaction.GetDbTransaction(), rows, statement, cancellationToken);
        var changed = 0;
        foreach (var chunk in rows.Chunk(DatabaseSettings.RowsPerStatement(context.Database, columns, MostRows)))
        {
            var parameters = new List<object?>(chunk.Length * columns);
            var sql = string.Join(";\n", chunk.Select(row => statement(row, value =>
            {
                parameters.Add(value);
                return Placeholder(parameters.Count - 1);
            })));
            changed += await ExecuteAsync(context, sql, parameters, cancellationToken);
        }
        return changed;
    }

    /// <summary>
    /// SQLite: each row's <c>UPDATE</c> alone, on a command prepared once per distinct statement and run again with the
    /// next row's values (<see cref="SqlitePreparedCommand"/>). In a group commit of a hundred instances, many
    /// <c>UPDATE</c>s packed in one command spent about a third of the write turn in preparing and binding.
    /// </summary>
    private static async Task<int> UpdatePreparedAsync<T>(System.Data.Common.DbTransaction transaction, IReadOnlyCollection<T> rows,
        Func<T, Func<object?, string>, string> statement, CancellationToken cancellationToken)
    {
        var commands = new Dictionary<string, SqlitePreparedCommand>(StringComparer.Ordinal);
        var values = new List<object?>();
        var changed = 0;
        try
        {
            foreach (var row in rows)
            {
                values.Clear();
                var sql = statement(row, value =>
                {
                    values.Add(value);
                    return SqlitePreparedCommand.Placeholder(values.Count - 1);
                });
                if (!commands.TryGetValue(sql, out var command)) commands[sql] = command = new SqlitePreparedCommand(transaction, sql, values.Count);
                changed += await command.ExecuteAsync(values, cancellationToken);
            }
        }
        finally
        {
            foreach (var command in commands.Values) await command.DisposeAsync();
        }
        return changed;
    }

    private static string Placeholder(int index) => "{" + index + "}";

    // Only identifiers from the model and {n} placeholders are concatenated; every value is a parameter.
#pragma warning disable EF1002, EF1003
    private static Task<int> ExecuteAsync(DbContext context, string sql, List<object?> parameters, CancellationToken cancellationToken) =>
        context.Database.ExecuteSqlRawAsync(sql, parameters!, cancellationToken);
#pragma warning restore EF1002, EF1003
}

/// <summary>A table's delimited name and its columns' by property.</summary>
internal sealed record TableNames(string Table, Func<string, string> Column);
