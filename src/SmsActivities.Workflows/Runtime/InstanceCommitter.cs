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
/// and execution records, the delivery it served removed, its new bookmarks matched against the inbox (an early
/// arrival is claimed in the same transaction), and what it published (stimuli, dispatched children) recorded with the
/// deliveries it is owed, so a crash after the commit loses none of it. Secrets the run met are masked in everything written.
/// </summary>
internal sealed class InstanceCommitter(TimeProvider time, IOptions<WorkflowRuntimeOptions> options, TimerSignal timers, LeaseRenewer leases,
    StimulusRecorder recorder, DispatchSignal dispatch)
{
    /// <summary>Commits a run; <paramref name="served"/> are the deliveries it served (removed in the same transaction).</summary>
    /// <param name="bookmarksBefore">
    /// The bookmarks the instance had before the run: only new ones are written and matched against the inbox, and only
    /// those gone are deleted (a campaign's wait keeps thousands that a report must not make the commit rewrite).
    /// </param>
    /// <param name="alsoInTransaction">More writes that must commit with the run or not at all (run again on a retried attempt).</param>
    /// <returns>The inbox matches to resume and the stimuli the run published, for after the instance is released.</returns>
    public async Task<IReadOnlyList<FollowUp>> CommitAsync(WorkflowDbContext db, InstanceRow row, WorkflowExecutionContext context, IReadOnlyCollection<string> served,
        IReadOnlySet<string> bookmarksBefore, CancellationToken cancellationToken, Func<WorkflowDbContext, CancellationToken, Task>? alsoInTransaction = null) =>
        (await CommitManyAsync(db, [new RunToCommit(row, context, served, bookmarksBefore, alsoInTransaction)], cancellationToken))[0];

    /// <summary>
    /// Group commit: the runs of several instances (all tracked by <paramref name="db"/>) in one transaction, so a batch
    /// of resumptions pays for one commit instead of one each. All or none of them are committed; a transaction
    /// PostgreSQL aborted for a serialization failure or deadlock is staged again from the runs' results and retried.
    /// </summary>
    /// <returns>Per run, in order: the inbox matches to resume and the stimuli it published.</returns>
    public async Task<IReadOnlyList<IReadOnlyList<FollowUp>>> CommitManyAsync(WorkflowDbContext db, IReadOnlyList<RunToCommit> runs, CancellationToken cancellationToken)
    {
        // Taken before the first attempt: an aborted attempt has already written the new values into the rows.
        var stages = runs.Select(r => (Run: r, IsNew: db.Entry(r.Row).State == EntityState.Added, CorrelationChanged: r.Row.CorrelationId != r.Context.State.CorrelationId))
            .Select(x => (x.Run, x.IsNew, CorrelationChanged: !x.IsNew && x.CorrelationChanged)).ToList();
        var followUps = await TransientRetry.RunAsync(async attempt =>
        {
            if (attempt > 1)
            {
                // The aborted attempt's tracked changes are gone with its transaction: start again from the runs' results.
                db.ChangeTracker.Clear();
                foreach (var (run, isNew, _) in stages)
                    if (isNew) db.Instances.Add(run.Row);
                    else db.Instances.Update(run.Row); // every column written: the aborted attempt already set the new values
            }
            var staged = new List<IReadOnlyList<FollowUp>>(stages.Count);
            await using var tx = await db.Database.BeginTransactionAsync(StimulusHashLocks.Isolation(db), cancellationToken);
            await StimulusHashLocks.LockAsync(db, stages.SelectMany(x => x.Run.Context.State.Bookmarks.Where(b => b.DueAt is null && !x.Run.BookmarksBefore.Contains(b.Id)).Select(b => b.Hash))
                .Concat(stages.SelectMany(x => x.Run.Context.Outbox.Select(s => s.Hash))), cancellationToken);
            foreach (var (run, isNew, correlationChanged) in stages)
            {
                staged.Add(await StageAsync(db, run.Row, isNew, correlationChanged, run.Context, run.Served, run.BookmarksBefore, cancellationToken));
                if (run.AlsoInTransaction is { } also) await also(db, cancellationToken);
            }
            await db.SaveChangesAsync(cancellationToken);
            // Once the runs' bookmarks are written: a stimulus a run published can then resume a bookmark made in this commit.
            for (var i = 0; i < stages.Count; i++)
                staged[i] = [.. staged[i], .. await StagePublishedAsync(db, stages[i].Run.Context, cancellationToken)];
            await db.SaveChangesAsync(cancellationToken);
            await tx.CommitAsync(cancellationToken);
            return staged;
        }, cancellationToken);
        foreach (var run in runs)
        {
            leases.ReleaseInstance(run.Row.Id);
            if (run.Context.State.Bookmarks.Where(b => b.DueAt != null).Select(b => b.DueAt).Min() is { } next) timers.Raise(next);
        }
        if (runs.Any(r => r.Context.Dispatches.Count > 0)) dispatch.Wake();
        return followUps;
    }

    /// <summary>
    /// The stimuli the run published, with the deliveries they are owed (run inline after the commit, or by the dispatcher
    /// after a crash), and the start deliveries of the children it dispatched (left to the dispatcher: the parent goes
    /// on first).
    /// </summary>
    private async Task<IReadOnlyList<FollowUp>> StagePublishedAsync(WorkflowDbContext db, WorkflowExecutionContext context, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var child in context.Dispatches)
        {
            var (stimulus, delivery) = ChildDispatches.Rows(child, now, options.Value.InboxRetention);
            db.Stimuli.Add(stimulus);
            db.Deliveries.Add(delivery);
        }
        if (context.Outbox.Count == 0) return [];
        var recorded = await recorder.StageAsync(db, context.Outbox, options.Value.LeaseWaitTimeout, cancellationToken);
        return recorded.SelectMany((r, i) => r.Deliveries.Select(d => new FollowUp(d, context.Outbox[i].Input, context.Outbox[i].CorrelationId))).ToList();
    }

    private async Task<List<FollowUp>> StageAsync(WorkflowDbContext db, InstanceRow row, bool isNew, bool correlationChanged, WorkflowExecutionContext context,
        IReadOnlyCollection<string> served, IReadOnlySet<string> bookmarksBefore, CancellationToken cancellationToken)
    {
        var state = context.State;
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

        var after = state.Bookmarks.Select(b => b.Id).ToHashSet(StringComparer.Ordinal);
        var gone = bookmarksBefore.Where(id => !after.Contains(id)).ToList();
        var instanceId = row.Id;
        if (!isNew && state.Bookmarks.Count == 0) await db.Bookmarks.Where(b => b.InstanceId == instanceId).ExecuteDeleteAsync(cancellationToken);
        else if (!isNew && gone.Count > 0) await db.Bookmarks.Where(b => b.InstanceId == instanceId && gone.Contains(b.Id)).ExecuteDeleteAsync(cancellationToken);
        // Bookmark rows carry the instance's correlation for matching: a run that changed it moves the kept ones along.
        var correlationId = state.CorrelationId;
        if (correlationChanged) await db.Bookmarks.Where(b => b.InstanceId == instanceId).ExecuteUpdateAsync(s => s.SetProperty(b => b.CorrelationId, correlationId), cancellationToken);
        foreach (var b in state.Bookmarks.Where(b => !bookmarksBefore.Contains(b.Id)))
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
        if (served.Count > 0)
        {
            if (secrets.Count > 0)
                foreach (var deliveryId in served) await RedactServedStimulusAsync(db, deliveryId, secrets, cancellationToken);
            await db.Deliveries.Where(d => served.Contains(d.Id)).ExecuteDeleteAsync(cancellationToken);
        }

        return await ClaimEarlyArrivalsAsync(db, row.Id, state, bookmarksBefore, cancellationToken);
    }

    /// <summary>
    /// Early arrival: stimuli already waiting in the inbox for new bookmarks are claimed in the run's transaction (one
    /// query for all of them, the oldest first; each stimulus answers one bookmark).
    /// </summary>
    private async Task<List<FollowUp>> ClaimEarlyArrivalsAsync(WorkflowDbContext db, string instanceId, WorkflowState state, IReadOnlySet<string> bookmarksBefore,
        CancellationToken cancellationToken)
    {
        var followUps = new List<FollowUp>();
        var fresh = state.Bookmarks.Where(b => b.DueAt is null && !bookmarksBefore.Contains(b.Id)).ToList();
        if (fresh.Count == 0) return followUps;
        var now = time.GetUtcNow();
        var nowMs = DbTime.ToDb(now);
        var hashes = fresh.Select(b => b.Hash).Distinct(StringComparer.Ordinal).ToList();
        var waiting = db.Stimuli.Where(s => hashes.Contains(s.Hash) && s.Status == StimulusStatus.Pending && s.ExpiresAt >= nowMs);
        waiting = state.CorrelationId is null ? waiting.Where(s => s.CorrelationId == null) : waiting.Where(s => s.CorrelationId == null || s.CorrelationId == state.CorrelationId);
        // A run staged before this one in the same group commit may already have claimed one (tracked, not yet saved).
        var byHash = (await waiting.OrderBy(s => s.ReceivedAt).ToListAsync(cancellationToken)).Where(s => s.Status == StimulusStatus.Pending)
            .GroupBy(s => s.Hash, StringComparer.Ordinal).ToDictionary(g => g.Key, g => new Queue<StimulusRow>(g), StringComparer.Ordinal);
        foreach (var bookmark in fresh)
        {
            if (!byHash.TryGetValue(bookmark.Hash, out var queue) || !queue.TryDequeue(out var stimulus)) continue;
            stimulus.Status = StimulusStatus.Consumed;
            var delivery = RuntimeRows.NewDelivery(stimulus.Id, DeliveryKind.Resume, now, options.Value.LeaseWaitTimeout, bookmark.Id, instanceId);
            db.Deliveries.Add(delivery);
            followUps.Add(new FollowUp(delivery, stimulus.InputJson is { } json ? JsonNode.Parse(json)?.AsObject() : null));
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

/// <summary>
/// A run of an instance ready to commit: its row (tracked), its execution, the deliveries it served, its bookmarks
/// before, and any other writes that belong to the same transaction.
/// </summary>
internal sealed record RunToCommit(InstanceRow Row, WorkflowExecutionContext Context, IReadOnlyCollection<string> Served, IReadOnlySet<string> BookmarksBefore,
    Func<WorkflowDbContext, CancellationToken, Task>? AlsoInTransaction = null);
