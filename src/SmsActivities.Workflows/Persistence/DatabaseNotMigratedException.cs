namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// Start-up found migrations missing while <c>Database:MigrateOnStart</c> is false: a setting for the operator to act on,
/// not a fault, so a host can print the message (which says what to run) and exit instead of crashing.
/// </summary>
public sealed class DatabaseNotMigratedException(string message) : InvalidOperationException(message);
