using SmsActivities.Tests.Shared;

namespace SmsActivities.Benchmarks;

/// <summary>
/// The PostgreSQL the benchmark's <c>--pg-…</c> modes run on: the server given with <c>--postgres</c> (a connection
/// string without a database, e.g. <c>Host=127.0.0.1;Port=5432;Username=postgres</c>), else <c>SMS_TEST_POSTGRES</c>,
/// else a throwaway cluster started for the run as the tests do. Each run makes its own database and drops it.
/// </summary>
internal static class PostgresBench
{
    public static Task<string> CreateDatabaseAsync(string? server, string prefix)
    {
        if (server is not null) Environment.SetEnvironmentVariable(PostgresServer.Variable, server);
        return PostgresServer.CreateDatabaseAsync(prefix);
    }

    public static Task DropDatabaseAsync(string database) => PostgresServer.DropDatabaseAsync(database);

    public static string LoadAverage() => InsightsBenchmark.LoadAverage();
}
