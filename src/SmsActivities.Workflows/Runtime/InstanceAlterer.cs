using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>A change to a running instance, as Elsa's alterations name them.</summary>
public abstract record WorkflowAlteration;

/// <summary>Cancels the instance (every running activity ends Cancelled).</summary>
public sealed record CancelAlteration : WorkflowAlteration;

/// <summary>Sets a variable (by id or name) to a JSON value.</summary>
public sealed record ModifyVariableAlteration(string VariableId, JsonNode? Value) : WorkflowAlteration;

/// <summary>
/// Runs an activity (by id, name or node id, or the activity of a live execution's id) in the instance: under its
/// container's live execution, so a Flowchart carries on along its connections when it completes.
/// </summary>
public sealed record ScheduleActivityAlteration(string? ActivityId, string? ActivityInstanceId) : WorkflowAlteration;

public sealed record AlterationLogEntry(string Message, string LogLevel, DateTimeOffset Timestamp);

/// <summary>The outcome for one instance: applied (and committed) or not, with what happened.</summary>
public sealed record AlterationResult(string WorkflowInstanceId, bool IsSuccessful, bool WorkflowHasScheduledWork, IReadOnlyList<AlterationLogEntry> Log);

/// <summary>
/// Applies alterations to one instance through the runtime's commit path: under the instance's lease, in one run and
/// one commit (journal, bookmarks, timers and follow-up deliveries as after any run). All or nothing: when one
/// alteration cannot be applied (unknown variable or activity, finished or busy instance), nothing is committed.
/// </summary>
public sealed class InstanceAlterer
{
    private readonly IDbContextFactory<WorkflowDbContext> _db;
    private readonly WorkflowDefinitionService _definitions;
    private readonly ExecutionContextFactory _contexts;
    private readonly InstanceOwnership _ownership;
    private readonly InstanceCommitter _committer;
    private readonly StimulusSender _sender;

    internal InstanceAlterer(IDbContextFactory<WorkflowDbContext> db, WorkflowDefinitionService definitions, ExecutionContextFactory contexts,
        InstanceOwnership ownership, InstanceCommitter committer, StimulusSender sender)
    {
        _db = db;
        _definitions = definitions;
        _contexts = contexts;
        _ownership = ownership;
        _committer = committer;
        _sender = sender;
    }

    public Task<AlterationResult> ApplyAsync(string instanceId, IReadOnlyList<WorkflowAlteration> alterations, CancellationToken cancellationToken) =>
        ApplyAsync(instanceId, alterations, null, cancellationToken);

    /// <param name="commitWith">Writes that record the result in the same transaction as the altered instance (only when applied).</param>
    internal async Task<AlterationResult> ApplyAsync(string instanceId, IReadOnlyList<WorkflowAlteration> alterations,
        Func<AlterationResult, WorkflowDbContext, CancellationToken, Task>? commitWith, CancellationToken cancellationToken)
    {
        var log = new List<AlterationLogEntry>();
        AlterationResult Failed(string message)
        {
            log.Add(new AlterationLogEntry(message, "Error", DateTimeOffset.UtcNow));
            return new AlterationResult(instanceId, false, false, log);
        }

        using var gate = await _ownership.EnterAsync(instanceId, cancellationToken);
        if (gate is null) return Failed($"Instance '{instanceId}' is busy running; try again.");
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        if (!await _ownership.TryLeaseAsync(db, instanceId, cancellationToken))
        {
            return await db.Instances.AnyAsync(i => i.Id == instanceId && i.Status == nameof(WorkflowStatus.Running), cancellationToken)
                ? Failed($"Instance '{instanceId}' is busy running; try again.")
                : Failed($"Instance '{instanceId}' does not exist or has finished; only a running instance can be altered.");
        }
        var leased = true;
        try
        {
            var row = await db.Instances.SingleAsync(i => i.Id == instanceId, cancellationToken);
            var state = RuntimeRows.ReadState(row);
            var workflow = await _definitions.GetWorkflowAsync(row.DefinitionVersionId, cancellationToken);
            var context = _contexts.Create(workflow, state, cancellationToken);
            var before = state.Bookmarks.Select(b => b.Id).ToHashSet(StringComparer.Ordinal);
            var cancelled = false;
            var scheduled = false;
            foreach (var alteration in alterations)
            {
                if (cancelled) return Failed("Nothing can follow Cancel in the same plan.");
                switch (alteration)
                {
                    case CancelAlteration:
                        context.Cancel();
                        cancelled = true;
                        Log(log, "Cancelled the instance.");
                        break;
                    case ModifyVariableAlteration modify:
                        var name = workflow.ResolveVariableName(modify.VariableId);
                        if (!workflow.Variables.Any(v => v.Name == name) && !state.Variables.ContainsKey(name))
                            return Failed($"ModifyVariable: the workflow has no variable '{modify.VariableId}' (variableId must be a variable's id or name).");
                        state.Variables[name] = modify.Value?.DeepClone();
                        Log(log, $"Set variable '{name}'.");
                        break;
                    case ScheduleActivityAlteration schedule:
                        var activity = schedule.ActivityInstanceId is { Length: > 0 } executionId
                            ? context.LiveActivity(executionId)
                            : schedule.ActivityId is { Length: > 0 } id ? workflow.FindByNodeId(id) ?? workflow.FindByIdOrName(id) : null;
                        if (activity is null)
                            return Failed($"ScheduleActivity: no activity '{schedule.ActivityInstanceId ?? schedule.ActivityId}' (activityId must be an activity's id, name or node id; activityInstanceId a running execution's id).");
                        context.ScheduleInContainer(activity);
                        scheduled = true;
                        Log(log, $"Scheduled activity '{activity.Id}'.");
                        break;
                    default:
                        return Failed($"Alteration '{alteration.GetType().Name}' is not supported.");
                }
            }
            if (!cancelled) await context.RunAsync();
            var result = new AlterationResult(instanceId, true, scheduled, log);
            var followUps = await _committer.CommitAsync(db, row, context, [], before, cancellationToken,
                commitWith is null ? null : (tx, ct) => commitWith(result, tx, ct));
            leased = false;
            await _sender.FollowUpAsync(followUps, cancellationToken);
            return result;
        }
        finally
        {
            if (leased) await _ownership.ReleaseAsync(instanceId, null, CancellationToken.None);
        }
    }

    private static void Log(List<AlterationLogEntry> log, string message) => log.Add(new AlterationLogEntry(message, "Information", DateTimeOffset.UtcNow));
}
