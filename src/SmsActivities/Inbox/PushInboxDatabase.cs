using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using SmsActivities.Persistence;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Inbox;

/// <summary>
/// Where the push inbox lives. On SQLite a small file of its own (<c>sms-inbox.db</c> in the data folder, see
/// <see cref="Persistence.PluginDatabase.InboxFile"/>), with its own write turn: an acknowledgement's one-row commit
/// then never queues behind the report, campaign and workflow writes of the main file. The
/// file carries the plug-in's whole schema, so one migration history serves both files; only its inbox table is used.
/// On PostgreSQL (and for a plug-in database configured in code) the plug-in's own database and write turn.
/// </summary>
internal sealed class PushInboxDatabase(IDbContextFactory<SmsActivitiesDbContext> contexts, SqliteWriteGate writes, DbContextOptions<SmsActivitiesDbContext>? ownFile)
{
    public IDbContextFactory<SmsActivitiesDbContext> Contexts => contexts;

    /// <summary>The file's write turn (lets everything through on PostgreSQL).</summary>
    public SqliteWriteGate Writes => writes;

    /// <summary>The options of the inbox's own file; null when the inbox shares the plug-in's database.</summary>
    public DbContextOptions<SmsActivitiesDbContext>? OwnFile => ownFile;

    /// <summary>The inbox on a file of its own: its own pooled contexts and write turn.</summary>
    public static PushInboxDatabase ForOwnFile(Action<DbContextOptionsBuilder> configure)
    {
        var builder = new DbContextOptionsBuilder<SmsActivitiesDbContext>();
        configure(builder);
        return new PushInboxDatabase(new PooledDbContextFactory<SmsActivitiesDbContext>(builder.Options), new SqliteWriteGate(), builder.Options);
    }

    /// <summary>
    /// Moves the pushes an earlier version left in the plug-in's file (where the inbox was) into the inbox's own, with
    /// their attempts, errors and due times, a slice at a time. Each slice is added here before it is deleted there: a
    /// crash in between leaves it in both, and a push run twice is harmless (the stimulus dedupe keys, the first final
    /// report rule), while one deleted first would be lost.
    /// </summary>
    public async Task TakeOverRowsAsync(DbContextOptions<SmsActivitiesDbContext> pluginFile, CancellationToken cancellationToken)
    {
        const int Slice = 500;
        var old = new SmsActivitiesDbContext(pluginFile);
        await using (old.ConfigureAwait(false))
        {
            while (await old.PushInbox.AsNoTracking().OrderBy(r => r.Id).Take(Slice).ToListAsync(cancellationToken).ConfigureAwait(false) is { Count: > 0 } rows)
            {
                await using (var db = await contexts.CreateDbContextAsync(cancellationToken).ConfigureAwait(false))
                {
                    db.PushInbox.AddRange(rows.Select(r => new PushInboxEntity
                    {
                        Events = r.Events, ReceivedAtTicks = r.ReceivedAtTicks, DueAtTicks = r.DueAtTicks, Attempts = r.Attempts, Error = r.Error,
                    }));
                    using (await writes.EnterAsync(db, urgent: false, cancellationToken).ConfigureAwait(false))
                        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                }
                var moved = rows.Select(r => r.Id).ToArray();
                await old.PushInbox.Where(r => moved.Contains(r.Id)).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
