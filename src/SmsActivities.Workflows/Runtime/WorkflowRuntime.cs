using System.Data;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

public sealed record StartWorkflowRequest
{
    public IReadOnlyDictionary<string, object?>? Input { get; init; }
    public string? CorrelationId { get; init; }
    /// <summary>Which version to start; Elsa's server defaults to Published.</summary>
    public VersionOptions VersionOptions { get; init; } = VersionOptions.Published;
}

/// <summary>Where an instance stands after a run.</summary>
public sealed record WorkflowRunResult(
    string InstanceId,
    WorkflowStatus Status,
    WorkflowSubStatus SubStatus,
    IReadOnlyDictionary<string, JsonNode?> Output,
    IReadOnlyList<Bookmark> Bookmarks,
    IReadOnlyList<WorkflowIncident> Incidents);

/// <summary>
/// What a stimulus did: <see cref="Duplicate"/> (its dedupe key was seen before), the runs it caused,
/// <see cref="Deferred"/> deliveries left to the retry loop (their instance was busy), and whether it
/// waits in the inbox because nothing matched yet.
/// </summary>
public sealed record StimulusResult(string? StimulusId, bool Duplicate, bool StoredInInbox, IReadOnlyList<WorkflowRunResult> Runs, int Deferred)
{
    /// <summary>Deliveries of a <see cref="Stimulus.DropWhenBusy"/> stimulus that found their instance busy and were dropped: nothing ran.</summary>
    public int Dropped { get; init; }
}

/// <summary>The instance is busy and its lease could not be had in time.</summary>
public sealed class WorkflowInstanceBusyException(string instanceId)
    : Exception($"Workflow instance {instanceId} is being executed elsewhere; try again.")
{
    public string InstanceId { get; } = instanceId;
}

/// <summary>
/// Starts, resumes and cancels instances; dispatches stimuli. Every run ends with one transaction that
/// stores the instance state, replaces its bookmarks, appends the journal, removes the delivery it
/// served and matches new bookmarks against the inbox.
/// </summary>
public sealed class WorkflowRuntime
{
    private readonly IDbContextFactory<WorkflowDbContext> _db;
    private readonly WorkflowDefinitionService _definitions;
    private readonly ExpressionEvaluator _evaluator;
    private readonly IServiceProvider _services;
    private readonly TimeProvider _time;
    private readonly WorkflowRuntimeOptions _options;
    private readonly ILogger<WorkflowRuntime> _logger;
    private readonly WorkflowTelemetry _telemetry;
    private readonly KeyedLock _locks = new();
    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    internal WorkflowRuntime(IDbContextFactory<WorkflowDbContext> db, WorkflowDefinitionService definitions, ExpressionEvaluator evaluator,
        IServiceProvider services, TimeProvider time, IOptions<WorkflowRuntimeOptions> options, ILogger<WorkflowRuntime> logger, WorkflowTelemetry telemetry)
    {
        _telemetry = telemetry;
        _db = db;
        _definitions = definitions;
        _evaluator = evaluator;
        _services = services;
        _time = time;
        _options = options.Value;
        _logger = logger;
        Leases = new LeaseRenewer(db, _owner, time, _options.LeaseDuration);
    }

    /// <summary>The leases this process holds while it runs instances, renewed by the lease renewal service.</summary>
    internal LeaseRenewer Leases { get; }

    /// <summary>Raised after a commit that stored a timer, so the timer loop can wake early.</summary>
    internal event Action<DateTimeOffset>? TimerScheduled;

    // ---------------- public API ----------------

    public async Task<WorkflowRunResult> StartAsync(string definitionId, StartWorkflowRequest? request = null, CancellationToken cancellationToken = default)
    {
        request ??= new StartWorkflowRequest();
        var workflow = await _definitions.FindWorkflowAsync(definitionId, request.VersionOptions, cancellationToken)
                       ?? throw new KeyNotFoundException($"No {request.VersionOptions} version of workflow definition '{definitionId}'.");
        var input = (request.Input ?? new Dictionary<string, object?>()).ToDictionary(p => p.Key, p => ValueConverter.ToNode(p.Value));
        var (result, followUps) = await StartCoreAsync(workflow, input, request.CorrelationId, null, null, null, null, cancellationToken);
        await FollowUpAsync(followUps, cancellationToken);
        return result;
    }

    public Task<StimulusResult> SendStimulusAsync(Stimulus stimulus, CancellationToken cancellationToken = default) =>
        SendStimulusAsync(stimulus, null, cancellationToken);

