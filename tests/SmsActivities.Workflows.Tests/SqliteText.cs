using System.Text;
using Microsoft.Data.Sqlite;

namespace SmsActivities.Tests.Shared;

/// <summary>Reads a SQLite file back as text, to prove a value is stored nowhere. Shared by the runtime's and the plug-in's tests.</summary>
internal static class SqliteText
{
    /// <summary>
    /// The files in <paramref name="folder"/> (databases and their write-ahead logs, read raw beside the open connections)
    /// whose bytes hold <paramref name="secret"/>, as "file name" lines; empty when none does.
    /// </summary>
    public static async Task<IReadOnlyList<string>> FilesHoldingAsync(string folder, string secret)
    {
        var needle = Encoding.UTF8.GetBytes(secret);
        var holding = new List<string>();
        foreach (var file in Directory.GetFiles(folder, "*", SearchOption.AllDirectories))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            if (copy.ToArray().AsSpan().IndexOf(needle) >= 0) holding.Add(Path.GetFileName(file));
        }
        return holding;
    }

    /// <summary>Every value of every table of a SQLite file, as one text.</summary>
    public static async Task<string> AllTablesAsync(string path)
    {
        var text = new StringBuilder();
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = connection.CreateCommand())
        {
            list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table'";
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        }
        Assert.NotEmpty(tables);
        foreach (var table in tables)
        {
            await using var select = connection.CreateCommand();
            select.CommandText = $"SELECT * FROM \"{table}\"";
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                for (var i = 0; i < reader.FieldCount; i++)
                    text.Append(reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).Append('\t');
        }
        return text.ToString();
    }
}
