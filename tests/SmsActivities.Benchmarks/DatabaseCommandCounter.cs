using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace SmsActivities.Benchmarks;

/// <summary>
/// Counts what EF Core sends to the databases of this process, per DbContext type: statements by kind, transactions
/// (explicit ones and the implicit one of each write outside them) and the bytes of text parameters. It listens to
/// EF's diagnostic events, so the code measured is not changed; counts, unlike timings, mean the same on a loaded machine.
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
        if (value.Name == DbLoggerCategory.Name)
            lock (_subscriptions) _subscriptions.Add(value.Subscribe(this));
    }

    /// <summary>The benchmark's own queries (e.g. polling for completion) in the flow that called this are not counted.</summary>
    public static void IgnoreThisFlow() => Ignoring.Value = true;

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (Ignoring.Value) return;
        if (value.Key == RelationalEventId.CommandExecuted.Name && value.Value is CommandExecutedEventData executed)
            CountsOf(executed.Context).Command(executed.Command);
        else if (value.Key == RelationalEventId.TransactionCommitted.Name && value.Value is TransactionEndEventData committed)
            CountsOf(committed.Context).Transaction();
    }

    private Counts CountsOf(DbContext? context) => _byContext.GetOrAdd(context?.GetType().Name ?? "?", _ => new Counts());

    public void OnCompleted() { }

    public void OnError(Exception error) { }

    public void Dispose()
    {
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
            // EF batches several statements into one command: each counts.
            foreach (var statement in command.CommandText.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
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
            var writes = command.CommandText.Contains("INSERT", StringComparison.OrdinalIgnoreCase) || command.CommandText.Contains("UPDATE", StringComparison.OrdinalIgnoreCase)
                || command.CommandText.Contains("DELETE", StringComparison.OrdinalIgnoreCase);
            if (writes && command.Transaction is null) Interlocked.Increment(ref _transactions);
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
