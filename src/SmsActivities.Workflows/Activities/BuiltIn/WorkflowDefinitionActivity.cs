using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Activities.BuiltIn;

/// <summary>
/// A published workflow whose definition is "usable as activity", placed in another workflow under its own type name
/// (the Pascal-cased definition name, as Elsa names it). It runs the published version as a child instance and waits for
/// it: the node's inputs become the child's workflow input, the child's workflow output becomes this activity's outputs
/// (bound variables included). A child that faults faults this activity. The node is recognised by its
/// <c>workflowDefinitionId</c> property, so it needs no registration.
/// </summary>
[Activity("Elsa", "Workflows", "Runs a published workflow as an activity.", IsBrowsable = false)]
public sealed class WorkflowDefinitionActivity : Activity
{
    /// <summary>The node properties that describe the reference itself, not inputs.</summary>
    private static readonly HashSet<string> ReferenceProperties = new(StringComparer.OrdinalIgnoreCase)
    {
        "workflowDefinitionId", "workflowDefinitionVersionId", "latestAvailablePublishedVersion", "latestAvailablePublishedVersionId",
    };

    public string WorkflowDefinitionId { get; private set; } = "";
    /// <summary>Input name (as the child declares it) → expression.</summary>
    internal Dictionary<string, Input<object?>> Inputs { get; } = new(StringComparer.Ordinal);
    /// <summary>Output name → the variable it is bound to.</summary>
    internal Dictionary<string, string> OutputVariables { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Reads a node that names a workflow definition; null when it does not.</summary>
    internal static WorkflowDefinitionActivity? TryRead(ActivityNode node)
    {
        if (node.GetProperty("workflowDefinitionId") is not JsonValue id || !id.TryGetValue<string>(out var definitionId) || definitionId.Length == 0) return null;
        var activity = new WorkflowDefinitionActivity { WorkflowDefinitionId = definitionId, Type = node.Type };
        foreach (var (key, value) in node.Properties)
        {
            if (ReferenceProperties.Contains(key) || value is not JsonObject wrapper) continue;
            // Studio writes property names camel-cased; the child declares its inputs Pascal-cased.
            var name = ScriptSurface.Pascalize(key);
            if (wrapper["expression"] is JsonObject expression)
                activity.Inputs[name] = new Input<object?>(ExpressionConverter.FromJson(expression));
            else if (wrapper["memoryReference"]?["id"] is JsonValue variable && variable.TryGetValue<string>(out var variableId))
                activity.OutputVariables[name] = variableId;
        }
        return activity;
    }

    protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var input = Inputs.ToDictionary(p => p.Key, p => ValueConverter.ToNode(context.Evaluate(p.Value)));
        var child = await ChildWorkflowActivity.StartChildAsync(context, new ChildWorkflowRequest(WorkflowDefinitionId, context.WorkflowInstanceId,
            ChildWorkflows.InstanceIdFor(context.WorkflowInstanceId, Id, context.ExecutionKey))
        {
            Input = input, CorrelationId = context.ExpressionContext.CorrelationId, WaitForCompletion = true,
        });
        if (child.Status != WorkflowStatus.Finished)
        {
            context.CreateBookmark(ChildWorkflows.Payload(child.InstanceId), OnChildCompletedAsync, name: ChildWorkflows.CompletedStimulusName);
            return;
        }
        await FinishAsync(context, child.InstanceId, child.SubStatus.ToString(), child.Output);
    }

    private ValueTask OnChildCompletedAsync(ActivityExecutionContext context)
    {
        var result = context.ResumeInput ?? [];
        var output = (result["output"] as JsonObject ?? []).ToDictionary(p => p.Key, p => p.Value);
        return FinishAsync(context, (string?)result["workflowInstanceId"] ?? "", (string?)result["subStatus"] ?? "", output);
    }

    private ValueTask FinishAsync(ActivityExecutionContext context, string childInstanceId, string subStatus, IReadOnlyDictionary<string, JsonNode?> output)
    {
        if (subStatus != nameof(WorkflowSubStatus.Finished))
            throw new InvalidOperationException($"Workflow '{WorkflowDefinitionId}' (child instance {childInstanceId}) ended {subStatus}.");
        foreach (var (name, value) in output)
            context.WorkflowExecutionContext.SetNamedOutput(context, name, value, OutputVariables.GetValueOrDefault(name));
        return context.CompleteActivityAsync();
    }
}