    /// <summary>Resumes one bookmark directly. Null when it no longer exists (already resumed, or the instance ended).</summary>
    public async Task<WorkflowRunResult?> ResumeBookmarkAsync(string bookmarkId, JsonObject? input = null, CancellationToken cancellationToken = default)
    {
        var outcome = await ResumeCoreAsync(bookmarkId, input, null, null, throwWhenBusy: true, cancellationToken);
        await FollowUpAsync(outcome.FollowUps, cancellationToken);
        return outcome.Result;
    }

    /// <summary>Cancels a running or suspended instance; false when it does not exist or has finished.</summary>
    public async Task<bool> CancelAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        using var gate = await _locks.TryAcquireAsync(instanceId, _options.LeaseWaitTimeout, cancellationToken) ?? throw new WorkflowInstanceBusyException(instanceId);
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        if (!await AcquireLeaseAsync(db, instanceId, cancellationToken))
        {
            if (!await db.Instances.AnyAsync(i => i.Id == instanceId && i.Status == nameof(WorkflowStatus.Running), cancellationToken)) return false;
            throw new WorkflowInstanceBusyException(instanceId);
        }
        var row = await db.Instances.SingleAsync(i => i.Id == instanceId, cancellationToken);
        var state = ReadState(row);
        var workflow = await _definitions.GetWorkflowAsync(row.DefinitionVersionId, cancellationToken);
        var context = new WorkflowExecutionContext(workflow, state, _services, _time, _evaluator, cancellationToken);
        context.Cancel();
        await CommitAsync(db, row, context, null, new HashSet<string>(), cancellationToken);
        return true;
    }

    // ---------------- stimuli ----------------

    internal async Task<StimulusResult> SendStimulusAsync(Stimulus stimulus, IDictionary<string, object>? transient, CancellationToken cancellationToken) =>
        (await SendStimuliAsync([stimulus], transient, cancellationToken))[0];

    /// <summary>
    /// Records a batch of stimuli (e.g. every report of one vendor push) in one transaction: one dedupe query for all
    /// their keys, one trigger query and one bookmark query for all their hashes. Then runs what they matched, at most
    /// <see cref="WorkflowRuntimeOptions.MaxParallelRuns"/> instances at once. One result per stimulus, in order.
    /// </summary>
    public Task<IReadOnlyList<StimulusResult>> SendStimuliAsync(IReadOnlyList<Stimulus> stimuli, CancellationToken cancellationToken = default) =>
        SendStimuliAsync(stimuli, null, cancellationToken);

    private async Task<IReadOnlyList<StimulusResult>> SendStimuliAsync(IReadOnlyList<Stimulus> stimuli, IDictionary<string, object>? transient, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stimuli);
        if (stimuli.Count == 0) return [];
        var recorded = await RecordStimuliAsync(stimuli, cancellationToken);
        if (recorded is null)
        {
            // Lost a race on a dedupe key with another delivery of the same events: each is tried alone, so the
            // unique key decides which of them are duplicates and the others still go through.
            if (stimuli.Count == 1) return [new StimulusResult(null, true, false, [], 0)];
            var oneByOne = new List<StimulusResult>(stimuli.Count);
            foreach (var stimulus in stimuli) oneByOne.Add(await SendStimulusAsync(stimulus, transient, cancellationToken));
            return oneByOne;
        }

        var runs = recorded.Select(_ => new List<WorkflowRunResult>()).ToArray();
        var deferred = new int[recorded.Count];
        var dropped = new int[recorded.Count];
        // Deliveries to one instance run in order on one lane; lanes of different instances run side by side.
        var lanes = recorded.SelectMany((r, i) => r.Deliveries.Select(d => (Index: i, Delivery: d)))
            .GroupBy(x => x.Delivery.InstanceId ?? x.Delivery.Id, StringComparer.Ordinal).ToList();
        await Parallel.ForEachAsync(lanes, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.MaxParallelRuns), CancellationToken = cancellationToken },
            async (lane, ct) =>
            {
                foreach (var (index, delivery) in lane)
                {
                    var stimulus = stimuli[index];
                    var outcome = await ProcessDeliveryAsync(delivery, stimulus.Input, stimulus.CorrelationId, transient, ct, stimulus.Hash, stimulus.DropWhenBusy);
                    lock (runs[index])
                    {
                        if (outcome.Result != null) runs[index].Add(outcome.Result);
                        if (outcome.Deferred && stimulus.DropWhenBusy) dropped[index]++;
                        else if (outcome.Deferred) deferred[index]++;
                    }
                    await FollowUpAsync(outcome.FollowUps, ct);
                }
            });
        var results = recorded.Select((r, i) => r.Duplicate
            ? new StimulusResult(null, true, false, [], 0)
            : new StimulusResult(r.StimulusId, false, r.Deliveries.Count == 0 && stimuli[i].KeepInInbox, runs[i], deferred[i]) { Dropped = dropped[i] }).ToList();
        if (lanes.Count > 0) await SendLateMatchesAsync(stimuli, recorded, results, transient, cancellationToken);
        return results;
    }

    /// <summary>
    /// One after the other, a stimulus that must not wait would have met the bookmark an earlier one of the same batch
    /// made (a reply that starts a workflow which then waits for the next reply of the same push). The batch matched
    /// them all before any ran, so those that matched nothing are tried once more against the bookmarks there are now.
    /// </summary>
    private async Task SendLateMatchesAsync(IReadOnlyList<Stimulus> stimuli, IReadOnlyList<RecordedStimulus> recorded, List<StimulusResult> results,
        IDictionary<string, object>? transient, CancellationToken cancellationToken)
    {
        var unmatched = Enumerable.Range(0, stimuli.Count).Where(i => !recorded[i].Duplicate && recorded[i].Deliveries.Count == 0 && !stimuli[i].KeepInInbox).ToList();
        if (unmatched.Count == 0) return;
        var hashes = unmatched.Select(i => stimuli[i].Hash).Distinct(StringComparer.Ordinal).ToList();
        HashSet<string> waiting;
        await using (var db = await _db.CreateDbContextAsync(cancellationToken))
            waiting = (await db.Bookmarks.Where(b => hashes.Contains(b.Hash)).Select(b => b.Hash).Distinct().ToListAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var again = unmatched.Where(i => waiting.Contains(stimuli[i].Hash)).ToList();
        if (again.Count == 0) return;
        // A remembered stimulus already holds its dedupe key: its late match goes without one (the stored key still
        // turns away a repeat of the whole push).
        var late = await SendStimuliAsync(again.Select(i => stimuli[i].RememberWhenUnmatched ? stimuli[i] with { DedupeKey = null, RememberWhenUnmatched = false } : stimuli[i]).ToList(),
            transient, cancellationToken);
        for (var j = 0; j < again.Count; j++) results[again[j]] = late[j];
    }

    private sealed record RecordedStimulus(bool Duplicate, string? StimulusId, IReadOnlyList<DeliveryRow> Deliveries);

    /// <summary>
    /// The transaction of <see cref="SendStimuliAsync"/>; null when a concurrent delivery took one of the dedupe keys.
    /// What is stored: a stimulus that matched something (its deliveries point at it, and its dedupe key must then be
    /// remembered so a repeat cannot run those workflows twice), and one that must wait in the inbox. A stimulus that
    /// matched nothing and must not wait did nothing, so a repeat of it cannot double anything: it is not stored.
    /// </summary>
    private async Task<IReadOnlyList<RecordedStimulus>?> RecordStimuliAsync(IReadOnlyList<Stimulus> stimuli, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        await using var tx = await db.Database.BeginTransactionAsync(IsolationLevel.Serializable, cancellationToken);
        var keys = stimuli.Where(s => s.DedupeKey != null).Select(s => s.DedupeKey!).Distinct(StringComparer.Ordinal).ToList();
        var seen = keys.Count == 0 ? [] : (await db.Stimuli.Where(s => keys.Contains(s.DedupeKey!)).Select(s => s.DedupeKey!).ToListAsync(cancellationToken))
            .ToHashSet(StringComparer.Ordinal);
        var hashes = stimuli.Select(s => s.Hash).ToArray();
        var wanted = hashes.Where((_, i) => stimuli[i].DedupeKey is null || !seen.Contains(stimuli[i].DedupeKey!)).Distinct(StringComparer.Ordinal).ToList();
        var startHashes = wanted.Where(h => stimuli.Any(s => s.WorkflowInstanceId is null && s.Hash == h)).ToList();
        var triggers = (await db.Triggers.Where(t => startHashes.Contains(t.Hash))
                .Select(t => new { t.Hash, t.DefinitionVersionId, t.ActivityId }).ToListAsync(cancellationToken))
            .ToLookup(t => t.Hash, StringComparer.Ordinal);
        var bookmarks = (await db.Bookmarks.Where(b => wanted.Contains(b.Hash))
                .Select(b => new { b.Hash, b.Id, b.InstanceId, b.CorrelationId }).ToListAsync(cancellationToken))
            .ToLookup(b => b.Hash, StringComparer.Ordinal);

        var recorded = new List<RecordedStimulus>(stimuli.Count);
        for (var i = 0; i < stimuli.Count; i++)
        {
            var stimulus = stimuli[i];
            // A key seen before, or earlier in this very batch, makes it a duplicate.
            if (stimulus.DedupeKey != null && !seen.Add(stimulus.DedupeKey))
            {
                recorded.Add(new RecordedStimulus(true, null, []));
                continue;
            }
            var id = NewId();
            var deliveries = new List<DeliveryRow>();
            if (stimulus.WorkflowInstanceId is null)
                foreach (var trigger in triggers[hashes[i]])
                    deliveries.Add(NewDelivery(id, DeliveryKind.Start, now, definitionVersionId: trigger.DefinitionVersionId, triggerActivityId: trigger.ActivityId));
            foreach (var bookmark in bookmarks[hashes[i]])
            {
                if (stimulus.CorrelationId != null && bookmark.CorrelationId != stimulus.CorrelationId) continue;
                if (stimulus.WorkflowInstanceId != null && bookmark.InstanceId != stimulus.WorkflowInstanceId) continue;
                deliveries.Add(NewDelivery(id, DeliveryKind.Resume, now, bookmark.Id, bookmark.InstanceId));
            }
            if (deliveries.Count > 0 || stimulus.KeepInInbox || (stimulus.RememberWhenUnmatched && stimulus.DedupeKey != null))
            {
                db.Stimuli.Add(new StimulusRow
                {
                    Id = id, Name = stimulus.Name, Hash = hashes[i], PayloadJson = Json(stimulus.Payload), InputJson = Json(stimulus.Input),
                    CorrelationId = stimulus.CorrelationId, DedupeKey = stimulus.DedupeKey,
                    // Only a stimulus that may wait stays Pending: a remembered one must never be claimed by a later bookmark.
                    Status = deliveries.Count == 0 && stimulus.KeepInInbox ? StimulusStatus.Pending : StimulusStatus.Consumed,
                    ReceivedAt = DbTime.ToDb(now), ExpiresAt = DbTime.ToDb(now + _options.InboxRetention),
                });
                db.Deliveries.AddRange(deliveries);
            }
            recorded.Add(new RecordedStimulus(false, id, deliveries));
        }
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }
        catch (DbUpdateException) when (keys.Count > 0)
        {
            return null;
        }
        return recorded;
    }

    private DeliveryRow NewDelivery(string stimulusId, DeliveryKind kind, DateTimeOffset now, string? bookmarkId = null, string? instanceId = null,
        string? definitionVersionId = null, string? triggerActivityId = null) => new()
    {
        Id = NewId(), StimulusId = stimulusId, Kind = kind, BookmarkId = bookmarkId, InstanceId = instanceId,
        DefinitionVersionId = definitionVersionId, TriggerActivityId = triggerActivityId,
        CreatedAt = DbTime.ToDb(now), NextAttemptAt = DbTime.ToDb(now + _options.LeaseWaitTimeout),
    };

    /// <summary>Deliveries left by crashes, busy instances or inbox matches; run by the background service.</summary>
    internal async Task<int> ProcessPendingDeliveriesAsync(int max, CancellationToken cancellationToken)
    {
        List<(DeliveryRow Delivery, StimulusRow? Stimulus)> due;
        var now = DbTime.ToDb(_time.GetUtcNow());
        await using (var db = await _db.CreateDbContextAsync(cancellationToken))
        {
            var rows = await db.Deliveries.Where(d => d.NextAttemptAt <= now).OrderBy(d => d.NextAttemptAt).Take(max).ToListAsync(cancellationToken);
            var stimulusIds = rows.Select(r => r.StimulusId).Distinct().ToList();
            var stimuli = await db.Stimuli.Where(s => stimulusIds.Contains(s.Id)).ToDictionaryAsync(s => s.Id, cancellationToken);
            due = rows.Select(r => (r, stimuli.GetValueOrDefault(r.StimulusId))).ToList();
        }
        foreach (var (delivery, stimulus) in due)
        {
            var input = stimulus?.InputJson is { } json ? JsonNode.Parse(json)?.AsObject() : null;
            try
            {
                var outcome = await ProcessDeliveryAsync(delivery, input, stimulus?.CorrelationId, null, cancellationToken);
                await FollowUpAsync(outcome.FollowUps, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogError(e, "Stimulus delivery {DeliveryId} failed; it will be retried.", delivery.Id);
                await DeferAsync(delivery, cancellationToken);
            }
        }
        return due.Count;
    }

    /// <param name="stimulusHash">Known when the delivery was just recorded: spares the resume looking its target up again.</param>
    private async Task<RunOutcome> ProcessDeliveryAsync(DeliveryRow delivery, JsonObject? input, string? correlationId, IDictionary<string, object>? transient,
        CancellationToken cancellationToken, string? stimulusHash = null, bool dropWhenBusy = false)
    {
        if (delivery.Kind == DeliveryKind.Resume)
        {
            var target = stimulusHash is null || delivery.InstanceId is null ? null : new ResumeTarget(delivery.InstanceId, stimulusHash);
            var outcome = await ResumeCoreAsync(delivery.BookmarkId!, input, delivery.Id, transient, throwWhenBusy: false, cancellationToken, target);
            if (outcome.Deferred && dropWhenBusy) await DropDeliveryAsync(delivery.Id, cancellationToken);
            else if (outcome.Deferred) await DeferAsync(delivery, cancellationToken);
            return outcome;
        }
        await using (var db = await _db.CreateDbContextAsync(cancellationToken))
        {
            if (await db.Instances.AnyAsync(i => i.StartKey == delivery.Id, cancellationToken))
            {
                await db.Deliveries.Where(d => d.Id == delivery.Id).ExecuteDeleteAsync(cancellationToken);
                return new RunOutcome(null, false, []);
            }
        }
        var workflow = await _definitions.GetWorkflowAsync(delivery.DefinitionVersionId!, cancellationToken);
        var (result, followUps) = await StartCoreAsync(workflow, [], correlationId, delivery.TriggerActivityId, input ?? [], delivery.Id, transient, cancellationToken);
        return new RunOutcome(result, false, followUps);
    }

    /// <summary>Retries back off exponentially (capped at 10 minutes) so a delivery that keeps failing does not hammer the database.</summary>
    private async Task DeferAsync(DeliveryRow delivery, CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var backoff = TimeSpan.FromTicks(Math.Min(_options.PollInterval.Ticks * (1L << Math.Min(delivery.Attempts, 20)), TimeSpan.FromMinutes(10).Ticks));
        var next = DbTime.ToDb(_time.GetUtcNow() + backoff);
        var deliveryId = delivery.Id;
        await db.Deliveries.Where(d => d.Id == deliveryId)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptAt, next).SetProperty(d => d.Attempts, d => d.Attempts + 1), cancellationToken);
    }

    // ---------------- timers ----------------

    /// <summary>Resumes bookmarks whose due time has passed; a busy instance is simply tried on the next pass.</summary>
    internal async Task<int> ResumeDueTimersAsync(int max, CancellationToken cancellationToken)
    {
        var now = DbTime.ToDb(_time.GetUtcNow());
        List<string> due;
        await using (var db = await _db.CreateDbContextAsync(cancellationToken))
            due = await db.Bookmarks.Where(b => b.DueAt != null && b.DueAt <= now).OrderBy(b => b.DueAt).Select(b => b.Id).Take(max).ToListAsync(cancellationToken);
        foreach (var id in due)
        {
            var outcome = await ResumeCoreAsync(id, null, null, null, throwWhenBusy: false, cancellationToken);
            await FollowUpAsync(outcome.FollowUps, cancellationToken);
        }
        return due.Count;
    }

    internal async Task<DateTimeOffset?> NextTimerAsync(CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var next = await db.Bookmarks.Where(b => b.DueAt != null).OrderBy(b => b.DueAt).Select(b => b.DueAt).FirstOrDefaultAsync(cancellationToken);
        return DbTime.FromDb(next);
    }

    // ---------------- recovery and housekeeping ----------------

    /// <summary>
    /// Instances whose lease expired while executing (their process died) go back to their last committed
    /// state; the deliveries that were running them are still pending and will run again.
    /// </summary>
    internal async Task<int> RecoverAsync(CancellationToken cancellationToken)
    {
        var now = DbTime.ToDb(_time.GetUtcNow());
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var stale = (await db.Instances.Where(i => i.SubStatus == nameof(WorkflowSubStatus.Executing) && i.LeaseExpiresAt != null && i.LeaseExpiresAt < now)
            .ToListAsync(cancellationToken)).Where(i => i.LeaseOwner != _owner || !Leases.Holds(i.Id)).ToList(); // a renewal that came late is not a crash
        foreach (var row in stale)
        {
            var state = ReadState(row);
            _logger.LogWarning("Recovering workflow instance {InstanceId} left executing by {Owner}.", row.Id, row.LeaseOwner);
            row.SubStatus = state.SubStatus.ToString();
            row.Status = state.Status.ToString();
            row.LeaseOwner = null;
            row.LeaseExpiresAt = null;
        }
        await db.SaveChangesAsync(cancellationToken);
        // The deliveries the dead process was running have backed off while it held the lease: they are due now.
        var recovered = stale.Select(i => i.Id).ToList();
        if (recovered.Count > 0)
            await db.Deliveries.Where(d => d.InstanceId != null && recovered.Contains(d.InstanceId) && d.NextAttemptAt > now)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptAt, now), cancellationToken);
        return stale.Count;
    }

    /// <summary>Drops stimuli past their retention: unmatched ones expire, consumed ones stop guarding their dedupe key.</summary>
    internal async Task<int> PurgeExpiredStimuliAsync(CancellationToken cancellationToken)
    {
        var now = DbTime.ToDb(_time.GetUtcNow());
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        return await db.Stimuli.Where(s => s.ExpiresAt < now && !db.Deliveries.Any(d => d.StimulusId == s.Id)).ExecuteDeleteAsync(cancellationToken);
    }

    // ---------------- core ----------------

    private sealed record RunOutcome(WorkflowRunResult? Result, bool Deferred, IReadOnlyList<FollowUp> FollowUps);

    /// <summary>Work a commit leaves for after the locks are released: inbox matches to resume, stimuli to publish.</summary>
    private sealed record FollowUp(DeliveryRow? Delivery, JsonObject? Input, Stimulus? Publish);

    private async Task<(WorkflowRunResult, IReadOnlyList<FollowUp>)> StartCoreAsync(Workflow workflow, Dictionary<string, JsonNode?> input, string? correlationId,
        string? triggerActivityId, JsonObject? triggerInput, string? deliveryId, IDictionary<string, object>? transient, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var state = new WorkflowState
        {
            // A start by a delivery is named after it: a retry after a crash re-creates the same instance (same execution keys).
            Id = deliveryId ?? NewId(), DefinitionId = workflow.DefinitionId, DefinitionVersionId = workflow.DefinitionVersionId,
            DefinitionVersion = workflow.Version, CorrelationId = correlationId, Name = workflow.Name, Input = input,
            Status = WorkflowStatus.Running, SubStatus = WorkflowSubStatus.Pending, CreatedAt = now, UpdatedAt = now,
        };
        foreach (var variable in workflow.Variables) state.Variables[variable.Name] = InitialValue(variable);
        var context = new WorkflowExecutionContext(workflow, state, _services, _time, _evaluator, cancellationToken)
        {
            TriggerActivityId = triggerActivityId,
            TriggerInput = triggerInput,
        };
        CopyTransient(transient, context);
        // The instance has no row to lease until it commits: the delivery starting it is kept from falling due meanwhile.
        if (deliveryId != null) Leases.TrackStart(deliveryId);
        using var span = WorkflowTelemetry.StartRun("start", workflow.DefinitionId, state.Id);
        try
        {
            context.Start(workflow.Root);
            await context.RunAsync();
            var row = new InstanceRow { Id = state.Id, StartKey = deliveryId, CreatedAt = DbTime.ToDb(now) };
            await using var db = await _db.CreateDbContextAsync(cancellationToken);
            db.Instances.Add(row);
            var followUps = await CommitAsync(db, row, context, deliveryId, new HashSet<string>(), cancellationToken);
            var result = ToResult(state);
            _telemetry.RecordRun(span, "start", workflow.DefinitionId, result);
            return (result, followUps);
        }
        finally
        {
            if (deliveryId != null) Leases.ReleaseStart(deliveryId);
        }
    }

    /// <summary>The instance a delivery's bookmark belongs to and the hash of its stimulus.</summary>
    private sealed record ResumeTarget(string InstanceId, string StimulusHash);

    private async Task<RunOutcome> ResumeCoreAsync(string bookmarkId, JsonObject? input, string? deliveryId, IDictionary<string, object>? transient,
        bool throwWhenBusy, CancellationToken cancellationToken, ResumeTarget? known = null)
    {
        string? instanceId = known?.InstanceId;
        string? stimulusHash = known?.StimulusHash;
        if (known is null)
        {
            await using var lookup = await _db.CreateDbContextAsync(cancellationToken);
            instanceId = await lookup.Bookmarks.Where(b => b.Id == bookmarkId).Select(b => b.InstanceId).FirstOrDefaultAsync(cancellationToken);
            if (deliveryId != null)
            {
                // A stimulus matched to a bookmark that another stimulus then consumed must not be lost when the activity
                // waits again (a loop, a filter that re-arms): it is re-matched by hash within the same instance.
                var target = await (from d in lookup.Deliveries
                                    join st in lookup.Stimuli on d.StimulusId equals st.Id
                                    where d.Id == deliveryId
                                    select new { d.InstanceId, st.Hash }).FirstOrDefaultAsync(cancellationToken);
                stimulusHash = target?.Hash;
                instanceId ??= target?.InstanceId;
            }
        }
        if (instanceId is null) return await DropDeliveryAsync(deliveryId, cancellationToken);

        using var gate = await _locks.TryAcquireAsync(instanceId, _options.LeaseWaitTimeout, cancellationToken);
        if (gate is null) return Busy(instanceId, throwWhenBusy);
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        if (!await WaitForLeaseAsync(db, instanceId, cancellationToken))
        {
            if (!await db.Bookmarks.AnyAsync(b => b.Id == bookmarkId || (stimulusHash != null && b.InstanceId == instanceId && b.Hash == stimulusHash), cancellationToken))
                return await DropDeliveryAsync(deliveryId, cancellationToken);
            return Busy(instanceId, throwWhenBusy);
        }
        try
        {
            var row = await db.Instances.SingleAsync(i => i.Id == instanceId, cancellationToken);
            var state = ReadState(row);
            // Under the lease, a delivery that is gone was served by a run that committed before this one (the retry
            // loop and the inline path can both pick it up): re-matching its stimulus here would apply it twice.
            var served = deliveryId != null && !await db.Deliveries.AnyAsync(d => d.Id == deliveryId, cancellationToken);
            var bookmark = served ? null
                : state.Bookmarks.FirstOrDefault(b => b.Id == bookmarkId)
                  ?? (stimulusHash is null ? null : state.Bookmarks.FirstOrDefault(b => b.Hash == stimulusHash && b.DueAt is null));
            if (bookmark is null)
            {
                await ReleaseLeaseAsync(instanceId, state, CancellationToken.None);
                return await DropDeliveryAsync(deliveryId, cancellationToken);
            }
            var workflow = await _definitions.GetWorkflowAsync(row.DefinitionVersionId, cancellationToken);
            using var span = WorkflowTelemetry.StartRun("resume", workflow.DefinitionId, instanceId);
            span?.SetTag("workflow.activity_id", bookmark.ActivityId);
            var context = new WorkflowExecutionContext(workflow, state, _services, _time, _evaluator, cancellationToken);
            CopyTransient(transient, context);
            var before = state.Bookmarks.Select(b => b.Id).ToHashSet(StringComparer.Ordinal);
            await context.ResumeAsync(bookmark, input);
            await context.RunAsync();
            var followUps = await CommitAsync(db, row, context, deliveryId, before, cancellationToken);
            var result = ToResult(state);
            _telemetry.RecordRun(span, "resume", workflow.DefinitionId, result);
            return new RunOutcome(result, false, followUps);
        }
        catch
        {
            await ReleaseLeaseAsync(instanceId, null, CancellationToken.None);
            throw;
        }
    }

    private RunOutcome Busy(string instanceId, bool throwWhenBusy) =>
        throwWhenBusy ? throw new WorkflowInstanceBusyException(instanceId) : new RunOutcome(null, true, []);

    private async Task<RunOutcome> DropDeliveryAsync(string? deliveryId, CancellationToken cancellationToken)
    {
        if (deliveryId != null)
        {
            await using var db = await _db.CreateDbContextAsync(cancellationToken);
            await db.Deliveries.Where(d => d.Id == deliveryId).ExecuteDeleteAsync(cancellationToken);
        }
        return new RunOutcome(null, false, []);
    }

    private async Task<IReadOnlyList<FollowUp>> CommitAsync(WorkflowDbContext db, InstanceRow row, WorkflowExecutionContext context, string? deliveryId,
        IReadOnlySet<string> bookmarksBefore, CancellationToken cancellationToken)
    {
        var state = context.State;
        var isNew = db.Entry(row).State == EntityState.Added;
        await using var tx = await db.Database.BeginTransactionAsync(IsolationLevel.Serializable, cancellationToken);
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

        var followUps = new List<FollowUp>();
        var now = DbTime.ToDb(_time.GetUtcNow());
        foreach (var bookmark in state.Bookmarks.Where(b => b.DueAt is null && !bookmarksBefore.Contains(b.Id)))
        {
            // Early arrival: a stimulus already waiting in the inbox is claimed in this very transaction.
            var waiting = db.Stimuli.Where(s => s.Hash == bookmark.Hash && s.Status == StimulusStatus.Pending && s.ExpiresAt >= now);
            waiting = state.CorrelationId is null ? waiting.Where(s => s.CorrelationId == null) : waiting.Where(s => s.CorrelationId == null || s.CorrelationId == state.CorrelationId);
            var stimulus = await waiting.OrderBy(s => s.ReceivedAt).FirstOrDefaultAsync(cancellationToken);
            if (stimulus is null) continue;
            stimulus.Status = StimulusStatus.Consumed;
            var delivery = NewDelivery(stimulus.Id, DeliveryKind.Resume, _time.GetUtcNow(), bookmark.Id, row.Id);
            db.Deliveries.Add(delivery);
            followUps.Add(new FollowUp(delivery, stimulus.InputJson is { } json ? JsonNode.Parse(json)?.AsObject() : null, null));
        }
        followUps.AddRange(context.Outbox.Select(s => new FollowUp(null, null, s)));
        await db.SaveChangesAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
        Leases.ReleaseInstance(row.Id);
        if (state.Bookmarks.Where(b => b.DueAt != null).Select(b => b.DueAt).Min() is { } next) TimerScheduled?.Invoke(next);
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

    private async Task FollowUpAsync(IReadOnlyList<FollowUp> followUps, CancellationToken cancellationToken)
    {
        foreach (var followUp in followUps)
        {
            if (followUp.Delivery is { } delivery)
            {
                var outcome = await ProcessDeliveryAsync(delivery, followUp.Input, null, null, cancellationToken);
                await FollowUpAsync(outcome.FollowUps, cancellationToken);
            }
            if (followUp.Publish is { } stimulus) await SendStimulusAsync(stimulus, null, cancellationToken);
        }
    }

    // ---------------- leases ----------------

    private async Task<bool> WaitForLeaseAsync(WorkflowDbContext db, string instanceId, CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + _options.LeaseWaitTimeout;
        var delay = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            if (await AcquireLeaseAsync(db, instanceId, cancellationToken)) return true;
            if (_time.GetUtcNow() >= deadline) return false;
            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 200));
        }
    }

    /// <summary>One conditional UPDATE: succeeds only when nobody holds an unexpired lease on a running instance.</summary>
    private async Task<bool> AcquireLeaseAsync(WorkflowDbContext db, string instanceId, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var nowMs = DbTime.ToDb(now);
        var expires = DbTime.ToDb(now + _options.LeaseDuration);
        var running = nameof(WorkflowStatus.Running);
        var updated = await db.Instances
            .Where(i => i.Id == instanceId && i.Status == running && (i.LeaseExpiresAt == null || i.LeaseExpiresAt < nowMs))
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.LeaseOwner, _owner).SetProperty(i => i.LeaseExpiresAt, expires)
                .SetProperty(i => i.SubStatus, nameof(WorkflowSubStatus.Executing)), cancellationToken);
        if (updated == 1) Leases.TrackInstance(instanceId);
        return updated == 1;
    }

    private async Task ReleaseLeaseAsync(string instanceId, WorkflowState? state, CancellationToken cancellationToken)
    {
        Leases.ReleaseInstance(instanceId);
        try
        {
            await using var db = await _db.CreateDbContextAsync(cancellationToken);
            var row = await db.Instances.SingleOrDefaultAsync(i => i.Id == instanceId && i.LeaseOwner == _owner, cancellationToken);
            if (row is null) return;
            row.SubStatus = (state ?? ReadState(row)).SubStatus.ToString();
            row.LeaseOwner = null;
            row.LeaseExpiresAt = null;
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException)
        {
            _logger.LogWarning(e, "Could not release the lease of {InstanceId}; it will expire.", instanceId);
        }
    }

    // ---------------- helpers ----------------

    private static WorkflowState ReadState(InstanceRow row) =>
        JsonSerializer.Deserialize<WorkflowState>(row.StateJson, WorkflowJson.Options) ?? throw new InvalidDataException($"Instance {row.Id} has no state.");

    private static JsonNode? InitialValue(VariableDefinition variable)
    {
        // Studio stores typed defaults as text ("0", "true"): give them their JSON type.
        if (variable.Value is JsonValue v && v.TryGetValue<string>(out var text) && variable.TypeName is { } type && text.Length > 0)
        {
            try
            {
                return type switch
                {
                    "Int32" or "Int64" or "Double" or "Decimal" or "Single" or "Boolean" or "Object" => JsonNode.Parse(text),
                    _ => v.DeepClone(),
                };
            }
            catch (JsonException)
            {
                return v.DeepClone();
            }
        }
        return variable.Value?.DeepClone();
    }

    private static void CopyTransient(IDictionary<string, object>? transient, WorkflowExecutionContext context)
    {
        if (transient is null) return;
        foreach (var (key, value) in transient) context.TransientProperties[key] = value;
    }

    private static WorkflowRunResult ToResult(WorkflowState state) =>
        new(state.Id, state.Status, state.SubStatus, state.Output, state.Bookmarks.ToList(), state.Incidents.ToList());

    private static string? Json(JsonNode? node) => node?.ToJsonString(WorkflowJson.Options);

    private static string NewId() => Guid.CreateVersion7().ToString("N");
}
