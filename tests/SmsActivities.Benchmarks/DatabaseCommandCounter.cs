using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using SQLitePCL;

namespace SmsActivities.Benchmarks;

/// <summary>
/// Counts what the databases of this process are sent, per DbContext type: statements by kind, transactions (explicit
/// ones and the implicit one of each write outside them) and the bytes of text parameters. It listens to EF's
/// diagnostic events, so the code measured is not changed; counts, unlike timings, mean the same on a loaded machine.
/// On SQLite the statements are counted by SQLite itself (its profile hook on each connection a context opens), so
/// commands sent on a context's connection outside EF (e.g. the plug-in's <c>SqlBatch</c>) count too; their text
/// parameters do not (only EF's commands show theirs). Elsewhere only EF's commands are seen.
/// </summary>
internal sealed class DatabaseCommandCounter : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>, IDisposable
{
    private readonly ConcurrentDictionary<string, Counts> _byContext = new(StringComparer.Ordinal);
    private readonly List<IDisposable> _subscriptions = [];
    private readonly IDisposable _all;

    private static readonly AsyncLocal<bool> Ignoring = new();

    public DatabaseCommandCounter() => _all = DiagnosticListener.AllListeners.Subscribe(this);

    /// <summary>What was counted since the last call, per context type name; counting starts again from zero.</summary>
    public IReadOnlyDictionary<string, Counts> Take()
    {
        var taken = new Dictionary<string, Counts>(StringComparer.Ordinal);
        foreach (var key in _byContext.Keys)
            if (_byContext.TryRemove(key, out var counts)) taken[key] = counts;
        return taken;
    }

    public void OnNext(DiagnosticListener value)
    {
        // Enabled only while counting: EF builds its event data only for a listener that asks for it.
        if (value.Name == DbLoggerCategory.Name)
            lock (_subscriptions) _subscriptions.Add(value.Subscribe(this, (_, _, _) => !_paused));
    }

    private volatile bool _paused;

    /// <summary>
    /// Stops counting: counting costs the code measured (EF's event data, the statement text of each SQLite statement),
    /// so timed passes run paused and the counts come from a pass of their own. The profile hooks stay on the connections
    /// (taking one off while another thread runs a statement on it crashes the driver's bridge); paused, they return at once.
    /// </summary>
    public async Task PauseAsync()
    {
        _paused = true;
        await Task.Delay(EfLoggingCacheTime);
    }

    /// <summary>Counts again, on the hooks already on the connections and on those of connections opened from now on.</summary>
    public async Task ResumeAsync()
    {
        _paused = false;
        await Task.Delay(EfLoggingCacheTime);
    }

    // EF caches whether anyone listens to its command events for a while (ConfigureLoggingCacheTime, 1 s by default):
    // counting starts or stops only once that has run out.
    private static readonly TimeSpan EfLoggingCacheTime = TimeSpan.FromSeconds(1.2);

