using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Ends every run with one transaction: the instance state (lease released), its bookmarks replaced, the new journal
/// and execution records, the delivery it served removed, and its new bookmarks matched against the inbox (an early
/// arrival is claimed in the same transaction). Secrets the run met are masked in everything written.
/// </summary>
internal sealed class InstanceCommitter(TimeProvider time, IOptions<WorkflowRuntimeOptions> options, TimerSignal timers, LeaseRenewer leases)
{
    /// <summary>Commits a run; <paramref name="deliveryId"/> is the delivery it served, if any.</summary>
    /// <param name="bookmarksBefore">The bookmarks the instance had before the run: only new ones are matched against the inbox.</param>
    /// <returns>The inbox matches to resume and the stimuli the run published, for after the instance is released.</returns>
    public Task<IReadOnlyList<FollowUp>> CommitAsync(WorkflowDbContext db, InstanceRow row, WorkflowExecutionContext context, string? deliveryId,
        IReadOnlySet<string> bookmarksBefore, CancellationToken cancellationToken)
    {
        var isNew = db.Entry(row).State == EntityState.Added;
        return TransientRetry.RunAsync(attempt =>
        {
            if (attempt > 1)
            {
                // The aborted attempt's tracked changes are gone with its transaction: start again from the run's result.
                db.ChangeTracker.Clear();
                if (isNew) db.Instances.Add(row);
                else db.Instances.Update(row); // every column written: the aborted attempt already set the new values
            }
            return CommitOnceAsync(db, row, isNew, context, deliveryId, bookmarksBefore, cancellationToken);
        }, cancellationToken);
    }

    private async Task<IReadOnlyList<FollowUp>> CommitOnceAsync(WorkflowDbContext db, InstanceRow row, bool isNew, WorkflowExecutionContext context, string? deliveryId,
        IReadOnlySet<string> bookmarksBefore, CancellationToken cancellationToken)
    {
        var state = context.State;
        await using var tx = await db.Database.BeginTransactionAsync(StimulusHashLocks.Isolation(db), cancellationToken);
        await StimulusHashLocks.LockAsync(db, state.Bookmarks.Where(b => b.DueAt is null && !bookmarksBefore.Contains(b.Id)).Select(b => b.Hash), cancellationToken);
        row.DefinitionId = state.DefinitionId;
        row.DefinitionVersionId = state.DefinitionVersionId;
        row.Version = state.DefinitionVersion;
        row.Status = state.Status.ToString();
        row.SubStatus = state.SubStatus.ToString();
        row.CorrelationId = state.CorrelationId;
        row.Name = state.Name;
        row.IncidentCount = state.Incidents.Count;
        row.UpdatedAt = DbTime.ToDb(state.UpdatedAt);
        row.FinishedAt = state.FinishedAt is { } finished ? DbTime.ToDb(finished) : null;
        var secrets = context.Secrets;
        row.StateJson = SecretRedactor.RedactState(JsonSerializer.Serialize(state, WorkflowJson.Options), secrets);
        row.LeaseOwner = null;
        row.LeaseExpiresAt = null;

        if (!isNew) await db.Bookmarks.Where(b => b.InstanceId == row.Id).ExecuteDeleteAsync(cancellationToken);
        foreach (var b in state.Bookmarks)
            db.Bookmarks.Add(new BookmarkRow
            {
                Id = b.Id, InstanceId = row.Id, Name = b.Name, Hash = b.Hash, PayloadJson = SecretRedactor.RedactData(Json(b.Payload), secrets), ActivityInstanceId = b.ActivityInstanceId,
                CorrelationId = state.CorrelationId, CreatedAt = DbTime.ToDb(b.CreatedAt), DueAt = b.DueAt is { } due ? DbTime.ToDb(due) : null,
            });
        foreach (var record in context.NewJournal)
            db.Journal.Add(new JournalRow
            {
                Id = record.Id, InstanceId = row.Id, Sequence = record.Sequence, NodeId = record.NodeId, ActivityType = record.ActivityType,
                EventName = record.EventName, Json = SecretRedactor.RedactJournal(JsonSerializer.Serialize(record, WorkflowJson.Options), secrets),
            });
        await SaveExecutionRecordsAsync(db, context, isNew, cancellationToken);
        if (deliveryId != null)
        {
            if (secrets.Count > 0) await RedactServedStimulusAsync(db, deliveryId, secrets, cancellationToken);
            await db.Deliveries.Where(d => d.Id == deliveryId).ExecuteDeleteAsync(cancellationToken);
        }

        var followUps = await ClaimEarlyArrivalsAsync(db, row.Id, state, bookmarksBefore, cancellationToken);
        followUps.AddRange(context.Outbox.Select(s => new FollowUp(null, null, s)));
        await db.SaveChangesAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
        leases.ReleaseInstance(row.Id);
        if (state.Bookmarks.Where(b => b.DueAt != null).Select(b => b.DueAt).Min() is { } next) timers.Raise(next);
        return followUps;
    }

