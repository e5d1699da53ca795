using System.Text.Json.Nodes;
using Cronos;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Workflows.Activities.BuiltIn;

/// <summary>Trigger payloads of the scheduling activities; the scheduler fires a stimulus with the same payload when one is due.</summary>
public sealed record TimerPayload(TimeSpan Interval);
public sealed record CronPayload(string CronExpression);
public sealed record StartAtPayload(DateTimeOffset ExecuteAt);

/// <summary>
/// Scheduling activities: as a trigger (<c>canStartWorkflow</c>) the runtime's scheduler starts the workflow when due;
/// inside a flow they wait on a durable timer, like <see cref="Delay"/>, so a restart does not lose the wait.
/// </summary>
public abstract class ScheduledTrigger : Trigger
{
    protected ValueTask WaitUntilAsync(ActivityExecutionContext context, DateTimeOffset? dueAt)
    {
        if (context.IsTriggerOfWorkflow() || dueAt is null || dueAt <= context.Now) return context.CompleteActivityAsync();
        // The payload differs from the trigger payload, so a trigger firing cannot resume a wait by accident.
        context.CreateBookmark(new JsonObject { ["resumeAt"] = dueAt }, dueAt: dueAt);
        return ValueTask.CompletedTask;
    }

    /// <summary>The next occurrence after <paramref name="from"/> (5 fields, or 6 with seconds first), in UTC.</summary>
    public static DateTimeOffset? NextOccurrence(string expression, DateTimeOffset from)
    {
        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        var cron = CronExpression.Parse(expression, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        return cron.GetNextOccurrence(from, TimeZoneInfo.Utc);
    }
}

[Activity("Elsa", "Scheduling", "Triggers the workflow at a regular interval; inside a flow, waits for one interval.")]
public sealed class Timer : ScheduledTrigger
{
    [Input(Description = "The interval (e.g. 00:05:00).", IsRequired = true)]
    public Input<TimeSpan> Interval { get; set; } = new(TimeSpan.FromMinutes(1));

    protected override IEnumerable<object> GetTriggerPayloads(TriggerIndexingContext context) => [new TimerPayload(context.Get(Interval))];

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context) => WaitUntilAsync(context, context.Now + context.Get(Interval));
}

[Activity("Elsa", "Scheduling", "Triggers the workflow on a cron schedule (UTC); inside a flow, waits for the next occurrence.")]
public sealed class Cron : ScheduledTrigger
{
    [Input(Description = "The cron expression, e.g. 0 9 * * MON-FRI (or with seconds first).", IsRequired = true)]
    public Input<string> CronExpression { get; set; } = new("");

    protected override IEnumerable<object> GetTriggerPayloads(TriggerIndexingContext context) => [new CronPayload(context.Get(CronExpression) ?? "")];

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context) =>
        WaitUntilAsync(context, context.IsTriggerOfWorkflow() ? null : NextOccurrence(context.Get(CronExpression) ?? "", context.Now));
}

[Activity("Elsa", "Scheduling", "Triggers the workflow once at the given time; inside a flow, waits until then.")]
public sealed class StartAt : ScheduledTrigger
{
    [Input(Description = "When (ISO 8601, e.g. 2030-01-01T09:00:00Z).", UIHint = InputUIHints.DateTimePicker, IsRequired = true)]
    public Input<DateTimeOffset> DateTime { get; set; } = new(DateTimeOffset.MinValue);

    protected override IEnumerable<object> GetTriggerPayloads(TriggerIndexingContext context) => [new StartAtPayload(context.Get(DateTime))];

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context) => WaitUntilAsync(context, context.Get(DateTime));
}
