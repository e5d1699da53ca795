using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Workflows.Activities.BuiltIn;

[Activity("Elsa", "Flow", "The start of a flowchart.")]
public sealed class Start : Activity, IStartNode
{
    protected override ValueTask ExecuteAsync(ActivityExecutionContext context) => context.CompleteActivityAsync();
}

[Activity("Elsa", "Flow", "Ends the flowchart it sits in, cancelling whatever else runs there.")]
public sealed class End : Activity, ITerminalNode
{
    protected override ValueTask ExecuteAsync(ActivityExecutionContext context) => context.CompleteActivityAsync();
}

[Activity("Elsa", "Flow", "Finishes the workflow, cancelling whatever else runs.")]
public sealed class Finish : Activity, ITerminalNode
{
    protected override ValueTask ExecuteAsync(ActivityExecutionContext context) => context.FinishWorkflowAsync();
}

/// <summary>A reference to a workflow variable, as Elsa writes it: <c>{"id":…,"name":…}</c> or a bare name.</summary>
public sealed record VariableReference(string? Id, string? Name)
{
    public string Key => Name ?? Id ?? throw new InvalidOperationException("A variable reference needs an id or a name.");
}

[Activity("Elsa", "Primitives", "Assigns a value to a workflow variable.")]
public sealed class SetVariable : Activity
{
    [Input(Description = "The variable to assign.", IsRequired = true)]
    public VariableReference? Variable { get; set; }

    [Input(Description = "The value to assign.")]
    public Input<object?>? Value { get; set; }

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        context.SetVariable(Variable!.Key, context.Get(Value));
        return context.CompleteActivityAsync();
    }
}

[Activity("Elsa", "Primitives", "Sets an output of the workflow.")]
public sealed class SetOutput : Activity
{
    [Input(Description = "The workflow output to set.", IsRequired = true)]
    public Input<string> OutputName { get; set; } = new("");

    [Input(Description = "The value.")]
    public Input<object?>? OutputValue { get; set; }

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        context.SetWorkflowOutput(context.Get(OutputName)!, context.Get(OutputValue));
        return context.CompleteActivityAsync();
    }
}

[Activity("Elsa", "Console", "Write a line of text to the console.")]
public sealed class WriteLine : Activity
{
    public WriteLine() { }
    public WriteLine(Input<string> text) => Text = text;

    [Input(Description = "The text to write.")]
    public Input<string>? Text { get; set; }

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var writer = context.GetService<WorkflowConsole>()?.Out ?? Console.Out;
        writer.WriteLine(context.Get(Text));
        return context.CompleteActivityAsync();
    }
}

/// <summary>Where <see cref="WriteLine"/> writes; register one to capture the text (tests do).</summary>
public sealed class WorkflowConsole(TextWriter writer)
{
    public TextWriter Out { get; } = writer;
}

[Activity("Elsa", "Branching", "Continues by True or False depending on a condition.")]
[FlowNode("True", "False")]
public sealed class FlowDecision : Activity
{
    [Input(Description = "The condition to evaluate.", UIHint = InputUIHints.SingleLine, DefaultSyntax = "JavaScript")]
    public Input<bool> Condition { get; set; } = new(false);

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context) =>
        context.CompleteActivityAsync(context.Get(Condition) ? "True" : "False");
}

public enum FlowSwitchMode { MatchFirst, MatchAny }

/// <summary>A case of <see cref="FlowSwitch"/>: its label is the outcome taken when the condition holds.</summary>
public sealed record FlowSwitchCase(string Label, Expression? Condition);

[Activity("Elsa", "Branching", "Continues by the outcome of the first (or every) case whose condition holds, else by Default.")]
[FlowNode("Default")]
public sealed class FlowSwitch : Activity
{
    [Input(Description = "The cases to evaluate.", UIHint = "flow-switch-editor")]
    public List<FlowSwitchCase> Cases { get; set; } = [];

    [Input(Description = "Take the first matching case or every matching case.", UIHint = InputUIHints.DropDown)]
    public Input<FlowSwitchMode> Mode { get; set; } = new(FlowSwitchMode.MatchFirst);

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var matchAny = context.Get(Mode) == FlowSwitchMode.MatchAny;
        var evaluator = context.WorkflowExecutionContext.Evaluator;
        var matches = new List<string>();
        foreach (var @case in Cases)
        {
            if (@case.Condition is null || !ValueConverter.IsTruthy(evaluator.Evaluate(@case.Condition, context.ExpressionContext))) continue;
            matches.Add(@case.Label);
            if (!matchAny) break;
        }
        return context.CompleteActivityAsync(matches.Count == 0 ? ["Default"] : [.. matches]);
    }
}

[Activity("Elsa", "Primitives", "Sets the correlation id of the workflow instance.")]
public sealed class Correlate : Activity
{
    [Input(Description = "The correlation id.", IsRequired = true)]
    public Input<string> CorrelationId { get; set; } = new("");

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        context.SetCorrelationId(context.Get(CorrelationId));
        return context.CompleteActivityAsync();
    }
}

[Activity("Elsa", "Scheduling", "Waits for the given time span.")]
public sealed class Delay : Activity
{
    public Delay() { }
    public Delay(TimeSpan timeSpan) => TimeSpan = new(timeSpan);

    [Input(Description = "How long to wait (e.g. 00:05:00).", IsRequired = true)]
    public Input<TimeSpan> TimeSpan { get; set; } = new(System.TimeSpan.Zero);

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var dueAt = context.Now + context.Get(TimeSpan);
        context.CreateBookmark(new JsonObject { ["resumeAt"] = dueAt }, dueAt: dueAt);
        return ValueTask.CompletedTask;
    }
}
