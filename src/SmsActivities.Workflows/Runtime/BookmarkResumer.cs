using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Resumes bookmarks of one instance under its ownership, runs the instance until it finishes or waits again and
/// commits. Several resumptions of one instance (a campaign's reports) share one lease, one load and one commit. A
/// delivery whose bookmark is gone (resumed by another stimulus, instance ended) is dropped.
/// </summary>
internal sealed class BookmarkResumer(
    IDbContextFactory<WorkflowDbContext> db,
    WorkflowDefinitionService definitions,
    ExecutionContextFactory contexts,
    InstanceOwnership ownership,
    InstanceCommitter committer,
    DeliveryLedger deliveries,
    WorkflowTelemetry telemetry,
    DeliveryTraces traces)
{
    public async Task<RunOutcome> ResumeAsync(ResumeRun run, CancellationToken cancellationToken)
    {
        var (instanceId, stimulusHash) = run.Target is { } known ? (known.InstanceId, known.StimulusHash) : await FindTargetAsync(run, cancellationToken);
        if (instanceId is null) return await deliveries.DropAsync(run.DeliveryId, cancellationToken);
        return await ResumeManyAsync(instanceId, [new Resumption(run.BookmarkId, run.Input, run.DeliveryId, stimulusHash)], run.ThrowWhenBusy, cancellationToken);
    }

    /// <summary>
    /// Resumes each of <paramref name="resumptions"/> in order within one run of the instance and commits once. A busy
    /// instance defers nothing itself: the outcome says so and the caller decides (throw, defer, drop).
    /// </summary>
    public async Task<RunOutcome> ResumeManyAsync(string instanceId, IReadOnlyList<Resumption> resumptions, bool throwWhenBusy, CancellationToken cancellationToken)
    {
        var deliveryIds = resumptions.Where(r => r.DeliveryId != null).Select(r => r.DeliveryId!).ToList();
        using var gate = await ownership.EnterAsync(instanceId, cancellationToken);
        if (gate is null) return Busy(instanceId, throwWhenBusy);
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        if (!await ownership.WaitForLeaseAsync(context, instanceId, cancellationToken))
        {
            var bookmarkIds = resumptions.Select(r => r.BookmarkId).ToList();
            var hashes = resumptions.Where(r => r.StimulusHash != null).Select(r => r.StimulusHash!).ToList();
            if (!await context.Bookmarks.AnyAsync(b => bookmarkIds.Contains(b.Id) || (b.InstanceId == instanceId && hashes.Contains(b.Hash)), cancellationToken))
                return await deliveries.DropAsync(deliveryIds, cancellationToken);
            return Busy(instanceId, throwWhenBusy);
        }
        try
        {
            var row = await context.Instances.SingleAsync(i => i.Id == instanceId, cancellationToken);
            var pending = deliveryIds.Count == 0 ? [] : (await context.Deliveries.AsNoTracking().Where(d => deliveryIds.Contains(d.Id)).Select(d => d.Id).ToListAsync(cancellationToken))
                .ToHashSet(StringComparer.Ordinal);
            var run = await RunAsync(row, resumptions, pending, cancellationToken);
            using (run.Span)
            {
                if (run.Execution is null)
                {
                    await ownership.ReleaseAsync(instanceId, run.State, CancellationToken.None);
                    return await deliveries.DropAsync(run.Served, cancellationToken);
                }
                var followUps = await committer.CommitAsync(context, row, run.Execution, run.Served, run.BookmarksBefore, cancellationToken);
                return Completed(run, followUps);
            }
        }
        catch
        {
            await ownership.ReleaseAsync(instanceId, null, CancellationToken.None);
            throw;
        }
    }

    /// <summary>
    /// Applies <paramref name="resumptions"/> in order to the instance of <paramref name="row"/> (leased by the caller),
    /// nothing written yet. A delivery not in <paramref name="pending"/> is gone: under the lease that means a run that
    /// committed before this one served it (the dispatcher and the inline path can both pick one up), and re-matching its
    /// stimulus here would apply it twice. <paramref name="batch"/>: the dispatcher batch the run is part of, if any.
    /// </summary>
    public Task<ResumedRun> RunAsync(InstanceRow row, IReadOnlyList<Resumption> resumptions, IReadOnlySet<string> pending, CancellationToken cancellationToken,
        Execution.ResumeBatch? batch = null) =>
        RunAsync(row, null, resumptions, pending, batch, cancellationToken);

    /// <summary>
    /// <see cref="RunAsync(InstanceRow, IReadOnlyList{Resumption}, IReadOnlySet{string}, CancellationToken)"/> of a workflow
    /// that is not stored (the start-up warm-up's): the same code, given the workflow instead of finding it.
    /// </summary>
    public Task<ResumedRun> RehearseAsync(InstanceRow row, Execution.Workflow workflow, IReadOnlyList<Resumption> resumptions, CancellationToken cancellationToken) =>
        RunAsync(row, workflow, resumptions, resumptions.Select(r => r.DeliveryId).OfType<string>().ToHashSet(StringComparer.Ordinal), null, cancellationToken);

    private async Task<ResumedRun> RunAsync(InstanceRow row, Execution.Workflow? given, IReadOnlyList<Resumption> resumptions, IReadOnlySet<string> pending,
        Execution.ResumeBatch? batch, CancellationToken cancellationToken)
    {
        var state = RuntimeRows.ReadState(row);
        var run = new ResumedRun(state, state.Bookmarks.Select(b => b.Id).ToHashSet(StringComparer.Ordinal));
        foreach (var resumption in resumptions)
        {
            if (resumption.DeliveryId is { } id && !pending.Contains(id)) continue;
            // A stimulus matched to a bookmark that another stimulus then consumed must not be lost when the activity
            // waits again (a loop, a filter that re-arms): it is re-matched by hash within the same instance.
            var bookmark = state.Status == Execution.WorkflowStatus.Finished ? null
                : state.Bookmarks.FirstOrDefault(b => b.Id == resumption.BookmarkId)
                  ?? (resumption.StimulusHash is null ? null : state.Bookmarks.FirstOrDefault(b => b.Hash == resumption.StimulusHash && b.DueAt is null));
            if (resumption.DeliveryId != null) run.Served.Add(resumption.DeliveryId);
            if (bookmark is null) continue;
            if (run.Execution is null)
            {
                var workflow = given ?? await definitions.GetWorkflowAsync(row.DefinitionVersionId, cancellationToken);
                run.DefinitionId = workflow.DefinitionId;
                run.Span = WorkflowTelemetry.StartRun("resume", workflow.DefinitionId, row.Id, traces.Take(resumptions.Select(r => r.DeliveryId)));
                run.Span?.SetTag("workflow.activity_id", bookmark.ActivityId);
                run.Span?.SetTag("workflow.resumptions", resumptions.Count);
                run.Execution = contexts.Create(workflow, state, cancellationToken, batch);
            }
            await run.Execution.ResumeAsync(bookmark, resumption.Input);
            await run.Execution.RunAsync();
        }
        return run;
    }

    /// <summary>Records a committed run (telemetry) and what it owes after.</summary>
    public RunOutcome Completed(ResumedRun run, IReadOnlyList<FollowUp> followUps)
    {
        var result = WorkflowRunResult.From(run.State);
        telemetry.RecordRun(run.Span, "resume", run.DefinitionId!, result);
        return new RunOutcome(result, false, followUps);
    }

    private async Task<(string? InstanceId, string? StimulusHash)> FindTargetAsync(ResumeRun run, CancellationToken cancellationToken)
    {
        await using var lookup = await db.CreateDbContextAsync(cancellationToken);
        var instanceId = await lookup.Bookmarks.AsNoTracking().Where(b => b.Id == run.BookmarkId).Select(b => b.InstanceId).FirstOrDefaultAsync(cancellationToken);
        if (run.DeliveryId is not { } deliveryId) return (instanceId, null);
        var target = await (from d in lookup.Deliveries.AsNoTracking()
                            join st in lookup.Stimuli on d.StimulusId equals st.Id
                            where d.Id == deliveryId
                            select new { d.InstanceId, st.Hash }).FirstOrDefaultAsync(cancellationToken);
        return (instanceId ?? target?.InstanceId, target?.Hash);
    }

    private static RunOutcome Busy(string instanceId, bool throwWhenBusy) =>
        throwWhenBusy ? throw new WorkflowInstanceBusyException(instanceId) : RunOutcome.Busy;
}

/// <summary>One bookmark to resume in a run of its instance, with what resumes it and the delivery it serves, if any.</summary>
internal sealed record Resumption(string BookmarkId, JsonObject? Input, string? DeliveryId, string? StimulusHash);

/// <summary>One instance's resumptions applied in memory, before the commit: nothing ran when <see cref="Execution"/> is null.</summary>
internal sealed class ResumedRun(Execution.WorkflowState state, IReadOnlySet<string> bookmarksBefore)
{
    public Execution.WorkflowState State { get; } = state;
    public IReadOnlySet<string> BookmarksBefore { get; } = bookmarksBefore;
    public List<string> Served { get; } = [];
    public Execution.WorkflowExecutionContext? Execution { get; set; }
    public System.Diagnostics.Activity? Span { get; set; }
    public string? DefinitionId { get; set; }
}