    /// <summary>The benchmark's own queries (e.g. polling for completion) in the flow that called this are not counted.</summary>
    public static void IgnoreThisFlow() => Ignoring.Value = true;

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (Ignoring.Value || _paused) return;
        if (value.Key == RelationalEventId.CommandExecuted.Name && value.Value is CommandExecutedEventData executed)
        {
            if (executed.Command.Connection is SqliteConnection) CountsOf(executed.Context).Parameters(executed.Command);
            else CountsOf(executed.Context).Command(executed.Command);
        }
        else if (value.Key == RelationalEventId.ConnectionOpened.Name && value.Value is ConnectionEndEventData { Connection: SqliteConnection { Handle: { } handle } } opened)
            Hook(handle).Context = opened.Context?.GetType().Name ?? "?";
        else if (value.Key == RelationalEventId.TransactionCommitted.Name && value.Value is TransactionEndEventData committed)
            CountsOf(committed.Context).Transaction();
    }

    private Counts CountsOf(DbContext? context) => CountsOf(context?.GetType().Name ?? "?");

    private Counts CountsOf(string context) => _byContext.GetOrAdd(context, _ => new Counts());

    /// <summary>
    /// SQLite's profile hook on a connection (pooled, so met again by other contexts): called as each statement it runs
    /// finishes, with the statement's text, whoever sent it. The context is the one that opened the connection last.
    /// </summary>
    private SqliteStatements Hook(sqlite3 handle)
    {
        lock (_hooked)
        {
            if (_hooked.TryGetValue(handle, out var hooked)) return hooked;
            var statements = new SqliteStatements(handle);
            // The statement's text as SQLite's UTF-8, made a string only while counting.
            raw.sqlite3_profile(handle, (delegate_profile)((state, sql, _) => Statement((SqliteStatements)state, sql)), statements);
            _hooked.Add(handle, statements);
            return statements;
        }
    }

    private readonly ConditionalWeakTable<sqlite3, SqliteStatements> _hooked = new();
    private volatile bool _disposed;

    private void Statement(SqliteStatements connection, utf8z text)
    {
        if (_disposed || _paused || Ignoring.Value || connection.Context is not { } context) return;
        var sql = text.utf8_to_string();
        // The driver's own BEGIN/COMMIT are transactions, counted as EF reports them, not statements.
        if (sql.StartsWith("BEGIN", StringComparison.OrdinalIgnoreCase) || sql.StartsWith("COMMIT", StringComparison.OrdinalIgnoreCase)
            || sql.StartsWith("ROLLBACK", StringComparison.OrdinalIgnoreCase) || sql.StartsWith("SAVEPOINT", StringComparison.OrdinalIgnoreCase)
            || sql.StartsWith("RELEASE", StringComparison.OrdinalIgnoreCase)) return;
        CountsOf(context).Statement(sql, inTransaction: raw.sqlite3_get_autocommit(connection.Handle) == 0);
    }

    private sealed class SqliteStatements(sqlite3 handle)
    {
        public sqlite3 Handle { get; } = handle;
        public volatile string? Context;
    }

    public void OnCompleted() { }

    public void OnError(Exception error) { }

    public void Dispose()
    {
        _disposed = true;
        _all.Dispose();
        lock (_subscriptions)
            foreach (var s in _subscriptions) s.Dispose();
    }

    /// <summary>One context type's counts.</summary>
    internal sealed class Counts
    {
        // Statements by kind: SELECT, INSERT, UPDATE, DELETE, other.
        private readonly long[] _kinds = new long[5];
        private long _transactions, _parameterBytes;

        public long Statements => Selects + Inserts + Updates + Deletes + Other;
        public long Selects => Interlocked.Read(ref _kinds[0]);
        public long Inserts => Interlocked.Read(ref _kinds[1]);
        public long Updates => Interlocked.Read(ref _kinds[2]);
        public long Deletes => Interlocked.Read(ref _kinds[3]);
        public long Other => Interlocked.Read(ref _kinds[4]);
        /// <summary>Committed transactions: explicit ones, plus one for each write sent outside any (autocommit).</summary>
        public long Transactions => Interlocked.Read(ref _transactions);
        /// <summary>Characters of the text parameters sent (JSON of states, records, payloads), an upper bound of what was serialised.</summary>
        public long ParameterBytes => Interlocked.Read(ref _parameterBytes);

        public void Command(DbCommand command)
        {
            Statement(command.CommandText, command.Transaction is not null);
            Parameters(command);
        }

        /// <summary>One or more statements (EF batches several into one command: each counts).</summary>
        public void Statement(string sql, bool inTransaction)
        {
            foreach (var statement in sql.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var text = statement.TrimStart();
                var verb = text.Length >= 6 ? text[..6].ToUpperInvariant() : text.ToUpperInvariant();
                var kind = verb switch
                {
                    "SELECT" or "WITH S" => 0,
                    "INSERT" => 1,
                    "UPDATE" => 2,
                    "DELETE" => 3,
                    _ => 4,
                };
                Interlocked.Increment(ref _kinds[kind]);
                if (Texts is { } texts) texts.AddOrUpdate(text.Length > 110 ? text[..110] : text, 1, (_, n) => n + 1);
            }
            var writes = sql.Contains("INSERT", StringComparison.OrdinalIgnoreCase) || sql.Contains("UPDATE", StringComparison.OrdinalIgnoreCase)
                || sql.Contains("DELETE", StringComparison.OrdinalIgnoreCase);
            if (writes && !inTransaction) Interlocked.Increment(ref _transactions);
        }

        public void Parameters(DbCommand command)
        {
            long bytes = 0;
            foreach (DbParameter p in command.Parameters)
                if (p.Value is string s) bytes += s.Length;
            Interlocked.Add(ref _parameterBytes, bytes);
        }

        /// <summary>Each statement's opening with how often it ran, kept when <c>SMS_BENCH_SQL=1</c> (to see which statements the counts are).</summary>
        public ConcurrentDictionary<string, long>? Texts { get; } = Environment.GetEnvironmentVariable("SMS_BENCH_SQL") == "1" ? new(StringComparer.Ordinal) : null;

        public void Transaction() => Interlocked.Increment(ref _transactions);

        public string Describe(double per) => Describe(per, Texts);

        private string Describe(double per, ConcurrentDictionary<string, long>? texts) =>
            (texts is null ? "" : string.Concat(texts.OrderByDescending(t => t.Value).Take(25).Select(t => $"{Environment.NewLine}    {t.Value / per,8:F3}  {t.Key.ReplaceLineEndings(" ")}")) + Environment.NewLine + "  ") +
            $"{Statements / per:F2} statements ({Selects / per:F2} SELECT, {Inserts / per:F2} INSERT, {Updates / per:F2} UPDATE, {Deletes / per:F2} DELETE, {Other / per:F2} other), "
            + $"{Transactions / per:F2} transactions, {ParameterBytes / per / 1e3:F2} KB of text parameters";
    }
}
