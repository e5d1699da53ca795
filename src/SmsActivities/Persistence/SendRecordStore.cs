using Microsoft.EntityFrameworkCore;
using SmsActivities.Routing;

namespace SmsActivities.Persistence;

/// <summary>One recipient of a send as the records know it.</summary>
public sealed record SentMessage(string Vendor, string MessageId, string Mobile);

/// <summary>
/// Durable send records: written before the vendor call (Pending) and settled after it, so a report can be tied
/// back to the workflow that sent the message and a send interrupted by a crash is surfaced, not repeated.
/// </summary>
public sealed class SendRecordStore(IDbContextFactory<SmsActivitiesDbContext> dbFactory, TimeProvider time)
{
    /// <summary>
    /// The attempt number of the next send by this activity of this instance: attempts already made, counted from
    /// the records. Deterministic, so a re-run after a crash gets the same idempotency key as the interrupted call.
    /// Returns the recipients of an interrupted attempt (records still Pending), which the caller must surface.
    /// </summary>
    public async Task<(int Attempt, IReadOnlyList<string> InDoubt)> NextAttemptAsync(string instanceId, string activityId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var rows = await db.SendRecords.AsNoTracking()
            .Where(r => r.InstanceId == instanceId && r.ActivityId == activityId)
            .Select(r => new { r.IdempotencyKey, r.Status, r.Mobile })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var attempts = rows.Select(r => r.IdempotencyKey).Distinct(StringComparer.Ordinal).Count();
        var inDoubt = rows.Where(r => r.Status == SendRecordStatus.Pending).Select(r => r.Mobile).ToArray();
        return (attempts, inDoubt);
    }

    /// <summary>Marks an interrupted attempt's Pending records InDoubt, once it has been reported to the workflow.</summary>
    public async Task MarkInDoubtAsync(string instanceId, string activityId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await db.SendRecords.Where(r => r.InstanceId == instanceId && r.ActivityId == activityId && r.Status == SendRecordStatus.Pending)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, SendRecordStatus.InDoubt), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes one Pending record per recipient, committed before the vendor is called.</summary>
    public async Task BeginAsync(string idempotencyKey, string instanceId, string activityId, string plannedVendor, IReadOnlyList<string> mobiles, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow().UtcTicks;
        db.SendRecords.AddRange(mobiles.Select(m => new SendRecordEntity
        {
            Vendor = plannedVendor, Mobile = m, InstanceId = instanceId, ActivityId = activityId,
            IdempotencyKey = idempotencyKey, Status = SendRecordStatus.Pending, CreatedAtTicks = now,
        }));
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Settles the Pending records of an attempt with what the vendors answered (the vendor that finally took or refused each recipient).</summary>
    public async Task CompleteAsync(string idempotencyKey, IReadOnlyList<SmsRecipientOutcome> outcomes, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var rows = await db.SendRecords.Where(r => r.IdempotencyKey == idempotencyKey).ToListAsync(cancellationToken).ConfigureAwait(false);
        var byMobile = outcomes.GroupBy(o => o.Mobile, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (!byMobile.TryGetValue(row.Mobile, out var outcome)) continue;
            row.Vendor = outcome.Vendor ?? row.Vendor;
            row.MessageId = outcome.MessageId;
            row.Accepted = outcome.Accepted;
            row.Status = outcome.Accepted ? SendRecordStatus.Accepted : SendRecordStatus.Rejected;
            row.Error = outcome.Error;
        }
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The accepted messages of the latest attempt of a SendSms activity in an instance.</summary>
    public async Task<IReadOnlyList<SentMessage>> AcceptedByActivityAsync(string instanceId, string activityId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var rows = await db.SendRecords.AsNoTracking()
            .Where(r => r.InstanceId == instanceId && r.ActivityId == activityId)
            .OrderBy(r => r.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var latest = rows.LastOrDefault()?.IdempotencyKey;
        return rows.Where(r => r.IdempotencyKey == latest && r.Status == SendRecordStatus.Accepted && r.MessageId != null)
            .Select(r => new SentMessage(r.Vendor, r.MessageId!, r.Mobile)).ToArray();
    }
}
