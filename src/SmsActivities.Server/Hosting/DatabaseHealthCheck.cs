using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Server.Hosting;

/// <summary>Healthy when the server's database (SQLite or PostgreSQL) answers a trivial query.</summary>
public sealed class DatabaseHealthCheck(DataStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var provider = store.Database.Provider;
        try
        {
            await using DbConnection connection = provider == DatabaseProvider.PostgreSql
                ? new NpgsqlConnection(store.Database.ConnectionString)
                : new SqliteConnection(store.Database.ConnectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = "select 1";
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"{provider} reachable");
        }
        catch (DbException e)
        {
            return HealthCheckResult.Unhealthy($"{provider} unreachable", e);
        }
    }
}

/// <summary>Where local state lives: the data folder, and the database the runtime and the plug-in use.</summary>
public sealed class DataStore
{
    public DataStore(string dataDirectory, IConfiguration configuration)
    {
        DataDirectory = Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(DataDirectory);
        Database = DatabaseSettings.FromConfiguration(configuration, Path.Combine(DataDirectory, "smsactivities.db"));
    }

    public string DataDirectory { get; }

    /// <summary><c>ConnectionStrings:Workflows</c> (SQLite <c>smsactivities.db</c> in the data folder when unset).</summary>
    public DatabaseSettings Database { get; }
}
