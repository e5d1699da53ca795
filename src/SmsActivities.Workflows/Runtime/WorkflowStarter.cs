using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>Creates an instance, runs it until it finishes or waits, and commits it as a new row.</summary>
internal sealed class WorkflowStarter(
    IDbContextFactory<WorkflowDbContext> db,
    ExecutionContextFactory contexts,
    InstanceCommitter committer,
    LeaseRenewer leases,
    WorkflowTelemetry telemetry,
    TimeProvider time)
{
    public async Task<RunOutcome> StartAsync(StartRun run, CancellationToken cancellationToken)
    {
        // The instance has no row to lease until it commits: the delivery starting it is kept from falling due meanwhile, and
        // a start already running here (its delivery fell due for the retry loop while the inline run was slow) is left to it.
        if (run.DeliveryId != null)
        {
            if (!leases.TryBeginStart(run.DeliveryId)) return RunOutcome.Busy;
            leases.TrackStart(run.DeliveryId);
        }
        var workflow = run.Workflow;
        var now = time.GetUtcNow();
        var state = new WorkflowState
        {
            Id = run.DeliveryId ?? run.InstanceId ?? RuntimeRows.NewId(), DefinitionId = workflow.DefinitionId, DefinitionVersionId = workflow.DefinitionVersionId,
            DefinitionVersion = workflow.Version, CorrelationId = run.CorrelationId, Name = workflow.Name,
            Input = run.Input.ToDictionary(p => p.Key, p => p.Value),
            Status = WorkflowStatus.Running, SubStatus = WorkflowSubStatus.Pending, CreatedAt = now, UpdatedAt = now,
        };
        foreach (var variable in workflow.Variables) state.Variables[variable.Name] = InitialValue(variable);
        foreach (var (key, value) in run.Properties ?? []) state.Properties[key] = value?.DeepClone();
        var context = contexts.Create(workflow, state, cancellationToken);
        context.TriggerActivityId = run.TriggerActivityId;
        context.TriggerInput = run.TriggerInput;
        context.ParentReadsFirstRun = run.ParentReadsFirstRun;
        foreach (var secret in run.Secrets) context.MarkSecret(secret);
        using var span = WorkflowTelemetry.StartRun("start", workflow.DefinitionId, state.Id);
        try
        {
            if (run.Refusal is { } refusal) context.StartFaulted(workflow.Root, refusal);
            else context.Start(workflow.Root);
            await context.RunAsync();
            var row = new InstanceRow { Id = state.Id, StartKey = run.DeliveryId ?? run.InstanceId, CreatedAt = DbTime.ToDb(now) };
            await using var dbContext = await db.CreateDbContextAsync(cancellationToken);
            dbContext.Instances.Add(row);
            IReadOnlyList<FollowUp> followUps;
            try
            {
                followUps = await committer.CommitAsync(dbContext, row, context, run.DeliveryId is { } served ? [served] : [], new HashSet<string>(), cancellationToken);
            }
            catch (DbUpdateException) when (row.StartKey != null)
            {
                // Another process ran the same delivery (or started the same child) and committed first: its instance stands, this run is discarded.
                if (await StartedElsewhereAsync(row.StartKey, cancellationToken)) return RunOutcome.Nothing;
                throw;
            }
            var result = WorkflowRunResult.From(state);
            telemetry.RecordRun(span, "start", workflow.DefinitionId, result);
            return new RunOutcome(result, false, followUps);
        }
        finally
        {
            if (run.DeliveryId != null)
            {
                leases.ReleaseStart(run.DeliveryId);
                leases.EndStart(run.DeliveryId);
            }
        }
    }

    private async Task<bool> StartedElsewhereAsync(string startKey, CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        return await context.Instances.AnyAsync(i => i.StartKey == startKey, cancellationToken);
    }

    internal static JsonNode? InitialValue(VariableDefinition variable)
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
}
