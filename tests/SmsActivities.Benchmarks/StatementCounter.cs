using Microsoft.Extensions.Logging;

namespace SmsActivities.Benchmarks;

/// <summary>
/// Counts the SQL statements EF Core executes and the transactions it commits (from its command and transaction logs),
/// by database: what an operation costs in round trips and durable writes, a figure the machine's load cannot blur.
/// The plug-in's tables are named <c>sms_*</c>; every other statement is the runtime's.
/// </summary>
internal sealed class StatementCounter : ILoggerProvider
{
    private const int CommandExecuted = 20101;
    private const int TransactionCommitted = 20202;
    private long _smsStatements, _smsWrites, _runtimeStatements, _runtimeWrites, _commits;

    public sealed record Counts(long SmsStatements, long SmsWrites, long RuntimeStatements, long RuntimeWrites, long Commits)
    {
        public Counts Minus(Counts before) => new(SmsStatements - before.SmsStatements, SmsWrites - before.SmsWrites,
            RuntimeStatements - before.RuntimeStatements, RuntimeWrites - before.RuntimeWrites, Commits - before.Commits);

        public string Per(int operations) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{(double)(SmsStatements + RuntimeStatements) / operations:F1} statements, of them writes: plug-in {(double)SmsWrites / operations:F1}, runtime {(double)RuntimeWrites / operations:F1}; {(double)Commits / operations:F1} commits");
    }

    public Counts Now => new(Interlocked.Read(ref _smsStatements), Interlocked.Read(ref _smsWrites), Interlocked.Read(ref _runtimeStatements),
        Interlocked.Read(ref _runtimeWrites), Interlocked.Read(ref _commits));

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private void Count(EventId id, string message)
    {
        if (id.Id == TransactionCommitted)
        {
            Interlocked.Increment(ref _commits);
            return;
        }
        if (id.Id != CommandExecuted) return;
        var sql = message[(message.IndexOf('\n', StringComparison.Ordinal) + 1)..].TrimStart();
        var write = sql.StartsWith("INSERT", StringComparison.OrdinalIgnoreCase) || sql.StartsWith("UPDATE", StringComparison.OrdinalIgnoreCase)
                    || sql.StartsWith("DELETE", StringComparison.OrdinalIgnoreCase);
        if (sql.Contains("sms_", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _smsStatements);
            if (write) Interlocked.Increment(ref _smsWrites);
        }
        else
        {
            Interlocked.Increment(ref _runtimeStatements);
            if (write) Interlocked.Increment(ref _runtimeWrites);
        }
    }

    private sealed class Logger(StatementCounter counter) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            counter.Count(eventId, eventId.Id is CommandExecuted ? formatter(state, exception) : "");
    }
}
