using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Activities.BuiltIn;
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
    StimulusRecorder recorder, DispatchSignal dispatch, SqliteWriteGate writes, DispatchedInputSeal seal)
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
        var followUps = await WriteAsync(db, runs, rehearsal: false, cancellationToken);
        foreach (var run in runs)
        {
            leases.ReleaseInstance(run.Row.Id);
            if (run.Context.State.Bookmarks.Where(b => b.DueAt != null).Select(b => b.DueAt).Min() is { } next) timers.Raise(next);
        }
        if (runs.Any(r => r.Context.Dispatches.Count > 0)) dispatch.Wake();
        return followUps;
    }

    /// <summary>
    /// A commit of <paramref name="run"/> written in full and rolled back (nothing is left behind, nothing is signalled):
    /// at start, the first real commit then finds this code compiled and EF Core's queries, update pipeline and SQL built.
    /// Inside a transaction of the caller's (who holds the write turn and rolls it back) the commit is written into it
    /// and left there, so a rehearsal can go on from what the commit wrote.
    /// </summary>
    public Task RehearseAsync(WorkflowDbContext db, RunToCommit run, CancellationToken cancellationToken) => WriteAsync(db, [run], rehearsal: true, cancellationToken);

    private async Task<IReadOnlyList<IReadOnlyList<FollowUp>>> WriteAsync(WorkflowDbContext db, IReadOnlyList<RunToCommit> runs, bool rehearsal, CancellationToken cancellationToken)
    {
        // Taken before the first attempt: an aborted attempt has already written the new values into the rows.
        // Everything that needs no database (the state, journal and bookmark JSON, secrets masked) is built here, before
        // the write turn: on SQLite every other writer, a webhook's accept included, waits while the transaction is open.
        var stages = runs.Select(r => Prepare(db, r)).ToList();
        // Read and merged before the write turn too: only the lease holder changes an instance's execution records.
        var executions = await ExecutionRecordWritesAsync(db, stages, cancellationToken);
        return await TransientRetry.RunAsync(async attempt =>
        {
            // The aborted attempt's tracked changes are gone with its transaction: start again from the runs' results
            // (the instances' rows are written by hand, untracked, on every attempt).
            if (attempt > 1) db.ChangeTracker.Clear();
            var staged = new List<IReadOnlyList<FollowUp>>(stages.Count);
            var inCallersTransaction = rehearsal && db.Database.CurrentTransaction is not null;
            using var turn = inCallersTransaction ? null : await writes.EnterAsync(db, urgent: false, cancellationToken);
            await using var tx = inCallersTransaction ? null : await db.Database.BeginTransactionAsync(StimulusHashLocks.Isolation(db), cancellationToken);
            await StimulusHashLocks.LockAsync(db, stages.SelectMany(FreshBookmarks).Select(b => b.Hash),
                stages.SelectMany(x => x.Run.Context.Outbox.Where(s => s.KeepInInbox).Select(s => (s.Hash, s.DedupeKey))), cancellationToken);
            await DeleteReplacedAsync(db, stages, cancellationToken);
            var allServed = stages.SelectMany(x => x.Run.Served).ToHashSet(StringComparer.Ordinal);
            await RedactServedStimuliAsync(db, stages, allServed, cancellationToken);
            var inbox = await WaitingInboxAsync(db, stages, cancellationToken);
            foreach (var stage in stages)
            {
                staged.Add(await StageAsync(db, stage, inbox, cancellationToken));
                if (stage.Run.AlsoInTransaction is { } also) await also(db, cancellationToken);
                await WriteActivitiesWritesAsync(db, stage.Run.Context, cancellationToken);
            }
            if (allServed.Count > 0) await db.Deliveries.Where(d => allServed.Contains(d.Id)).ExecuteDeleteAsync(cancellationToken);
            await InsertInstancesAsync(db, stages, cancellationToken);
            await UpdateInstancesAsync(db, stages, cancellationToken);
            await InsertJournalAsync(db, stages, cancellationToken);
            await SaveExecutionRecordsAsync(db, executions, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
            // Once the runs' bookmarks are written: a stimulus a run published can then resume a bookmark made in this commit.
            for (var i = 0; i < stages.Count; i++)
                staged[i] = [.. staged[i], .. await StagePublishedAsync(db, stages[i].Run.Context, cancellationToken)];
            await db.SaveChangesAsync(cancellationToken);
            if (rehearsal)
            {
                if (tx is not null) await tx.RollbackAsync(cancellationToken);
                return staged;
            }
            var activityWrites = stages.Any(x => x.Run.Context.CommitWrites.Count > 0);
            if (stages.Count > 1) CrashPoints.Reach(CrashPoints.GroupCommitWritten);
            if (activityWrites) CrashPoints.Reach(CrashPoints.ActivityWriteWritten);
            await tx!.CommitAsync(cancellationToken);
            if (stages.Count > 1) CrashPoints.Reach(CrashPoints.GroupCommitCommitted);
            if (activityWrites) CrashPoints.Reach(CrashPoints.ActivityWriteCommitted);
            return staged;
        }, cancellationToken);
    }

    /// <summary>What the run's activities handed to its commit (<see cref="IRunCommitWrite"/>), on the commit's connection and transaction.</summary>
    private static async Task WriteActivitiesWritesAsync(WorkflowDbContext db, WorkflowExecutionContext context, CancellationToken cancellationToken)
    {
        if (context.CommitWrites.Count == 0) return;
        var connection = db.Database.GetDbConnection();
        var transaction = db.Database.CurrentTransaction?.GetDbTransaction()
                          ?? throw new InvalidOperationException("a run's commit writes need the commit's transaction");
        foreach (var write in context.CommitWrites) await write.WriteInCommitAsync(connection, transaction, cancellationToken);
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
            var secrets = context.Secrets.Concat(child.Request.Secrets).ToHashSet(StringComparer.Ordinal);
            var (stimulus, delivery) = ChildDispatches.Rows(child, now, options.Value.InboxRetention, secrets, seal);
            db.Stimuli.Add(stimulus);
            db.Deliveries.Add(delivery);
        }
        if (context.Outbox.Count == 0) return [];
        var recorded = await recorder.StageAsync(db, context.Outbox, options.Value.LeaseWaitTimeout, cancellationToken);
        return recorded.SelectMany((r, i) => r.Deliveries.Select(d => new FollowUp(d, context.Outbox[i].Input, context.Outbox[i].CorrelationId))).ToList();
    }

    /// <summary>A run's rows built in memory, ready to be added to the commit's transaction (again, if it is retried).</summary>
    private sealed record PreparedRun(RunToCommit Run, bool IsNew, bool CorrelationChanged, IReadOnlyList<BookmarkRow> NewBookmarks, IReadOnlyList<string> GoneBookmarks,
        IReadOnlyList<JournalRow> Journal, IReadOnlyDictionary<string, string> ExecutionJson, bool InputWritten);

    private static PreparedRun Prepare(WorkflowDbContext db, RunToCommit run)
    {
        var (row, context) = (run.Row, run.Context);
        var isNew = db.Entry(row).State == EntityState.Added;
        // The row is written by hand (InsertInstancesAsync, UpdateInstancesAsync), not by change tracking: EF's
        // SaveChanges for one new instance cost about a twentieth of a SendSms's CPU.
        db.Entry(row).State = EntityState.Detached;
        var correlationChanged = !isNew && row.CorrelationId != context.State.CorrelationId;
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
        row.StateJson = SecretRedactor.RedactState(RuntimeRows.StateWithoutInput(state), secrets);
        var inputWritten = WriteInput(row, state, isNew, secrets);
        row.LeaseOwner = null;
        row.LeaseExpiresAt = null;

        var after = state.Bookmarks.Select(b => b.Id).ToHashSet(StringComparer.Ordinal);
        var gone = run.BookmarksBefore.Where(id => !after.Contains(id)).ToList();
        var bookmarks = state.Bookmarks.Where(b => !run.BookmarksBefore.Contains(b.Id)).Select(b => new BookmarkRow
        {
            Id = b.Id, InstanceId = row.Id, Name = b.Name, Hash = b.Hash, PayloadJson = SecretRedactor.RedactData(Json(b.Payload), secrets), ActivityInstanceId = b.ActivityInstanceId,
            CorrelationId = state.CorrelationId, CreatedAt = DbTime.ToDb(b.CreatedAt), DueAt = b.DueAt is { } due ? DbTime.ToDb(due) : null,
            RouteKey = HttpRouteKey.Of(b.Name, b.Payload),
        }).ToList();
        var journal = context.NewJournal.Select(record => new JournalRow
        {
            Id = record.Id, InstanceId = row.Id, Sequence = record.Sequence, NodeId = record.NodeId, ActivityType = record.ActivityType,
            EventName = record.EventName, Json = SecretRedactor.RedactJournal(JsonSerializer.Serialize(record, WorkflowJson.Options), secrets),
        }).ToList();
        // As written when the record is new; one that is stored already is merged with the stored one in the transaction.
        var executions = context.ExecutionRecords.Values.ToDictionary(r => r.Id,
            r => SecretRedactor.RedactExecutionRecord(JsonSerializer.Serialize(r, WorkflowJson.Options), secrets), StringComparer.Ordinal);
        return new PreparedRun(run, isNew, correlationChanged, bookmarks, gone, journal, executions, inputWritten);
    }

    /// <summary>
    /// The workflow's input goes into its own column once, when the instance is created (or, for a row from before that
    /// column, on its first commit), and is not rewritten after: it does not change. Only a secret first met by a later
    /// run that also occurs in the input makes the commit write it again, masked.
    /// </summary>
    private static bool WriteInput(InstanceRow row, WorkflowState state, bool isNew, IReadOnlyCollection<string> secrets)
    {
        if (!isNew && row.InputJson is not null && secrets.Count == 0) return false;
        var input = SecretRedactor.RedactData(RuntimeRows.InputOf(state), secrets);
        if (!isNew && input == row.InputJson) return false;
        row.InputJson = input;
        return true;
    }

    /// <summary>
    /// The bookmarks the batch's runs left behind, with one statement: all of an instance that has none now, the ones
    /// resumed of the others (a campaign's wait keeps thousands that a report must not make the commit rewrite).
    /// </summary>
    private static async Task DeleteReplacedAsync(WorkflowDbContext db, IReadOnlyList<PreparedRun> stages, CancellationToken cancellationToken)
    {
        var emptied = stages.Where(x => !x.IsNew && x.Run.Context.State.Bookmarks.Count == 0).Select(x => x.Run.Row.Id).ToList();
        var gone = stages.Where(x => !x.IsNew && x.Run.Context.State.Bookmarks.Count > 0).SelectMany(x => x.GoneBookmarks).ToList();
        if (emptied.Count > 0 || gone.Count > 0)
            await db.Bookmarks.Where(b => emptied.Contains(b.InstanceId) || gone.Contains(b.Id)).ExecuteDeleteAsync(cancellationToken);
    }

    private async Task<List<FollowUp>> StageAsync(WorkflowDbContext db, PreparedRun stage, IReadOnlyList<StimulusRow> inbox, CancellationToken cancellationToken)
    {
        var (row, context) = (stage.Run.Row, stage.Run.Context);
        var state = context.State;
        var instanceId = row.Id;
        // Bookmark rows carry the instance's correlation for matching: a run that changed it moves the kept ones along.
        var correlationId = state.CorrelationId;
        if (stage.CorrelationChanged) await db.Bookmarks.Where(b => b.InstanceId == instanceId).ExecuteUpdateAsync(s => s.SetProperty(b => b.CorrelationId, correlationId), cancellationToken);
        db.Bookmarks.AddRange(stage.NewBookmarks);
        return ClaimEarlyArrivals(db, stage, inbox);
    }

    /// <summary>The bookmarks a run made that stimuli already in the inbox may answer (timers wait for no stimulus).</summary>
    private static IEnumerable<Bookmark> FreshBookmarks(PreparedRun stage) =>
        stage.Run.Context.State.Bookmarks.Where(b => b.DueAt is null && !stage.Run.BookmarksBefore.Contains(b.Id));

    /// <summary>
    /// The inbox entries that may answer any new bookmark of the batch, oldest first, tracked: one query for the whole
    /// group commit. Each run then takes its own by hash and correlation (<see cref="ClaimEarlyArrivals"/>).
    /// </summary>
    private async Task<IReadOnlyList<StimulusRow>> WaitingInboxAsync(WorkflowDbContext db, IReadOnlyList<PreparedRun> stages, CancellationToken cancellationToken)
    {
        var withFresh = stages.Where(x => FreshBookmarks(x).Any()).ToList();
        if (withFresh.Count == 0) return [];
        var nowMs = DbTime.ToDb(time.GetUtcNow());
        var hashes = withFresh.SelectMany(FreshBookmarks).Select(b => b.Hash).Distinct(StringComparer.Ordinal).ToList();
        var correlations = withFresh.Select(x => x.Run.Context.State.CorrelationId).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        return await db.Stimuli
            .Where(s => hashes.Contains(s.Hash) && s.Status == StimulusStatus.Pending && s.ExpiresAt >= nowMs && (s.CorrelationId == null || correlations.Contains(s.CorrelationId)))
            .OrderBy(s => s.ReceivedAt).ToListAsync(cancellationToken);
    }

    /// <summary>
    /// Early arrival: stimuli already waiting in the inbox for the run's new bookmarks are claimed in its transaction (the
    /// oldest first; each stimulus answers one bookmark). An uncorrelated stimulus answers any instance, a correlated one
    /// only an instance of that correlation.
    /// </summary>
    private List<FollowUp> ClaimEarlyArrivals(WorkflowDbContext db, PreparedRun stage, IReadOnlyList<StimulusRow> inbox)
    {
        var followUps = new List<FollowUp>();
        var (instanceId, state) = (stage.Run.Row.Id, stage.Run.Context.State);
        var fresh = FreshBookmarks(stage).ToList();
        if (fresh.Count == 0 || inbox.Count == 0) return followUps;
        var now = time.GetUtcNow();
        var hashes = fresh.Select(b => b.Hash).ToHashSet(StringComparer.Ordinal);
        // A run staged before this one in the same group commit may already have claimed one (marked, not yet saved).
        var byHash = inbox.Where(s => s.Status == StimulusStatus.Pending && hashes.Contains(s.Hash)
                                      && (s.CorrelationId is null || (state.CorrelationId is not null && string.Equals(s.CorrelationId, state.CorrelationId, StringComparison.Ordinal))))
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
    /// The stimulus that started or resumed a run holds what came in (e.g. the HTTP body with the code the user typed);
    /// it is kept for its dedupe key, so its input is blanked too, unless another instance still has to be served from
    /// it. Three queries for the whole group commit, only when a run met secrets.
    /// </summary>
    /// <param name="served">Every delivery the commit serves (removed with it): only another one still owed keeps the input.</param>
    private static async Task RedactServedStimuliAsync(WorkflowDbContext db, IReadOnlyList<PreparedRun> stages, IReadOnlySet<string> served, CancellationToken cancellationToken)
    {
        var withSecrets = stages.Where(x => x.Run.Context.Secrets.Count > 0).SelectMany(x => x.Run.Served.Select(d => (DeliveryId: d, x.Run.Context.Secrets))).ToList();
        if (withSecrets.Count == 0) return;
        var deliveryIds = withSecrets.Select(x => x.DeliveryId).Distinct(StringComparer.Ordinal).ToList();
        var stimulusOf = await db.Deliveries.AsNoTracking().Where(d => deliveryIds.Contains(d.Id)).Select(d => new { d.Id, d.StimulusId })
            .ToDictionaryAsync(d => d.Id, d => d.StimulusId, StringComparer.Ordinal, cancellationToken);
        var stimulusIds = stimulusOf.Values.Distinct(StringComparer.Ordinal).ToList();
        if (stimulusIds.Count == 0) return;
        var stillOwed = (await db.Deliveries.AsNoTracking().Where(d => stimulusIds.Contains(d.StimulusId)).Select(d => new { d.Id, d.StimulusId }).ToListAsync(cancellationToken))
            .Where(d => !served.Contains(d.Id)).Select(d => d.StimulusId).ToHashSet(StringComparer.Ordinal);
        var toRedact = stimulusIds.Where(id => !stillOwed.Contains(id)).ToList();
        if (toRedact.Count == 0) return;
        var stimuli = await db.Stimuli.Where(s => toRedact.Contains(s.Id)).ToDictionaryAsync(s => s.Id, StringComparer.Ordinal, cancellationToken);
        foreach (var (deliveryId, secrets) in withSecrets)
        {
            if (!stimulusOf.TryGetValue(deliveryId, out var stimulusId) || !stimuli.TryGetValue(stimulusId, out var stimulus)) continue;
            stimulus.InputJson = SecretRedactor.RedactData(stimulus.InputJson, secrets);
            stimulus.PayloadJson = SecretRedactor.RedactData(stimulus.PayloadJson, secrets);
        }
    }

    private static readonly string[] InstanceColumns =
    [
        nameof(InstanceRow.DefinitionId), nameof(InstanceRow.DefinitionVersionId), nameof(InstanceRow.Version), nameof(InstanceRow.Status), nameof(InstanceRow.SubStatus),
        nameof(InstanceRow.CorrelationId), nameof(InstanceRow.Name), nameof(InstanceRow.IncidentCount), nameof(InstanceRow.UpdatedAt), nameof(InstanceRow.FinishedAt),
        nameof(InstanceRow.StateJson), nameof(InstanceRow.LeaseOwner), nameof(InstanceRow.LeaseExpiresAt),
    ];

    private static readonly string[] NewInstanceColumns =
    [
        nameof(InstanceRow.Id), nameof(InstanceRow.CreatedAt), nameof(InstanceRow.InputJson), nameof(InstanceRow.StartKey), .. InstanceColumns,
    ];

    /// <summary>
    /// The new instances' rows, inserted by hand. A start key another process committed first fails the commit with a
    /// <see cref="DbUpdateException"/>, as EF's tracked insert did (the starter then finds the instance that stands).
    /// </summary>
    private static async Task InsertInstancesAsync(WorkflowDbContext db, IReadOnlyList<PreparedRun> stages, CancellationToken cancellationToken)
    {
        var created = stages.Where(x => x.IsNew).Select(x => x.Run.Row).ToList();
        try
        {
            await RowStatements.InsertAsync(db, created, NewInstanceColumns, row =>
            [
                row.Id, row.CreatedAt, row.InputJson, row.StartKey, row.DefinitionId, row.DefinitionVersionId, row.Version, row.Status, row.SubStatus, row.CorrelationId,
                row.Name, row.IncidentCount, row.UpdatedAt, row.FinishedAt, row.StateJson, row.LeaseOwner, row.LeaseExpiresAt,
            ], cancellationToken);
        }
        catch (System.Data.Common.DbException e)
        {
            throw new DbUpdateException($"{created.Count} new instance(s) could not be inserted: {e.Message}", e);
        }
    }

    /// <summary>
    /// The stored instances' rows, each with one UPDATE by id (the input only when the run wrote it), several in a
    /// command. A row that is gone fails the commit, as EF's tracked update did.
    /// </summary>
    private static async Task UpdateInstancesAsync(WorkflowDbContext db, IReadOnlyList<PreparedRun> stages, CancellationToken cancellationToken)
    {
        var stored = stages.Where(x => !x.IsNew).ToList();
        if (stored.Count == 0) return;
        var names = RowStatements.Names<InstanceRow>(db);
        var changed = await RowStatements.UpdateAsync(db, stored, InstanceColumns.Length + 2, (stage, value) =>
        {
            var row = stage.Run.Row;
            object?[] values = [row.DefinitionId, row.DefinitionVersionId, row.Version, row.Status, row.SubStatus, row.CorrelationId, row.Name, row.IncidentCount,
                row.UpdatedAt, row.FinishedAt, row.StateJson, row.LeaseOwner, row.LeaseExpiresAt];
            var set = InstanceColumns.Select((column, i) => $"{names.Column(column)} = {value(values[i])}");
            if (stage.InputWritten) set = set.Append($"{names.Column(nameof(InstanceRow.InputJson))} = {value(row.InputJson)}");
            return $"UPDATE {names.Table} SET {string.Join(", ", set)} WHERE {names.Column(nameof(InstanceRow.Id))} = {value(row.Id)}";
        }, cancellationToken);
        if (changed != stored.Count)
            throw new DbUpdateConcurrencyException($"{stored.Count - changed} of the {stored.Count} instances committed are no longer stored.");
    }

    private static readonly string[] JournalColumns =
    [
        nameof(JournalRow.Id), nameof(JournalRow.InstanceId), nameof(JournalRow.Sequence), nameof(JournalRow.NodeId), nameof(JournalRow.ActivityType),
        nameof(JournalRow.EventName), nameof(JournalRow.Json),
    ];

    /// <summary>The runs' journal records, a row each (the journal API filters and pages them by row), with multi-row INSERTs.</summary>
    private static Task InsertJournalAsync(WorkflowDbContext db, IReadOnlyList<PreparedRun> stages, CancellationToken cancellationToken) =>
        RowStatements.InsertAsync(db, stages.SelectMany(x => x.Journal).ToList(), JournalColumns,
            j => [j.Id, j.InstanceId, j.Sequence, j.NodeId, j.ActivityType, j.EventName, j.Json], cancellationToken);

    private static readonly string[] ExecutionColumns =
        [nameof(ExecutionRow.Id), nameof(ExecutionRow.InstanceId), nameof(ExecutionRow.NodeId), nameof(ExecutionRow.StartedAt), nameof(ExecutionRow.Json)];

    /// <summary>The runs' execution records to write: new ones as rows, ones stored already as their merged JSON by id.</summary>
    private sealed record ExecutionRecordWrites(IReadOnlyList<ExecutionRow> Inserted, IReadOnlyList<(string Id, string Json)> Merged);

    /// <summary>
    /// The runs' execution records as they are to be written: new ones as rows, ones stored already (resumed in the run)
    /// merged with the stored JSON, which one query reads for the whole commit.
    /// </summary>
    private static async Task<ExecutionRecordWrites> ExecutionRecordWritesAsync(WorkflowDbContext db, IReadOnlyList<PreparedRun> stages, CancellationToken cancellationToken)
    {
        var executionIds = stages.Where(x => !x.IsNew).SelectMany(x => x.Run.Context.ExecutionRecords.Keys).ToList();
        var stored = executionIds.Count == 0 ? new Dictionary<string, string>()
            : await db.Executions.AsNoTracking().Where(e => executionIds.Contains(e.Id)).ToDictionaryAsync(e => e.Id, e => e.Json, StringComparer.Ordinal, cancellationToken);
        var inserted = new List<ExecutionRow>();
        var merged = new List<(string Id, string Json)>();
        foreach (var stage in stages)
        {
            var context = stage.Run.Context;
            foreach (var record in context.ExecutionRecords.Values)
            {
                if (stored.TryGetValue(record.Id, out var storedJson))
                {
                    // A record resumed in this run was rebuilt without its inputs and outputs: keep the stored ones.
                    var before = JsonSerializer.Deserialize<ActivityExecutionRecord>(storedJson, WorkflowJson.Options)!;
                    record.ActivityState ??= before.ActivityState;
                    record.StartedAt = before.StartedAt;
                    if (before.Outputs != null)
                        foreach (var (key, value) in before.Outputs)
                            if ((record.Outputs ??= []).ContainsKey(key) is false) record.Outputs[key] = value?.DeepClone();
                    merged.Add((record.Id, SecretRedactor.RedactExecutionRecord(JsonSerializer.Serialize(record, WorkflowJson.Options), context.Secrets)));
                }
                else
                {
                    inserted.Add(new ExecutionRow
                    {
                        Id = record.Id, InstanceId = record.WorkflowInstanceId, NodeId = record.ActivityNodeId, StartedAt = DbTime.ToDb(record.StartedAt), Json = stage.ExecutionJson[record.Id],
                    });
                }
            }
        }
        return new ExecutionRecordWrites(inserted, merged);
    }

    private static async Task SaveExecutionRecordsAsync(WorkflowDbContext db, ExecutionRecordWrites writes, CancellationToken cancellationToken)
    {
        await RowStatements.InsertAsync(db, writes.Inserted, ExecutionColumns, e => [e.Id, e.InstanceId, e.NodeId, e.StartedAt, e.Json], cancellationToken);
        if (writes.Merged.Count == 0) return;
        var names = RowStatements.Names<ExecutionRow>(db);
        await RowStatements.UpdateAsync(db, writes.Merged, 2, (record, value) =>
            $"UPDATE {names.Table} SET {names.Column(nameof(ExecutionRow.Json))} = {value(record.Json)} WHERE {names.Column(nameof(ExecutionRow.Id))} = {value(record.Id)}",
            cancellationToken);
    }

    private static string? Json(JsonNode? node) => node?.ToJsonString(WorkflowJson.Options);
}

/// <summary>
/// A run of an instance ready to commit: its row (tracked), its execution, the deliveries it served, its bookmarks
/// before, and any other writes that belong to the same transaction.
/// </summary>
internal sealed record RunToCommit(InstanceRow Row, WorkflowExecutionContext Context, IReadOnlyCollection<string> Served, IReadOnlySet<string> BookmarksBefore,
    Func<WorkflowDbContext, CancellationToken, Task>? AlsoInTransaction = null);
