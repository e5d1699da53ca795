using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// Which database the runtime keeps its instances in, for a plug-in to keep its own tables there too (or to tell whether
/// they are): then its writes can join the runtime's transactions (an activity's write riding its run's commit) and,
/// on SQLite, take the runtime's write turn (<see cref="Writes"/>), the file having one lock.
/// </summary>
public sealed class RuntimeDatabase
{
    internal RuntimeDatabase(DbContextOptions runtime, SqliteWriteGate writes)
    {
        Writes = writes;
        if (runtime.Extensions.OfType<RelationalOptionsExtension>().FirstOrDefault() is not { ConnectionString: { } connectionString } relational) return;
        var postgres = relational.GetType().Assembly == typeof(Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.NpgsqlDbContextOptionsBuilder).Assembly;
        Settings = new DatabaseSettings(postgres ? DatabaseProvider.PostgreSql : DatabaseProvider.Sqlite, connectionString);
    }

    /// <summary>The runtime's database; null when it was given a connection object, not a connection string.</summary>
    public DatabaseSettings? Settings { get; }

    /// <summary>The runtime's write turn, to be taken by every writer of its SQLite file.</summary>
    public SqliteWriteGate Writes { get; }

    /// <summary>The folder of the runtime's SQLite file; null on PostgreSQL or in memory.</summary>
    public string? SqliteFolder => Settings?.SqliteFilePath is { } file ? Path.GetDirectoryName(file) : null;

    /// <summary>
    /// Whether <paramref name="other"/> is the runtime's database: the same SQLite file (by full path), or the same
    /// PostgreSQL database (host, port and name).
    /// </summary>
    public bool Holds(DatabaseSettings other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Settings is not { } mine || mine.Provider != other.Provider) return false;
        if (mine.Provider == DatabaseProvider.Sqlite)
            return mine.SqliteFilePath is { } a && string.Equals(a, other.SqliteFilePath, StringComparison.Ordinal);
        var (x, y) = (new NpgsqlConnectionStringBuilder(mine.ConnectionString), new NpgsqlConnectionStringBuilder(other.ConnectionString));
        return string.Equals(x.Host, y.Host, StringComparison.OrdinalIgnoreCase) && x.Port == y.Port && string.Equals(x.Database, y.Database, StringComparison.Ordinal);
    }
}
