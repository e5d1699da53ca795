using System.Runtime.CompilerServices;
using SQLitePCL;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// SQLite statements kept prepared per native connection, by SQL text, for <see cref="SqlitePreparedCommand"/>. A pooled
/// connection's native handle outlives the <c>SqliteConnection</c> objects that borrow it, so a statement prepared in one
/// unit of work is found ready by the next one on the same handle. A statement is lent to one command at a time (taken
/// out while in use, put back reset); a handle the pool closes keeps its statements until the collector finalizes them.
/// </summary>
internal static class PreparedStatements
{
    /// <summary>Statements kept idle per connection at most: the hot writes are a few dozen shapes; past that, each is finalized when returned.</summary>
    private const int MostIdle = 128;

    private const uint Persistent = 0x01; // SQLITE_PREPARE_PERSISTENT: kept long, so SQLite allocates it outside its lookaside memory.

    private static readonly ConditionalWeakTable<sqlite3, Idle> ByConnection = new();

    /// <summary>A prepared statement and the index SQLite gave each of its <c>$p0</c>, <c>$p1</c>, … placeholders.</summary>
    internal sealed record Statement(string Sql, sqlite3_stmt Handle, int[] Parameters);

    private sealed class Idle
    {
        public readonly Dictionary<string, Stack<Statement>> BySql = new(StringComparer.Ordinal);
        public int Count;
    }

    public static Statement Rent(sqlite3 db, string sql, int parameters)
    {
        var idle = ByConnection.GetValue(db, _ => new Idle());
        lock (idle)
        {
            if (idle.BySql.TryGetValue(sql, out var ready) && ready.Count > 0)
            {
                idle.Count--;
                var statement = ready.Pop();
                if (statement.Parameters.Length == parameters) return statement;
                statement.Handle.Dispose();
            }
        }
        return Prepare(db, sql, parameters);
    }

    public static void Return(sqlite3 db, Statement statement)
    {
        if (ByConnection.TryGetValue(db, out var idle))
            lock (idle)
            {
                if (idle.Count < MostIdle)
                {
                    if (!idle.BySql.TryGetValue(statement.Sql, out var ready)) idle.BySql[statement.Sql] = ready = new Stack<Statement>(1);
                    ready.Push(statement);
                    idle.Count++;
                    return;
                }
            }
        statement.Handle.Dispose();
    }

    private static Statement Prepare(sqlite3 db, string sql, int parameters)
    {
        var rc = raw.sqlite3_prepare_v3(db, sql, Persistent, out var stmt, out string tail);
        if (rc != raw.SQLITE_OK)
        {
            stmt?.Dispose();
            Microsoft.Data.Sqlite.SqliteException.ThrowExceptionForRC(rc, db);
        }
        if (stmt is null) throw new ArgumentException("The SQL holds no statement.", nameof(sql));
        if (!string.IsNullOrWhiteSpace(tail))
        {
            stmt.Dispose();
            throw new ArgumentException("One statement is expected; the SQL goes on after it: " + tail, nameof(sql));
        }
        var indexes = new int[parameters];
        for (var i = 0; i < parameters; i++)
        {
            indexes[i] = raw.sqlite3_bind_parameter_index(stmt, SqlitePreparedCommand.Placeholder(i));
            if (indexes[i] == 0)
            {
                stmt.Dispose();
                throw new ArgumentException($"The statement has no parameter {SqlitePreparedCommand.Placeholder(i)}.", nameof(sql));
            }
        }
        return new Statement(sql, stmt, indexes);
    }
}
