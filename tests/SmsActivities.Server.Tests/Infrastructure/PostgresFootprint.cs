using System.Reflection;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;
using SmsActivities.Persistence;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>What a server on PostgreSQL leaves behind: its schemas in the database, and no SQLite file on disk.</summary>
public static class PostgresFootprint
{
    private static readonly byte[] SqliteHeader = "SQLite format 3\0"u8.ToArray();

    /// <summary>Every PostgreSQL migration of the runtime and of the plug-in is recorded in its schema's history.</summary>
    public static async Task AssertSchemaCreatedAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        foreach (var (schema, assembly) in new[] { ("workflows", typeof(DatabaseSettings).Assembly), (SmsActivitiesDbContext.Schema, typeof(SmsActivitiesDbContext).Assembly) })
        {
            var expected = PostgresMigrations(assembly);
            await using var command = new NpgsqlCommand($"SELECT \"MigrationId\" FROM {schema}.\"{DatabaseSettings.HistoryTable}\" ORDER BY 1", connection);
            await using var reader = await command.ExecuteReaderAsync();
            var applied = new List<string>();
            while (await reader.ReadAsync()) applied.Add(reader.GetString(0));
            Assert.Equal(expected, applied);
        }
    }

    /// <summary>
    /// SQLite databases and their journals under <paramref name="folders"/> written since <paramref name="since"/>:
    /// recognised by the file header, or by the -wal/-shm/-journal names SQLite gives its side files.
    /// </summary>
    public static IReadOnlyList<string> SqliteFilesWrittenSince(DateTime since, params string[] folders) =>
        folders.Where(Directory.Exists)
            .SelectMany(f => Directory.EnumerateFiles(f, "*", SearchOption.AllDirectories))
            .Where(f => File.GetLastWriteTimeUtc(f) >= since && IsSqlite(f))
            .ToList();

    private static bool IsSqlite(string file)
    {
        if (file.EndsWith("-wal", StringComparison.Ordinal) || file.EndsWith("-shm", StringComparison.Ordinal) || file.EndsWith("-journal", StringComparison.Ordinal)) return true;
        try
        {
            using var stream = File.OpenRead(file);
            var header = new byte[SqliteHeader.Length];
            return stream.Read(header) == header.Length && header.AsSpan().SequenceEqual(SqliteHeader);
        }
        catch (IOException)
        {
            return false; // gone (a temp file) or locked by another process: not one this server wrote
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static List<string> PostgresMigrations(Assembly assembly) =>
        assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(Migration)) && t.Namespace?.EndsWith(".Migrations.Postgres", StringComparison.Ordinal) == true)
            .Select(t => t.GetCustomAttribute<MigrationAttribute>()!.Id)
            .Order(StringComparer.Ordinal)
            .ToList();
}
