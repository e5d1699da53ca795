using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>Cron and Timer triggers on the real clock keep firing after a SIGKILL: the next process rebuilds the schedule from the published triggers.</summary>
public sealed class ScheduleRestartTests
{
    private static string Scheduled(string definitionId, string type, JsonObject schedule) => Flowchart(definitionId,
        [Act("Trigger1", type, schedule, new JsonObject { ["canStartWorkflow"] = true }), Act("Hello", "Elsa.WriteLine", new JsonObject { ["text"] = Lit("tick") })],
        [Conn("Trigger1", "Hello")]).ToJsonString();

    [Fact]
    public async Task Cron_and_timer_triggers_fire_again_after_a_kill()
    {
        using var folder = new ServerFolder("schedule-restart");
        await File.WriteAllTextAsync(Path.Combine(folder.Workflows, "every-3s-cron.json"), Scheduled("every-3s-cron", "Elsa.Cron", new() { ["cronExpression"] = Lit("*/3 * * * * *") }));
        await File.WriteAllTextAsync(Path.Combine(folder.Workflows, "every-3s-timer.json"), Scheduled("every-3s-timer", "Elsa.Timer", new() { ["interval"] = Lit("00:00:03") }));
        async Task<(long Cron, long Timer)> CountsAsync() =>
            ((long)(await SqliteFile.ScalarAsync(folder.Database, "SELECT COUNT(*) FROM WorkflowInstances WHERE DefinitionId = 'every-3s-cron'"))!,
             (long)(await SqliteFile.ScalarAsync(folder.Database, "SELECT COUNT(*) FROM WorkflowInstances WHERE DefinitionId = 'every-3s-timer'"))!);

        (long Cron, long Timer) before;
        using (var first = folder.StartServer())
        {
            using var http = await first.ClientWhenReadyAsync();
            await ServerProcess.EventuallyAsync(async () => await CountsAsync() is { Cron: >= 1, Timer: >= 1 }, TimeSpan.FromSeconds(60),
                "both triggers to fire; the server wrote: " + first.RecentOutput);
            first.Kill();
            before = await CountsAsync();
        }

        using var second = folder.StartServer();
        using var secondHttp = await second.ClientWhenReadyAsync();
        await ServerProcess.EventuallyAsync(async () => await CountsAsync() is var now && now.Cron > before.Cron && now.Timer > before.Timer, TimeSpan.FromSeconds(60),
            $"both triggers to fire after the restart (before it: {before}); the server wrote: " + second.RecentOutput);
    }
}
