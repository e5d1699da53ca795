using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>What a batch did: the outcomes of the instances it committed, and the lanes it left to the one-by-one path.</summary>
internal sealed record BatchOutcome(IReadOnlyList<RunOutcome> Committed, IReadOnlyList<IReadOnlyList<DueDelivery>> Left);

/// <summary>
/// Resumes many instances at once, each with all its deliveries of the batch: their gates, leases and rows come with the claim
/// (one transaction, see <see cref="DeliveryLedger.ClaimDueAsync"/>), the runs go side by side, then one commit
/// transaction for every run (group commit), so a batch of reports for different instances pays for two write turns in
/// all instead of two per instance. An instance that is busy (here or in another process) or whose run throws is left
/// out and handed back, so it cannot hold up or roll back the others.
/// </summary>
internal sealed class BatchResumer(
    IDbContextFactory<WorkflowDbContext> db,
    InstanceOwnership ownership,
    BookmarkResumer resumer,
    InstanceCommitter committer,
    DeliveryLedger deliveries,
    IOptions<WorkflowRuntimeOptions> options,
    ILogger<BatchResumer> logger)
{
    /// <param name="lanes">Deliveries grouped by the instance they resume (each lane one instance).</param>
    /// <param name="claim">The claim's leased rows of those instances (untracked) and their gates, disposed here; a lane without one is handed back.</param>
    public async Task<BatchOutcome> RunAsync(IReadOnlyList<IReadOnlyList<DueDelivery>> lanes, ClaimedBatch claim, CancellationToken cancellationToken)
    {
        var left = new List<IReadOnlyList<DueDelivery>>();
        var byId = claim.Leased.ToDictionary(r => r.Id, StringComparer.Ordinal);
        // Leases this batch holds and has not yet handed to a commit.
        var held = new HashSet<string>(byId.Keys, StringComparer.Ordinal);
        try
        {
            var mine = new Dictionary<string, IReadOnlyList<DueDelivery>>(StringComparer.Ordinal);
            var rows = new List<InstanceRow>();
            foreach (var lane in lanes)
            {
                if (byId.TryGetValue(lane[0].Delivery.InstanceId!, out var row))
                {
                    mine[row.Id] = lane;
                    rows.Add(row);
                }
                else left.Add(lane);
            }
            if (rows.Count == 0) return new BatchOutcome([], left);

            await using var context = await db.CreateDbContextAsync(cancellationToken);
            context.Instances.AttachRange(rows);
            // Leased in the claim's transaction, while every claimed delivery still existed: none can have been served since.
            var pending = rows.SelectMany(r => mine[r.Id]).Select(d => d.Delivery.Id).ToHashSet(StringComparer.Ordinal);
            var runs = new ResumedRun?[rows.Count];
            // What each run resumes with, for an activity that would read for its own run what it can read once for all.
            await using var batch = new ResumeBatch(claim.Deliveries.Where(c => pending.Contains(c.Delivery.Id))
                .Select(c => new BatchResumption(c.Delivery.InstanceId!, c.Stimulus?.Name, c.Stimulus?.PayloadJson, c.Stimulus?.InputJson)).ToList());
            await Parallel.ForAsync(0, rows.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Value.MaxParallelRuns), CancellationToken = cancellationToken },
                async (i, ct) =>
                {
                    var resumptions = mine[rows[i].Id].Select(d => new Resumption(d.Delivery.BookmarkId!, d.Input, d.Delivery.Id, d.StimulusHash)).ToList();
                    try
                    {
                        runs[i] = await resumer.RunAsync(rows[i], resumptions, pending, ct, batch);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        logger.LogWarning(e, "Resuming {InstanceId} in a batch failed; it is run alone.", rows[i].Id);
                    }
                });
            held.Clear(); // from here each lease is committed or given back by the commit step
            return await CommitAsync(context, rows, runs, mine, left, cancellationToken);
        }
        finally
        {
            foreach (var id in held) await ownership.ReleaseAsync(id, null, CancellationToken.None);
            foreach (var gate in claim.Gates.Values) gate.Dispose();
        }
    }

    private async Task<BatchOutcome> CommitAsync(WorkflowDbContext context, IReadOnlyList<InstanceRow> rows, ResumedRun?[] runs,
        Dictionary<string, IReadOnlyList<DueDelivery>> lanes, List<IReadOnlyList<DueDelivery>> left, CancellationToken cancellationToken)
    {
        var toCommit = new List<(ResumedRun Run, RunToCommit Commit)>();
        for (var i = 0; i < rows.Count; i++)
        {
            var run = runs[i];
            if (run?.Execution is { } execution)
            {
                toCommit.Add((run, new RunToCommit(rows[i], execution, run.Served, run.BookmarksBefore)));
                continue;
            }
            // Failed (run alone later) or had nothing to resume (its deliveries are owed nothing).
            await ownership.ReleaseAsync(rows[i].Id, run?.State, CancellationToken.None);
            if (run is null) left.Add(lanes[rows[i].Id]);
            else await deliveries.DropAsync(run.Served, cancellationToken);
        }
        if (toCommit.Count == 0) return new BatchOutcome([], left);
        try
        {
            var followUps = await committer.CommitManyAsync(context, toCommit.Select(c => c.Commit).ToList(), cancellationToken);
            return new BatchOutcome(toCommit.Select((c, i) => resumer.Completed(c.Run, followUps[i])).ToList(), left);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Nothing was committed: every instance goes back to its last state and its lane runs alone.
            logger.LogWarning(e, "The group commit of {Count} instances failed; they are run one by one.", toCommit.Count);
            foreach (var (run, commit) in toCommit)
            {
                await ownership.ReleaseAsync(commit.Row.Id, null, CancellationToken.None);
                left.Add(lanes[commit.Row.Id]);
            }
            return new BatchOutcome([], left);
        }
        finally
        {
            foreach (var (run, _) in toCommit) run.Span?.Dispose();
        }
    }
}
