using Microsoft.Data.Sqlite;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>Reads a server's SQLite file from the test, read-only and unpooled (the server may be killed or running).</summary>
public static class SqliteFile
{
    /// <param name="id">Bound to <c>$id</c> when the statement has it (null binds NULL).</param>
    public static async Task<object?> ScalarAsync(string database, string sql, string? id = null)
    {
        await using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (sql.Contains("$id", StringComparison.Ordinal)) command.Parameters.AddWithValue("$id", (object?)id ?? DBNull.Value);
        return await command.ExecuteScalarAsync();
    }
}
