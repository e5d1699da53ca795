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
    /// <summary>A due timer bookmark: its name tells a background run (see <see cref="Execution.ActivityExecutionContext.BackgroundBookmarkName"/>) from a timer.</summary>
    public sealed record DueTimer(string Id, string Name);

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
    /// <returns>The claimed timer bookmarks, earliest first; on PostgreSQL their due time moved to <paramref name="claimUntil"/>.</returns>
    public static async Task<List<DueTimer>> ClaimTimersAsync(WorkflowDbContext context, long now, long claimUntil, int max, IReadOnlyCollection<string> running,
        CancellationToken cancellationToken)
    {
        if (!IsPostgres(context))
            return await context.Bookmarks.Where(b => b.DueAt != null && b.DueAt <= now && !running.Contains(b.Id)).OrderBy(b => b.DueAt)
                .Select(b => new DueTimer(b.Id, b.Name)).Take(max).ToListAsync(cancellationToken);
        // The claim's end, not the due time plus a window: a timer overdue by more than the window (after a downtime)
        // would otherwise still be due, and be claimed again by the next node that polls.
        var skipped = running.ToArray();
        var claimed = await context.Database.SqlQuery<ClaimedTimer>($"""
            UPDATE workflows."Bookmarks" AS b SET "DueAt" = {claimUntil}
            FROM (SELECT "Id", "DueAt" FROM workflows."Bookmarks" WHERE "DueAt" IS NOT NULL AND "DueAt" <= {now} AND NOT ("Id" = ANY({skipped}))
                  ORDER BY "DueAt" LIMIT {max} FOR UPDATE SKIP LOCKED) AS due
            WHERE b."Id" = due."Id"
            RETURNING b."Id" AS "Id", b."Name" AS "Name", due."DueAt" AS "WasDueAt"
            """).ToListAsync(cancellationToken);
        return claimed.OrderBy(b => b.WasDueAt).Select(b => new DueTimer(b.Id, b.Name)).ToList();
    }

    private sealed class ClaimedTimer
    {
        public string Id { get; set; } = "";
        public string Name { get; set; } = "";
        public long WasDueAt { get; set; }
    }

    private static bool IsPostgres(WorkflowDbContext context) => DatabaseEngine.IsPostgres(context.Database);
}
