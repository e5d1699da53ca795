using Microsoft.EntityFrameworkCore;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// The queries that hand due work to a node: pending deliveries and due timers. On PostgreSQL several nodes poll the
/// same tables, so each claim takes its rows with <c>FOR UPDATE SKIP LOCKED</c> and moves their due time to the end
/// of the claim in the same statement: another node skips them, the claiming node renews the claim while it works on
/// them (<see cref="Runtime.LeaseRenewer"/>), and if it dies they fall due again when the claim ends. The run itself stays exactly-once through the instance lease and the bookmark burn; the claim only keeps two
/// nodes from doing the same work. SQLite is single-node: plain reads.
/// </summary>
internal static class DueWorkClaims
{
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

    /// <returns>The ids of the claimed timer bookmarks, earliest first; on PostgreSQL their due time moved to <paramref name="claimUntil"/>.</returns>
    public static async Task<List<string>> ClaimTimersAsync(WorkflowDbContext context, long now, long claimUntil, int max, CancellationToken cancellationToken)
    {
        if (!IsPostgres(context))
            return await context.Bookmarks.Where(b => b.DueAt != null && b.DueAt <= now).OrderBy(b => b.DueAt).Select(b => b.Id).Take(max).ToListAsync(cancellationToken);
        // The claim's end, not the due time plus a window: a timer overdue by more than the window (after a downtime)
        // would otherwise still be due, and be claimed again by the next node that polls.
        var claimed = await context.Database.SqlQuery<ClaimedTimer>($"""
            UPDATE workflows."Bookmarks" AS b SET "DueAt" = {claimUntil}
            FROM (SELECT "Id", "DueAt" FROM workflows."Bookmarks" WHERE "DueAt" IS NOT NULL AND "DueAt" <= {now}
                  ORDER BY "DueAt" LIMIT {max} FOR UPDATE SKIP LOCKED) AS due
            WHERE b."Id" = due."Id"
            RETURNING b."Id" AS "Id", due."DueAt" AS "WasDueAt"
            """).ToListAsync(cancellationToken);
        return claimed.OrderBy(b => b.WasDueAt).Select(b => b.Id).ToList();
    }

    private sealed class ClaimedTimer
    {
        public string Id { get; set; } = "";
        public long WasDueAt { get; set; }
    }

    private static bool IsPostgres(WorkflowDbContext context) => context.Database.ProviderName == DatabaseSettings.NpgsqlProviderName;
}
