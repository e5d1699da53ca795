using Microsoft.EntityFrameworkCore;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// The queries that hand due work to a node: pending deliveries and due timers. On PostgreSQL several nodes poll the
/// same tables, so each claim takes its rows with <c>FOR UPDATE SKIP LOCKED</c> and moves their due time past
/// <c>claimFor</c> in the same statement: another node skips them, and if this node dies they fall due again after
/// that. The run itself stays exactly-once through the instance lease and the bookmark burn; the claim only keeps two
/// nodes from doing the same work. SQLite is single-node: plain reads.
/// </summary>
internal static class DueWorkClaims
{
    /// <summary>A due timer bookmark: its name tells a background run (see <see cref="Execution.ActivityExecutionContext.BackgroundBookmarkName"/>) from a timer.</summary>
    public sealed record DueTimer(string Id, string Name);

    /// <summary>How long claimed work is kept from other nodes: its run may wait for the instance, then hold its lease.</summary>
    public static long ClaimWindow(Runtime.WorkflowRuntimeOptions options) => (long)(options.LeaseWaitTimeout + options.LeaseDuration).TotalMilliseconds;

    /// <returns>The claimed deliveries, their due time moved to <paramref name="claimUntil"/>.</returns>
    public static async Task<List<DeliveryRow>> ClaimDeliveriesAsync(WorkflowDbContext context, long now, long claimUntil, int max, CancellationToken cancellationToken)
    {
        if (IsPostgres(context))
            return await context.Deliveries.FromSql($"""
                UPDATE workflows."StimulusDeliveries" SET "NextAttemptAt" = {claimUntil}
                WHERE "Id" IN (SELECT "Id" FROM workflows."StimulusDeliveries" WHERE "NextAttemptAt" <= {now}
                               ORDER BY "NextAttemptAt" LIMIT {max} FOR UPDATE SKIP LOCKED)
                RETURNING *
                """).AsNoTracking().ToListAsync(cancellationToken);
        var rows = await context.Deliveries.AsNoTracking().Where(d => d.NextAttemptAt <= now).OrderBy(d => d.NextAttemptAt).Take(max).ToListAsync(cancellationToken);
        if (rows.Count == 0) return rows;
        var ids = rows.Select(r => r.Id).ToList();
        // Only what is still due is ours: another run of the loop may have claimed some between the read and this write.
        await context.Deliveries.Where(d => ids.Contains(d.Id) && d.NextAttemptAt <= now)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptAt, claimUntil), cancellationToken);
        var claimed = (await context.Deliveries.AsNoTracking().Where(d => ids.Contains(d.Id) && d.NextAttemptAt == claimUntil).Select(d => d.Id).ToListAsync(cancellationToken))
            .ToHashSet(StringComparer.Ordinal);
        rows.RemoveAll(r => !claimed.Contains(r.Id));
        foreach (var row in rows) row.NextAttemptAt = claimUntil;
        return rows;
    }

    /// <param name="running">Timers this node is running already (long background runs): not claimed again.</param>
    /// <returns>The claimed timer bookmarks, earliest first.</returns>
    public static async Task<List<DueTimer>> ClaimTimersAsync(WorkflowDbContext context, long now, long claimFor, int max, IReadOnlyCollection<string> running,
        CancellationToken cancellationToken)
    {
        if (!IsPostgres(context))
            return await context.Bookmarks.Where(b => b.DueAt != null && b.DueAt <= now && !running.Contains(b.Id)).OrderBy(b => b.DueAt)
                .Select(b => new DueTimer(b.Id, b.Name)).Take(max).ToListAsync(cancellationToken);
        var skipped = running.ToArray();
        var claimed = await context.Bookmarks.FromSql($"""
            UPDATE workflows."Bookmarks" SET "DueAt" = "DueAt" + {claimFor}
            WHERE "Id" IN (SELECT "Id" FROM workflows."Bookmarks" WHERE "DueAt" IS NOT NULL AND "DueAt" <= {now} AND NOT ("Id" = ANY({skipped}))
                           ORDER BY "DueAt" LIMIT {max} FOR UPDATE SKIP LOCKED)
            RETURNING *
            """).AsNoTracking().ToListAsync(cancellationToken);
        return claimed.OrderBy(b => b.DueAt).Select(b => new DueTimer(b.Id, b.Name)).ToList();
    }

    private static bool IsPostgres(WorkflowDbContext context) => context.Database.ProviderName == DatabaseSettings.NpgsqlProviderName;
}
