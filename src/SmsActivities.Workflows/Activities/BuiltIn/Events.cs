using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Workflows.Activities.BuiltIn;

/// <summary>
/// Base for activities that wait for something and may give up: adds a <c>Timeout</c> input; when it
/// elapses first the activity leaves by the <c>Timeout</c> outcome (declare it among the
/// <see cref="FlowNodeAttribute"/> outcomes). Call <see cref="WaitFor"/> instead of CreateBookmark.
/// </summary>
public abstract class BlockingActivity : Activity
{
    public const string TimeoutOutcome = ActivityExecutionContext.TimeoutOutcome;

    [Input(Description = "How long to wait before leaving by Timeout (e.g. 00:10:00); empty waits without limit.", Order = 100)]
    public Input<TimeSpan?>? Timeout { get; set; }

    protected Bookmark WaitFor(ActivityExecutionContext context, object payload, ExecuteActivityDelegate onResume) =>
        context.WaitFor(payload, onResume, context.Get(Timeout));
}

/// <summary>The bookmark and trigger payload of <see cref="Event"/>.</summary>
public sealed record EventPayload(string EventName);

[Activity("Elsa", "Primitives", "Waits for (or starts on) an event published by name.")]
[FlowNode("Done", BlockingActivity.TimeoutOutcome)]
public sealed class Event : BlockingTrigger
{
    public Event() { }
    public Event(string eventName) => EventName = new(eventName);

    [Input(Description = "The name of the event.", IsRequired = true)]
    public Input<string> EventName { get; set; } = new("");

    [Output(Description = "The payload the event was published with.")]
    public Output<object?> Result { get; set; } = new();

    protected override IEnumerable<object> GetTriggerPayloads(TriggerIndexingContext context) =>
        [new EventPayload(context.Get(EventName) ?? "")];

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        if (context.IsTriggerOfWorkflow()) return ReceiveAsync(context, context.TriggerInput);
        WaitFor(context, new EventPayload(context.Get(EventName) ?? ""), OnEventAsync);
        return ValueTask.CompletedTask;
    }

    private ValueTask OnEventAsync(ActivityExecutionContext context) => ReceiveAsync(context, context.ResumeInput);

    private ValueTask ReceiveAsync(ActivityExecutionContext context, JsonObject? input)
    {
        context.Set(Result, ValueConverter.ToPlain(input?["payload"]));
        return context.CompleteActivityAsync();
    }
}

/// <summary>A trigger that can also wait as a blocking activity, with the shared Timeout input.</summary>
public abstract class BlockingTrigger : Trigger
{
    [Input(Description = "How long to wait before leaving by Timeout (e.g. 00:10:00); empty waits without limit.", Order = 100)]
    public Input<TimeSpan?>? Timeout { get; set; }

    protected Bookmark WaitFor(ActivityExecutionContext context, object payload, ExecuteActivityDelegate onResume) =>
        context.WaitFor(payload, onResume, context.Get(Timeout));
}

[Activity("Elsa", "Primitives", "Publishes an event: resumes the Event activities waiting for it and starts workflows triggered by it.")]
public sealed class PublishEvent : Activity
{
    [Input(Description = "The name of the event.", IsRequired = true)]
    public Input<string> EventName { get; set; } = new("");

    [Input(Description = "Correlation id the event is limited to; empty reaches every instance.")]
    public Input<string?>? CorrelationId { get; set; }

    [Input(Description = "Data handed to the receivers as their Result.", UIHint = InputUIHints.JsonEditor)]
    public Input<object?>? Payload { get; set; }

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var payload = ValueConverter.ToNode(new EventPayload(context.Get(EventName) ?? ""));
        context.PublishStimulus(new Stimulus("Elsa.Event", payload, new JsonObject { ["payload"] = ValueConverter.ToNode(context.Get(Payload)) })
        {
            CorrelationId = context.Get(CorrelationId) is { Length: > 0 } id ? id : null,
            KeepInInbox = false,
        });
        return context.CompleteActivityAsync();
    }
}
