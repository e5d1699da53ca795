using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Resumes one bookmark of an instance under its ownership, runs the instance until it finishes or waits again and
/// commits. A delivery whose bookmark is gone (resumed by another stimulus, instance ended) is dropped.
/// </summary>
internal sealed class BookmarkResumer(
    IDbContextFactory<WorkflowDbContext> db,
    WorkflowDefinitionService definitions,
    ExecutionContextFactory contexts,
    InstanceOwnership ownership,
    InstanceCommitter committer,
    DeliveryLedger deliveries,
    WorkflowTelemetry telemetry)
{
    public async Task<RunOutcome> ResumeAsync(ResumeRun run, CancellationToken cancellationToken)
    {
        var (bookmarkId, deliveryId) = (run.BookmarkId, run.DeliveryId);
        var (instanceId, stimulusHash) = run.Target is { } known ? (known.InstanceId, known.StimulusHash) : await FindTargetAsync(run, cancellationToken);
        if (instanceId is null) return await deliveries.DropAsync(deliveryId, cancellationToken);

        using var gate = await ownership.EnterAsync(instanceId, cancellationToken);
        if (gate is null) return Busy(instanceId, run.ThrowWhenBusy);
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        if (!await ownership.WaitForLeaseAsync(context, instanceId, cancellationToken))
        {
            if (!await context.Bookmarks.AnyAsync(b => b.Id == bookmarkId || (stimulusHash != null && b.InstanceId == instanceId && b.Hash == stimulusHash), cancellationToken))
                return await deliveries.DropAsync(deliveryId, cancellationToken);
            return Busy(instanceId, run.ThrowWhenBusy);
        }
        try
        {
            var row = await context.Instances.SingleAsync(i => i.Id == instanceId, cancellationToken);
            var state = RuntimeRows.ReadState(row);
            // Under the lease, a delivery that is gone was served by a run that committed before this one (the retry
            // loop and the inline path can both pick it up): re-matching its stimulus here would apply it twice.
            var served = deliveryId != null && !await context.Deliveries.AnyAsync(d => d.Id == deliveryId, cancellationToken);
            var bookmark = served ? null
                : state.Bookmarks.FirstOrDefault(b => b.Id == bookmarkId)
                  ?? (stimulusHash is null ? null : state.Bookmarks.FirstOrDefault(b => b.Hash == stimulusHash && b.DueAt is null));
            if (bookmark is null)
            {
                await ownership.ReleaseAsync(instanceId, state, CancellationToken.None);
                return await deliveries.DropAsync(deliveryId, cancellationToken);
            }
            var workflow = await definitions.GetWorkflowAsync(row.DefinitionVersionId, cancellationToken);
            using var span = WorkflowTelemetry.StartRun("resume", workflow.DefinitionId, instanceId);
            span?.SetTag("workflow.activity_id", bookmark.ActivityId);
            var execution = contexts.Create(workflow, state, cancellationToken);
            var before = state.Bookmarks.Select(b => b.Id).ToHashSet(StringComparer.Ordinal);
            await execution.ResumeAsync(bookmark, run.Input);
            await execution.RunAsync();
            var followUps = await committer.CommitAsync(context, row, execution, deliveryId, before, cancellationToken);
            var result = WorkflowRunResult.From(state);
            telemetry.RecordRun(span, "resume", workflow.DefinitionId, result);
            return new RunOutcome(result, false, followUps);
        }
        catch
        {
            await ownership.ReleaseAsync(instanceId, null, CancellationToken.None);
            throw;
        }
    }

    private async Task<(string? InstanceId, string? StimulusHash)> FindTargetAsync(ResumeRun run, CancellationToken cancellationToken)
    {
        await using var lookup = await db.CreateDbContextAsync(cancellationToken);
        var instanceId = await lookup.Bookmarks.Where(b => b.Id == run.BookmarkId).Select(b => b.InstanceId).FirstOrDefaultAsync(cancellationToken);
        if (run.DeliveryId is not { } deliveryId) return (instanceId, null);
        // A stimulus matched to a bookmark that another stimulus then consumed must not be lost when the activity
        // waits again (a loop, a filter that re-arms): it is re-matched by hash within the same instance.
        var target = await (from d in lookup.Deliveries
                            join st in lookup.Stimuli on d.StimulusId equals st.Id
                            where d.Id == deliveryId
                            select new { d.InstanceId, st.Hash }).FirstOrDefaultAsync(cancellationToken);
        return (instanceId ?? target?.InstanceId, target?.Hash);
    }

    private static RunOutcome Busy(string instanceId, bool throwWhenBusy) =>
        throwWhenBusy ? throw new WorkflowInstanceBusyException(instanceId) : RunOutcome.Busy;
}
