using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Hosting;

/// <summary>
/// Which node runs a singleton job (a pull poller, cron triggers, housekeeping) when several nodes share one
/// PostgreSQL database: the node holding the role's session advisory lock. The lock lives on a connection kept open for
/// it, so a node that dies (even <c>kill -9</c>) loses it as soon as PostgreSQL sees the connection close, and another
/// node takes the role on its next tick. On SQLite there is only one node: it always leads.
/// </summary>
public sealed class ClusterLeadership : IAsyncDisposable, IDisposable
{
    private readonly DbContextOptions<WorkflowDbContext> options;
    private readonly ILogger<ClusterLeadership> logger;

    private readonly Dictionary<string, NpgsqlConnection> _held = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _lock = new(1, 1);
    private string? _connectionString;
    private bool? _postgres;

    internal ClusterLeadership(DbContextOptions<WorkflowDbContext> options, ILogger<ClusterLeadership> logger)
    {
        this.options = options;
        this.logger = logger;
    }

    /// <summary>True when this node should run <paramref name="role"/> now; ask again before every run.</summary>
    public async Task<bool> IsLeaderAsync(string role, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(role);
        await _lock.WaitAsync(cancellationToken);
        try
        {
            // Under the lock: two roles asking at start must not see the provider known and the connection string not yet.
            if (_postgres is null)
            {
                await using var context = new WorkflowDbContext(options);
                _connectionString = context.Database.GetConnectionString();
                _postgres = DatabaseEngine.IsPostgres(context.Database);
            }
            if (_postgres is false) return true;
            if (_held.TryGetValue(role, out var held))
            {
                if (await AliveAsync(held, cancellationToken)) return true;
                logger.LogWarning("Lost the database connection holding the {Role} role; trying to take it again.", role);
                _held.Remove(role);
                await held.DisposeAsync();
            }
            var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_connectionString) { Pooling = false }.ConnectionString);
            try
            {
                await connection.OpenAsync(cancellationToken);
                await using var take = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtext('smsactivities:' || @role))", connection);
                take.Parameters.AddWithValue("role", role);
                if (await take.ExecuteScalarAsync(cancellationToken) is true)
                {
                    _held[role] = connection;
                    logger.LogInformation("This node now runs the {Role} role for the cluster.", role);
                    return true;
                }
            }
            catch (NpgsqlException e)
            {
                logger.LogWarning("Could not ask for the {Role} role: {Error}", role, e.Message);
            }
            await connection.DisposeAsync();
            return false;
        }
        finally
        {
            _lock.Release();
        }
    }

    private static async Task<bool> AliveAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            await using var ping = new NpgsqlCommand("SELECT 1", connection);
            await ping.ExecuteScalarAsync(cancellationToken);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _held.Values) await connection.DisposeAsync();
        _held.Clear();
    }

    /// <summary>Closing the connections gives the roles back at once (a host disposed synchronously).</summary>
    public void Dispose()
    {
        foreach (var connection in _held.Values) connection.Dispose();
        _held.Clear();
    }
}
