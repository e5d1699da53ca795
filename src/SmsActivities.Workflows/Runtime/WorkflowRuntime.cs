using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// The runtime's public face: starts, resumes and cancels instances and sends stimuli. Each call is carried out by
/// one-job services (<see cref="StimulusSender"/>, <see cref="WorkflowStarter"/>, <see cref="BookmarkResumer"/>,
/// <see cref="InstanceCommitter"/>, <see cref="InstanceOwnership"/>); every run ends with one commit transaction.
/// </summary>
public sealed class WorkflowRuntime
{
    private readonly IDbContextFactory<WorkflowDbContext> _db;
    private readonly WorkflowDefinitionService _definitions;
    private readonly StimulusSender _sender;
    private readonly StimulusAcceptor _acceptor;
    private readonly WorkflowStarter _starter;
    private readonly BookmarkResumer _resumer;
    private readonly InstanceOwnership _ownership;
    private readonly InstanceCommitter _committer;
    private readonly ExecutionContextFactory _contexts;

    internal WorkflowRuntime(IDbContextFactory<WorkflowDbContext> db, WorkflowDefinitionService definitions, StimulusSender sender, StimulusAcceptor acceptor, WorkflowStarter starter,
        BookmarkResumer resumer, InstanceOwnership ownership, InstanceCommitter committer, ExecutionContextFactory contexts)
    {
        _db = db;
        _definitions = definitions;
        _sender = sender;
        _acceptor = acceptor;
        _starter = starter;
        _resumer = resumer;
        _ownership = ownership;
        _committer = committer;
        _contexts = contexts;
    }

    public async Task<WorkflowRunResult> StartAsync(string definitionId, StartWorkflowRequest? request = null, CancellationToken cancellationToken = default)
    {
        request ??= new StartWorkflowRequest();
        var workflow = await _definitions.FindWorkflowAsync(definitionId, request.VersionOptions, cancellationToken)
                       ?? throw new KeyNotFoundException($"No {request.VersionOptions} version of workflow definition '{definitionId}'.");
        var input = (request.Input ?? new Dictionary<string, object?>()).ToDictionary(p => p.Key, p => ValueConverter.ToNode(p.Value));
        var properties = request.Properties is null ? null : new JsonObject(request.Properties.Select(p => KeyValuePair.Create(p.Key, ValueConverter.ToNode(p.Value))));
        var outcome = await _starter.StartAsync(new StartRun(workflow) { Input = input, CorrelationId = request.CorrelationId, Properties = properties }, cancellationToken);
        await _sender.FollowUpAsync(outcome.FollowUps, cancellationToken);
        return outcome.Result!;
    }

    public async Task<StimulusResult> SendStimulusAsync(Stimulus stimulus, CancellationToken cancellationToken = default) =>
        (await _sender.SendAsync([stimulus], cancellationToken))[0];

    /// <summary>
    /// Records a batch of stimuli (e.g. every report of one vendor push) in one transaction: one dedupe query for all
    /// their keys, one trigger query and one bookmark query for all their hashes. Then runs what they matched, at most
    /// <see cref="WorkflowRuntimeOptions.MaxParallelRuns"/> instances at once. One result per stimulus, in order.
    /// </summary>
    public Task<IReadOnlyList<StimulusResult>> SendStimuliAsync(IReadOnlyList<Stimulus> stimuli, CancellationToken cancellationToken = default) =>
        _sender.SendAsync(stimuli, cancellationToken);

    /// <summary>
    /// Accepts a batch of stimuli and returns as soon as they are stored: one transaction records them with the runs they
    /// are owed, which the dispatcher then runs in batches (<see cref="WorkflowRuntimeOptions.DispatchBatchSize"/>), the
    /// runs of one instance together. For a caller that only needs to know the stimuli are safe, such as a vendor webhook
    /// waiting for its acknowledgement. <see cref="StimulusResult.Queued"/> counts the runs left to the dispatcher;
    /// duplicates are known at once.
    /// </summary>
    public Task<IReadOnlyList<StimulusResult>> AcceptStimuliAsync(IReadOnlyList<Stimulus> stimuli, CancellationToken cancellationToken = default) =>
        _acceptor.AcceptAsync(stimuli, cancellationToken);

    /// <summary>Resumes one bookmark directly. Null when it no longer exists (already resumed, or the instance ended).</summary>
    public async Task<WorkflowRunResult?> ResumeBookmarkAsync(string bookmarkId, JsonObject? input = null, CancellationToken cancellationToken = default)
    {
        var outcome = await _resumer.ResumeAsync(new ResumeRun(bookmarkId) { Input = input, ThrowWhenBusy = true }, cancellationToken);
        await _sender.FollowUpAsync(outcome.FollowUps, cancellationToken);
        return outcome.Result;
    }

    /// <summary>Cancels a running or suspended instance; false when it does not exist or has finished.</summary>
    public async Task<bool> CancelAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        using var gate = await _ownership.EnterAsync(instanceId, cancellationToken) ?? throw new WorkflowInstanceBusyException(instanceId);
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        if (!await _ownership.TryLeaseAsync(db, instanceId, cancellationToken))
        {
            if (!await db.Instances.AnyAsync(i => i.Id == instanceId && i.Status == nameof(WorkflowStatus.Running), cancellationToken)) return false;
            throw new WorkflowInstanceBusyException(instanceId);
        }
        var row = await db.Instances.SingleAsync(i => i.Id == instanceId, cancellationToken);
        var state = RuntimeRows.ReadState(row);
        var workflow = await _definitions.GetWorkflowAsync(row.DefinitionVersionId, cancellationToken);
        var before = state.Bookmarks.Select(b => b.Id).ToHashSet(StringComparer.Ordinal);
        var context = _contexts.Create(workflow, state, cancellationToken);
        context.Cancel();
        await _committer.CommitAsync(db, row, context, [], before, cancellationToken);
        return true;
    }
}
