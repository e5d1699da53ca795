using Microsoft.EntityFrameworkCore;

namespace SmsActivities.Tests.Plugin;

/// <summary>
/// The plug-in's SQLite file commits as the runtime's does: in WAL mode without a flush to the disk per commit (a send
/// begins and settles its records around every vendor call, and a flush costs more than the rest of the send), with
/// deleted values overwritten in the file.
/// </summary>
public sealed class PluginDatabaseSettingsTests
{
    [Fact]
    public async Task The_plugin_database_commits_to_the_write_ahead_log_without_a_flush_and_overwrites_deleted_values()
    {
        await using var bed = await PluginTestBed.StartAsync();

        var (journal, synchronous, secureDelete) = await bed.WithDbAsync(async db =>
        {
            await db.Database.OpenConnectionAsync();
            try
            {
                return (await PragmaAsync(db, "journal_mode"), await PragmaAsync(db, "synchronous"), await PragmaAsync(db, "secure_delete"));
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
        });

        Assert.Equal("wal", journal);
        Assert.Equal("1", synchronous); // NORMAL
        Assert.Equal("1", secureDelete);
    }

    private static async Task<string?> PragmaAsync(DbContext db, string name)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = $"PRAGMA {name};";
        return Convert.ToString(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
