using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Workflows.Hosting;

/// <summary>
/// Starts workflows whose Timer, Cron or StartAt trigger falls due. The schedule is rebuilt from the published
/// triggers on every pass, so publishing, retracting and restarting need no bookkeeping; each occurrence is sent with
/// a dedupe key (trigger + due time), so it starts the workflow once even if two passes or two servers fire it.
/// A StartAt already past fires once (unless older than the stimulus retention); Timer and Cron count from when the schedule first sees them.
/// </summary>
internal sealed class ScheduledTriggerService(
    IDbContextFactory<WorkflowDbContext> db,
    WorkflowRuntime runtime,
    TimeProvider time,
    IOptions<WorkflowRuntimeOptions> options,
    ClusterLeadership leadership,
    ILogger<ScheduledTriggerService> logger) : BackgroundService
{
    private static readonly string[] Names = [ActivityTypeInfo.TypeNameOf(typeof(Activities.BuiltIn.Timer)), ActivityTypeInfo.TypeNameOf(typeof(Cron)), ActivityTypeInfo.TypeNameOf(typeof(StartAt))];
    private readonly Dictionary<string, DateTimeOffset?> _next = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.RunBackgroundService) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // One node of a cluster fires the schedules, or each would start its own instance.
                if (await leadership.IsLeaderAsync("workflows-scheduled-triggers", stoppingToken)) await FireDueAsync(stoppingToken);
                await Task.Delay(options.Value.PollInterval, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Scheduled trigger pass failed; retrying.");
                await Task.Delay(options.Value.PollInterval, time, stoppingToken);
            }
        }
    }

    internal async Task FireDueAsync(CancellationToken cancellationToken)
    {
        List<TriggerRow> triggers;
        await using (var context = await db.CreateDbContextAsync(cancellationToken))
            triggers = await context.Triggers.AsNoTracking().Where(t => Names.Contains(t.Name)).ToListAsync(cancellationToken);
        var now = time.GetUtcNow();
        foreach (var gone in _next.Keys.Except(triggers.Select(t => t.Id)).ToList()) _next.Remove(gone);
        foreach (var trigger in triggers)
        {
            var payload = trigger.PayloadJson is { } json ? JsonNode.Parse(json) : null;
            if (!_next.TryGetValue(trigger.Id, out var due)) _next[trigger.Id] = due = First(trigger.Name, payload, now);
            if (due is not { } dueAt || dueAt > now) continue;
            await runtime.SendStimulusAsync(new Stimulus(trigger.Name, payload, new JsonObject { ["dueAt"] = dueAt })
            {
                DedupeKey = $"{trigger.Hash}@{dueAt.UtcTicks}",
                KeepInInbox = false,
            }, cancellationToken);
            _next[trigger.Id] = After(trigger.Name, payload, dueAt, now);
        }
    }

    private DateTimeOffset? First(string name, JsonNode? payload, DateTimeOffset now) => name switch
    {
        // Older than the stimulus retention, its dedupe record may be gone: firing it again could start a second run.
        _ when name == Names[2] => payload?["executeAt"]?.GetValue<DateTimeOffset>() is { } at && at > now - options.Value.InboxRetention ? at : null,
        _ => After(name, payload, now, now),
    };

    /// <summary>The occurrence after one that fired; a schedule that fell behind (downtime) skips to the next one after now.</summary>
    private DateTimeOffset? After(string name, JsonNode? payload, DateTimeOffset fired, DateTimeOffset now)
    {
        try
        {
            if (name == Names[0] && payload?["interval"]?.GetValue<string>() is { } text && TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var interval) && interval > TimeSpan.Zero)
            {
                var next = fired + interval;
                return next > now ? next : now + interval;
            }
            if (name == Names[1] && payload?["cronExpression"]?.GetValue<string>() is { Length: > 0 } cron)
                return ScheduledTrigger.NextOccurrence(cron, fired > now ? fired : now);
        }
        catch (Cronos.CronFormatException e)
        {
            logger.LogError("Cron trigger with payload {Payload} cannot be scheduled: {Error}", payload?.ToJsonString(), e.Message);
        }
        return null;
    }
}
