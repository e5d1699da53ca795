using Microsoft.Data.Sqlite;
using SmsActivities.Server.Tests.Infrastructure;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>Cron and Timer triggers on the real clock keep firing after a SIGKILL: the next process rebuilds the schedule from the published triggers.</summary>
public sealed class ScheduleRestartTests
{
    private static string Scheduled(string definitionId, string type, System.Text.Json.Nodes.JsonObject schedule) => Flowchart(definitionId,
        [
            Act("Trigger1", type, schedule, new System.Text.Json.Nodes.JsonObject { ["canStartWorkflow"] = true }),
            Act("Hello", "Elsa.WriteLine", new System.Text.Json.Nodes.JsonObject { ["text"] = Lit("tick") }),
        ],
        [Conn("Trigger1", "Hello")]).ToJsonString();

    [Fact]
    public async Task Cron_and_timer_triggers_fire_again_after_a_kill()
    {
        var folder = Directory.CreateTempSubdirectory("smsactivities-schedule-restart-").FullName;
        var workflows = Directory.CreateDirectory(Path.Combine(folder, "workflows")).FullName;
        var data = Path.Combine(folder, "data");
        var database = Path.Combine(data, "smsactivities.db");
        await File.WriteAllTextAsync(Path.Combine(workflows, "every-3s-cron.json"), Scheduled("every-3s-cron", "Elsa.Cron", new() { ["cronExpression"] = Lit("*/3 * * * * *") }));
        await File.WriteAllTextAsync(Path.Combine(workflows, "every-3s-timer.json"), Scheduled("every-3s-timer", "Elsa.Timer", new() { ["interval"] = Lit("00:00:03") }));
        async Task<long> CountAsync(string definitionId) =>
            (long)(await SqliteFile.ScalarAsync(database, $"SELECT COUNT(*) FROM WorkflowInstances WHERE DefinitionId = '{definitionId}'"))!;
        try
        {
            long cron, timer;
            using (var first = ServerProcess.Start(ServerProcess.FreePort(), data, workflows))
            {
                using var http = await first.ClientWhenReadyAsync();
                await ServerProcess.EventuallyAsync(async () => await CountAsync("every-3s-cron") >= 1 && await CountAsync("every-3s-timer") >= 1, TimeSpan.FromSeconds(60),
                    "both triggers to fire; the server wrote: " + first.RecentOutput);
                first.Kill();
                (cron, timer) = (await CountAsync("every-3s-cron"), await CountAsync("every-3s-timer"));
            }

            using var second = ServerProcess.Start(ServerProcess.FreePort(), data, workflows);
            using var secondHttp = await second.ClientWhenReadyAsync();
            await ServerProcess.EventuallyAsync(async () => await CountAsync("every-3s-cron") > cron && await CountAsync("every-3s-timer") > timer, TimeSpan.FromSeconds(60),
                $"both triggers to fire after the restart (before it: cron {cron}, timer {timer}); the server wrote: " + second.RecentOutput);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }
}
