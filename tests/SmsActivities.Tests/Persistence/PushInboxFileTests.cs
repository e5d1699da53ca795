using Microsoft.EntityFrameworkCore;
using SmsActivities.Hosting;
using SmsActivities.Inbox;
using SmsActivities.Persistence;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Tests.Persistence;

/// <summary>
/// On SQLite the push inbox has a file of its own (<c>sms-inbox.db</c>). Pushes an earlier version acknowledged into the
/// plug-in's file, where the inbox was, must not be stranded there by the upgrade: the start moves them across as they were.
/// </summary>
public sealed class PushInboxFileTests : IAsyncDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("smsact-inbox-").FullName;

    [Fact]
    public async Task Pushes_left_in_the_plugin_file_by_an_earlier_version_move_to_the_inbox_file_with_their_attempts_and_errors()
    {
        var plugin = Options(Path.Combine(_folder, "sms.db"));
        // The earlier version: the inbox in the plug-in's file.
        await new SmsSchemaService(plugin, new PushInboxDatabase(new Factory(plugin), new SqliteWriteGate(), null), migrate: true).StartAsync(default);
        await using (var old = new SmsActivitiesDbContext(plugin))
        {
            old.PushInbox.Add(new PushInboxEntity { Events = "{\"reports\":[]}", ReceivedAtTicks = 10, DueAtTicks = 10 });
            old.PushInbox.Add(new PushInboxEntity { Events = "{\"replies\":[]}", ReceivedAtTicks = 20, DueAtTicks = 900, Attempts = 2, Error = "IOException: disk" });
            old.PushInbox.Add(new PushInboxEntity { Events = "{", ReceivedAtTicks = 30, DueAtTicks = PushInboxProcessor.DeadLetter.UtcTicks, Attempts = 25, Error = "JsonException: bad" });
            await old.SaveChangesAsync();
        }

        var inbox = PushInboxDatabase.ForOwnFile(o => o.UseSqlite($"Data Source={Path.Combine(_folder, "sms-inbox.db")};Pooling=False"));
        await new SmsSchemaService(plugin, inbox, migrate: true).StartAsync(default);

        await using (var old = new SmsActivitiesDbContext(plugin))
            Assert.Equal(0, await old.PushInbox.CountAsync());
        await using var moved = await inbox.Contexts.CreateDbContextAsync();
        var rows = await moved.PushInbox.OrderBy(r => r.ReceivedAtTicks).Select(r => new { r.Events, r.ReceivedAtTicks, r.DueAtTicks, r.Attempts, r.Error }).ToListAsync();
        Assert.Equal(
            new[]
            {
                new { Events = "{\"reports\":[]}", ReceivedAtTicks = 10L, DueAtTicks = 10L, Attempts = 0, Error = (string?)null },
                new { Events = "{\"replies\":[]}", ReceivedAtTicks = 20L, DueAtTicks = 900L, Attempts = 2, Error = (string?)"IOException: disk" },
                new { Events = "{", ReceivedAtTicks = 30L, DueAtTicks = PushInboxProcessor.DeadLetter.UtcTicks, Attempts = 25, Error = (string?)"JsonException: bad" },
            }, rows);

        // A second start finds nothing left to move and keeps what the inbox holds.
        await new SmsSchemaService(plugin, inbox, migrate: true).StartAsync(default);
        Assert.Equal(3, await moved.PushInbox.CountAsync());
    }

    private static DbContextOptions<SmsActivitiesDbContext> Options(string file) =>
        new DbContextOptionsBuilder<SmsActivitiesDbContext>().UseSqlite($"Data Source={file};Pooling=False").Options;

    private sealed class Factory(DbContextOptions<SmsActivitiesDbContext> options) : IDbContextFactory<SmsActivitiesDbContext>
    {
        public SmsActivitiesDbContext CreateDbContext() => new(options);
    }

    public ValueTask DisposeAsync()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}