    /// <summary>Early arrival: a stimulus already waiting in the inbox for a new bookmark is claimed in the run's transaction.</summary>
    private async Task<List<FollowUp>> ClaimEarlyArrivalsAsync(WorkflowDbContext db, string instanceId, WorkflowState state, IReadOnlySet<string> bookmarksBefore,
        CancellationToken cancellationToken)
    {
        var followUps = new List<FollowUp>();
        var now = time.GetUtcNow();
        var nowMs = DbTime.ToDb(now);
        foreach (var bookmark in state.Bookmarks.Where(b => b.DueAt is null && !bookmarksBefore.Contains(b.Id)))
        {
            var waiting = db.Stimuli.Where(s => s.Hash == bookmark.Hash && s.Status == StimulusStatus.Pending && s.ExpiresAt >= nowMs);
            waiting = state.CorrelationId is null ? waiting.Where(s => s.CorrelationId == null) : waiting.Where(s => s.CorrelationId == null || s.CorrelationId == state.CorrelationId);
            var stimulus = await waiting.OrderBy(s => s.ReceivedAt).FirstOrDefaultAsync(cancellationToken);
            if (stimulus is null) continue;
            stimulus.Status = StimulusStatus.Consumed;
            var delivery = RuntimeRows.NewDelivery(stimulus.Id, DeliveryKind.Resume, now, options.Value.LeaseWaitTimeout, bookmark.Id, instanceId);
            db.Deliveries.Add(delivery);
            followUps.Add(new FollowUp(delivery, stimulus.InputJson is { } json ? JsonNode.Parse(json)?.AsObject() : null, null));
        }
        return followUps;
    }

    /// <summary>
    /// The stimulus that started or resumed this run holds what came in (e.g. the HTTP body with the code the user
    /// typed); it is kept for its dedupe key, so its input is blanked too, unless another instance still has to be
    /// served from it.
    /// </summary>
    private static async Task RedactServedStimulusAsync(WorkflowDbContext db, string deliveryId, IReadOnlyCollection<string> secrets, CancellationToken cancellationToken)
    {
        var stimulusId = await db.Deliveries.Where(d => d.Id == deliveryId).Select(d => d.StimulusId).FirstOrDefaultAsync(cancellationToken);
        if (stimulusId is null || await db.Deliveries.AnyAsync(d => d.StimulusId == stimulusId && d.Id != deliveryId, cancellationToken)) return;
        var stimulus = await db.Stimuli.FirstOrDefaultAsync(s => s.Id == stimulusId, cancellationToken);
        if (stimulus is null) return;
        stimulus.InputJson = SecretRedactor.RedactData(stimulus.InputJson, secrets);
        stimulus.PayloadJson = SecretRedactor.RedactData(stimulus.PayloadJson, secrets);
    }

    private static async Task SaveExecutionRecordsAsync(WorkflowDbContext db, WorkflowExecutionContext context, bool isNew, CancellationToken cancellationToken)
    {
        if (context.ExecutionRecords.Count == 0) return;
        var ids = context.ExecutionRecords.Keys.ToList();
        var existing = isNew ? [] : await db.Executions.Where(e => ids.Contains(e.Id)).ToDictionaryAsync(e => e.Id, cancellationToken);
        foreach (var record in context.ExecutionRecords.Values)
        {
            if (existing.TryGetValue(record.Id, out var row))
            {
                // A record resumed in this run was rebuilt without its inputs and outputs: keep the stored ones.
                var stored = JsonSerializer.Deserialize<ActivityExecutionRecord>(row.Json, WorkflowJson.Options)!;
                record.ActivityState ??= stored.ActivityState;
                record.StartedAt = stored.StartedAt;
                if (stored.Outputs != null)
                    foreach (var (key, value) in stored.Outputs)
                        if ((record.Outputs ??= []).ContainsKey(key) is false) record.Outputs[key] = value?.DeepClone();
                row.Json = SecretRedactor.RedactExecutionRecord(JsonSerializer.Serialize(record, WorkflowJson.Options), context.Secrets);
            }
            else
            {
                db.Executions.Add(new ExecutionRow
                {
                    Id = record.Id, InstanceId = record.WorkflowInstanceId, NodeId = record.ActivityNodeId,
                    StartedAt = DbTime.ToDb(record.StartedAt), Json = SecretRedactor.RedactExecutionRecord(JsonSerializer.Serialize(record, WorkflowJson.Options), context.Secrets),
                });
            }
        }
    }

    private static string? Json(JsonNode? node) => node?.ToJsonString(WorkflowJson.Options);
}
