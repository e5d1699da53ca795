using SmsActivities.Workflows.Execution;

namespace SmsActivities.Workflows.Activities.BuiltIn;

[Activity("Elsa", "Branching", "Runs Then when the condition holds, Else otherwise.")]
public sealed class If : Activity
{
    [Input(Description = "The condition to evaluate.", UIHint = InputUIHints.SingleLine, DefaultSyntax = "JavaScript")]
    public Input<bool> Condition { get; set; } = new(false);

    public Activity? Then { get; set; }
    public Activity? Else { get; set; }

    [Output(Description = "The value the condition evaluated to.")]
    public Output<bool> Result { get; set; } = new();

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var holds = context.Get(Condition);
        context.Set(Result, holds);
        if ((holds ? Then : Else) is { } branch) context.ScheduleActivity(branch);
        return ValueTask.CompletedTask;
    }
}

[Activity("Elsa", "Looping", "Runs its Body again and again while the condition holds (evaluated before each round).")]
public sealed class While : Activity
{
    [Input(Description = "The condition checked before each round.", UIHint = InputUIHints.SingleLine, DefaultSyntax = "JavaScript")]
    public Input<bool> Condition { get; set; } = new(false);

    public Activity? Body { get; set; }

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context) => RoundAsync(context);

    protected override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ActivityExecutionContext child) => RoundAsync(context);

    private ValueTask RoundAsync(ActivityExecutionContext context)
    {
        // Inputs are cached per execution; the condition must be read afresh each round.
        var evaluator = context.WorkflowExecutionContext.Evaluator;
        var holds = (bool?)evaluator.Evaluate(Condition, context.ExpressionContext) ?? false;
        if (!holds || Body is null) return context.CompleteActivityAsync();
        context.ScheduleActivity(Body);
        return ValueTask.CompletedTask;
    }
}

[Activity("Elsa", "Flow", "Runs the activity in its Body and completes after it.")]
public sealed class FlowNode : Activity
{
    public Activity? Body { get; set; }

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        if (Body != null) context.ScheduleActivity(Body);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The error a <see cref="Fault"/> activity raises: it carries the designer's code and category into the incident.</summary>
public sealed class WorkflowFaultException(string? code, string? category, string message) : Exception(message)
{
    public string? Code { get; } = code;
    public string? Category { get; } = category;
}

[Activity("Elsa", "Primitives", "Faults the workflow with the given message (an incident Studio shows).")]
public sealed class Fault : Activity
{
    [Input(Description = "A code for the fault (e.g. a business error code).")]
    public Input<string?>? Code { get; set; }

    [Input(Description = "A category for the fault.")]
    public Input<string?>? Category { get; set; }

    [Input(Description = "The message to include with the fault.", UIHint = InputUIHints.MultiLine)]
    public Input<string?>? Message { get; set; }

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var code = context.Get(Code);
        var message = context.Get(Message) is { Length: > 0 } text ? text : "The workflow was faulted.";
        throw new WorkflowFaultException(code, context.Get(Category), code is { Length: > 0 } ? $"{code}: {message}" : message);
    }
}
