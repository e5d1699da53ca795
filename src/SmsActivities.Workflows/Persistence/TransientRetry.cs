using Npgsql;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// Re-runs a database transaction that PostgreSQL aborted for a serialization failure or a deadlock: under
/// SERIALIZABLE two nodes (or two runs of one node) touching neighbouring rows abort one of them, and the aborted one
/// is correct to simply run again. SQLite serializes writers and never reports these. Public for plug-ins that write
/// their own tables in the same database.
/// </summary>
public static class TransientRetry
{
    private const int Attempts = 10;

    public static async Task<T> RunAsync<T>(Func<int, Task<T>> transaction, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await transaction(attempt);
            }
            catch (Exception e) when (attempt < Attempts && IsRetryable(e))
            {
                // Jittered backoff, so the two that collided do not collide again.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 10 << Math.Min(attempt, 5))), cancellationToken);
            }
        }
    }

    public static Task RunAsync(Func<Task> transaction, CancellationToken cancellationToken) =>
        RunAsync(async _ =>
        {
            await transaction();
            return true;
        }, cancellationToken);

    /// <summary>40001 serialization_failure, 40P01 deadlock_detected, anywhere in the exception chain.</summary>
    public static bool IsRetryable(Exception exception)
    {
        for (var e = exception; e != null; e = e.InnerException)
            if (e is PostgresException { SqlState: PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected }) return true;
        return false;
    }
}
