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
        var request = new ChildWorkflowRequest(context.Get(WorkflowDefinitionId) ?? "", context.WorkflowInstanceId,
            ChildWorkflows.InstanceIdFor(context.WorkflowInstanceId, Id, context.ExecutionKey))
        {
            Input = input, CorrelationId = correlationId, WaitForCompletion = wait, Secrets = context.WorkflowExecutionContext.Secrets.ToArray(),
        };
        var child = await RunChildAsync(context, request);
        if (child is null || (wait && child.Status != WorkflowStatus.Finished))
        {
            if (!wait) return; // dispatched and not waited for: the activity already completed
            context.CreateBookmark(ChildWorkflows.Payload(request.InstanceId), OnChildCompletedAsync, name: ChildWorkflows.CompletedStimulusName);
            return;
        }
        SetResult(context, ChildWorkflows.Result(child.InstanceId, child.Status, child.SubStatus, child.Output, correlationId));
        await context.CompleteActivityAsync();
    }

    /// <summary>Starts the child now and returns where it stands; or queues it, completes when not waiting, and returns null.</summary>
    private protected virtual async Task<ChildWorkflowRun?> RunChildAsync(ActivityExecutionContext context, ChildWorkflowRequest request) =>
        await StartChildAsync(context, request);

    /// <summary>Starts the child through the runtime (or finds the one a previous try of this execution started) and journals which instance it is.</summary>
    internal static async Task<ChildWorkflowRun> StartChildAsync(ActivityExecutionContext context, ChildWorkflowRequest request)
    {
        var child = await Starter(context).StartAsync(request, context.CancellationToken);
        context.Log($"Started child workflow instance {child.InstanceId} ({child.SubStatus}).", new { childInstanceId = child.InstanceId });
        return child;
    }

    private protected static IChildWorkflowStarter Starter(ActivityExecutionContext context) =>
        context.GetService<IChildWorkflowStarter>() ?? throw new InvalidOperationException("Child workflows need the workflow runtime.");

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

    /// <summary>
    /// Queues the child: its start is a delivery written in this run's commit, which the dispatcher runs after it. A
    /// parent that fails before committing has dispatched nothing, and one that commits has its child started even if
    /// the process dies right after.
    /// </summary>
    private protected override async Task<ChildWorkflowRun?> RunChildAsync(ActivityExecutionContext context, ChildWorkflowRequest request)
    {
        var dispatch = await Starter(context).PrepareDispatchAsync(request, context.CancellationToken);
        context.WorkflowExecutionContext.Dispatches.Add(dispatch);
        context.Log($"Dispatched child workflow instance {request.InstanceId}.", new { childInstanceId = request.InstanceId });
        if (!request.WaitForCompletion) await context.CompleteActivityAsync();
        return null;
    }
}
