using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SmsActivities.Server.Hosting;

/// <summary>Healthy when the server's SQLite database answers a trivial query.</summary>
public sealed class SqliteHealthCheck(DataStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = new SqliteConnection(store.ConnectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = "select 1";
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy("SQLite reachable");
        }
        catch (SqliteException e)
        {
            return HealthCheckResult.Unhealthy("SQLite unreachable", e);
        }
    }
}

/// <summary>Where local state lives: the data folder and the SQLite connection string.</summary>
public sealed class DataStore
{
    public DataStore(string dataDirectory, string? configuredConnectionString)
    {
        DataDirectory = Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(DataDirectory);
        ConnectionString = string.IsNullOrWhiteSpace(configuredConnectionString)
            ? new SqliteConnectionStringBuilder { DataSource = Path.Combine(DataDirectory, "smsactivities.db") }.ToString()
            : configuredConnectionString;
    }

    public string DataDirectory { get; }

    public string ConnectionString { get; }
}
