using System.Collections;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Workflows.Activities.BuiltIn;

[Activity("Elsa", "Workflows", "Runs its activities one after the other.")]
public sealed class Sequence : Activity
{
    public List<Activity> Activities { get; set; } = [];

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        context.SetProperty("index", 0);
        if (Activities.Count > 0) context.ScheduleActivity(Activities[0]);
        return ValueTask.CompletedTask;
    }

    protected override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ActivityExecutionContext child)
    {
        var next = context.GetProperty<int>("index") + 1;
        context.SetProperty("index", next);
        if (next < Activities.Count) context.ScheduleActivity(Activities[next]);
        return ValueTask.CompletedTask;
    }
}

[Activity("Elsa", "Looping", "Runs its Body once for every item, exposing the item as CurrentValue.")]
public sealed class ForEach : Activity
{
    [Input(Description = "The items to iterate (a list, or JSON array text).", UIHint = InputUIHints.MultiLine)]
    public Input<object?>? Items { get; set; }

    [Output(Description = "The item of the current iteration.")]
    public Output<object?> CurrentValue { get; set; } = new();

    public Activity? Body { get; set; }

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context) => IterateAsync(context, 0);

    protected override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ActivityExecutionContext child) =>
        IterateAsync(context, context.GetProperty<int>("index") + 1);

    private ValueTask IterateAsync(ActivityExecutionContext context, int index)
    {
        var items = ItemsOf(context.Get(Items));
        if (index >= items.Count || Body is null) return context.CompleteActivityAsync();
        context.SetProperty("index", index);
        context.Set(CurrentValue, items[index]);
        context.ScheduleActivity(Body);
        return ValueTask.CompletedTask;
    }

    internal static List<object?> ItemsOf(object? value) => value switch
    {
        null => [],
        string text when text.TrimStart().StartsWith('[') => ValueConverter.ToPlain(System.Text.Json.Nodes.JsonNode.Parse(text)) as List<object?> ?? [],
        string text => [.. text.Split(['\n', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
        IEnumerable sequence => sequence.Cast<object?>().ToList(),
        _ => [value],
    };
}

/// <summary>
/// Elsa's parallel loop: schedules its Body once per item at once and completes when every branch has completed. Each
/// branch sees its own <c>CurrentValue</c> and <c>CurrentIndex</c> variables (and its own copy of the variable the
/// CurrentValue output is bound to), even after it waited: a branch that suspends does not see a later branch's item.
/// </summary>
[Activity("Elsa", "Looping", "Runs its Body for every item at once; completes when every branch has completed.")]
public sealed class ParallelForEach : Activity
{
    [Input(Description = "The items to iterate (a list, or JSON array text).", UIHint = InputUIHints.MultiLine)]
    public Input<object?>? Items { get; set; }

    [Output(Description = "The item of the branch (bind it to a variable to read it inside the Body).")]
    public Output<object?> CurrentValue { get; set; } = new();

    public Activity? Body { get; set; }

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        if (Body is null) return ValueTask.CompletedTask;
        var items = ForEach.ItemsOf(context.Get(Items));
        for (var index = 0; index < items.Count; index++)
        {
            var variables = new Dictionary<string, object?>(StringComparer.Ordinal) { ["CurrentValue"] = items[index], ["CurrentIndex"] = index };
            if (CurrentValue.VariableName is { } bound) variables[context.WorkflowExecutionContext.Workflow.ResolveVariableName(bound)] = items[index];
            context.ScheduleActivity(Body, variables);
        }
        return ValueTask.CompletedTask;
    }
}

public enum ForkJoinMode { WaitAll, WaitAny }

[Activity("Elsa", "Flow", "Runs its branches at once; completes when all (or any) of them complete.")]
public sealed class Fork : Activity
{
    public List<Activity> Branches { get; set; } = [];

    [Input(Description = "Wait for all branches, or for the first (cancelling the others).", UIHint = InputUIHints.DropDown)]
    public Input<ForkJoinMode> JoinMode { get; set; } = new(ForkJoinMode.WaitAll);

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        foreach (var branch in Branches) context.ScheduleActivity(branch);
        return ValueTask.CompletedTask;
    }

    protected override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ActivityExecutionContext child)
    {
        if (context.Get(JoinMode) != ForkJoinMode.WaitAny) return ValueTask.CompletedTask;
        context.CancelChildren();
        return context.CompleteActivityAsync();
    }
}

[Activity("Elsa", "Flow", "Continues by every one of its branch outcomes at once.")]
public sealed class FlowFork : Activity
{
    [Input(Description = "The branch names; each becomes an outcome.", UIHint = InputUIHints.DynamicOutcomes)]
    public Input<List<string>> Branches { get; set; } = new(["Branch 1", "Branch 2"]);

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context) =>
        context.CompleteActivityAsync([.. context.Get(Branches) ?? []]);
}

public enum FlowJoinMode { WaitAny, WaitAll }

/// <summary>Merges branches. The waiting happens in the enclosing <see cref="Flowchart"/>, which counts arrivals.</summary>
[Activity("Elsa", "Flow", "Merges branches: continues when all (WaitAll) or the first (WaitAny, cancelling the rest) have arrived.")]
public sealed class FlowJoin : Activity
{
    [Input(Description = "WaitAll or WaitAny.", UIHint = InputUIHints.DropDown)]
    public Input<FlowJoinMode> Mode { get; set; } = new(FlowJoinMode.WaitAny);

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context) => context.CompleteActivityAsync();
}
