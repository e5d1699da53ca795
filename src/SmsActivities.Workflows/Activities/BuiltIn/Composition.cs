using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Workflows.Activities.BuiltIn;

/// <summary>
/// Starts an instance of another published workflow, as a child of this one. The child runs until it finishes or waits
/// before this activity goes on. With WaitForCompletion, a child that waits is waited for: when it finishes (in whatever
/// state), it resumes this activity with its output. The child gets <c>ParentInstanceId</c> in its input.
/// </summary>
public abstract class ChildWorkflowActivity : Activity
{
    [Input(DisplayName = "Workflow Definition", Description = "The definition ID of the workflow to run (its published version).", IsRequired = true,
        UIHint = InputUIHints.WorkflowDefinitionPicker)]
    public Input<string> WorkflowDefinitionId { get; set; } = new("");

    [Input(DisplayName = "Correlation ID", Description = "The correlation ID of the child (default: this workflow's).")]
    public Input<string?>? CorrelationId { get; set; }

    [Input(Description = "The input to send to the workflow.", UIHint = InputUIHints.JsonEditor)]
    public Input<Dictionary<string, object?>?>? Input { get; set; }

    [Input(Description = "Wait for the child workflow to complete before completing this activity.", UIHint = InputUIHints.Checkbox)]
    public Input<bool> WaitForCompletion { get; set; } = new(false);

    /// <summary>The input the child gets when the designer gave none (Elsa's ExecuteWorkflow passes the parent's own input on).</summary>
    protected virtual IReadOnlyDictionary<string, JsonNode?> DefaultInput(ActivityExecutionContext context) => new Dictionary<string, JsonNode?>();

    /// <summary>Sets this activity's result from the child's; <paramref name="result"/> has Elsa's ExecuteWorkflowResult shape.</summary>
    protected abstract void SetResult(ActivityExecutionContext context, JsonObject result);

    protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var wait = context.Get(WaitForCompletion);
        var given = context.Get(Input);
        var input = given is { Count: > 0 }
            ? given.ToDictionary(p => p.Key, p => ValueConverter.ToNode(p.Value))
            : DefaultInput(context).ToDictionary(p => p.Key, p => p.Value?.DeepClone());
        input["ParentInstanceId"] = context.WorkflowInstanceId;
        var correlationId = context.Get(CorrelationId) is { Length: > 0 } id ? id : context.ExpressionContext.CorrelationId;
        var child = await StartChildAsync(context, new ChildWorkflowRequest(context.Get(WorkflowDefinitionId) ?? "", context.WorkflowInstanceId)
        {
            Input = input, CorrelationId = correlationId, WaitForCompletion = wait,
        });
        if (wait && child.Status != WorkflowStatus.Finished)
        {
            context.CreateBookmark(ChildWorkflows.Payload(child.InstanceId), OnChildCompletedAsync, name: ChildWorkflows.CompletedStimulusName);
            return;
        }
        SetResult(context, ChildWorkflows.Result(child.InstanceId, child.Status, child.SubStatus, child.Output, correlationId));
        await context.CompleteActivityAsync();
    }

    /// <summary>Starts the child through the runtime and journals which instance it is.</summary>
    internal static async Task<ChildWorkflowRun> StartChildAsync(ActivityExecutionContext context, ChildWorkflowRequest request)
    {
        var starter = context.GetService<IChildWorkflowStarter>() ?? throw new InvalidOperationException("Child workflows need the workflow runtime.");
        var child = await starter.StartAsync(request, context.CancellationToken);
        context.Log($"Started child workflow instance {child.InstanceId} ({child.SubStatus}).", new { childInstanceId = child.InstanceId });
        return child;
    }

    // Protected, not private: bookmark callbacks are looked up by name on the concrete type, which sees no private base members.
    protected ValueTask OnChildCompletedAsync(ActivityExecutionContext context)
    {
        SetResult(context, context.ResumeInput ?? []);
        return context.CompleteActivityAsync();
    }
}

[Activity("Elsa", "Composition", "Creates an instance of the given workflow and runs it; optionally waits for it to complete.")]
public sealed class ExecuteWorkflow : ChildWorkflowActivity
{
    [Output(Description = "The child's instance id, status, sub-status and output.")]
    public Output<object?> Result { get; set; } = new();

    protected override IReadOnlyDictionary<string, JsonNode?> DefaultInput(ActivityExecutionContext context) => context.ExpressionContext.WorkflowInput;

    protected override void SetResult(ActivityExecutionContext context, JsonObject result) => context.Set(Result, ValueConverter.ToPlain(result));
}

[Activity("Elsa", "Composition", "Creates an instance of the given workflow and dispatches it; optionally waits for it to complete.")]
public sealed class DispatchWorkflow : ChildWorkflowActivity
{
    [Output(Description = "The child's output (when waiting for completion).")]
    public Output<object?> Result { get; set; } = new();

    protected override void SetResult(ActivityExecutionContext context, JsonObject result)
    {
        if (context.Get(WaitForCompletion)) context.Set(Result, ValueConverter.ToPlain(result["output"]));
    }
}
