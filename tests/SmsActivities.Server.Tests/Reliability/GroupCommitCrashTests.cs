using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using SmsActivities.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// The dispatcher resumes the instances of a batch side by side and commits them in one transaction. The server kills
/// itself (SIGKILL, through the runtime's crash point) in the middle of that group commit, once with every statement
/// written but not committed and once just after the commit: a second process on the same data folder must finish
/// every instance with its report applied exactly once, and a repeat of the push must resume nothing.
/// </summary>
public sealed class GroupCommitCrashTests(ITestOutputHelper output)
{
    private const string Token = "group-commit-crash-token-0123456789";
    private const int Instances = 6;

    /// <summary>Start → wait for the report of the message whose id is the input <c>sid</c>.</summary>
    private const string WaitWorkflow = """
    {
      "definitionId": "wait-one-report", "name": "wait-one-report", "version": 1, "isPublished": true, "isLatest": true,
      "root": {
        "id": "Flowchart1", "type": "Elsa.Flowchart", "version": 1,
        "activities": [
          { "id": "Start1", "type": "Elsa.Start", "version": 1 },
          { "id": "Wait1", "type": "SmsActivities.WaitForDeliveryReport", "version": 1,
            "vendor": { "typeName": "String", "expression": { "type": "Literal", "value": "tencent" } },
            "messageIds": { "typeName": "Object", "expression": { "type": "JavaScript", "value": "[getInput('sid')]" } } }
        ],
        "connections": [
          { "source": { "activity": "Start1", "port": "Done" }, "target": { "activity": "Wait1", "port": "In" } }
        ]
      }
    }
    """;

    [Theory]
    [InlineData("group-commit-written")]
    [InlineData("group-commit-committed")]
    public async Task A_server_killed_inside_a_group_commit_loses_no_report_and_applies_none_twice(string crashPoint)
    {
        var folder = Directory.CreateTempSubdirectory("smsactivities-group-commit-crash-").FullName;
        var workflows = Directory.CreateDirectory(Path.Combine(folder, "workflows")).FullName;
        var data = Path.Combine(folder, "data");
        await File.WriteAllTextAsync(Path.Combine(workflows, "wait-one-report.json"), WaitWorkflow);
        var database = Path.Combine(data, "smsactivities.db");
        var settings = new Dictionary<string, string?> { ["SmsActivities__Webhooks__Token"] = Token };
        // The dispatcher gathers for a second before it claims: the push is answered before the batch runs and kills the
        // server, and all the push's reports are in the one claim.
        var armed = new Dictionary<string, string?>(settings) { ["SMSACTIVITIES_CRASH_AT"] = crashPoint, ["Workflows__Runtime__DispatchDelay"] = "00:00:01" };
        var push = PushFor(Enumerable.Range(0, Instances));
        try
        {
            var instanceIds = new List<string>();
            using (var first = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, armed))
            {
                using var http = await first.ClientWhenReadyAsync();
                for (var i = 0; i < Instances; i++)
                {
                    using var started = await http.PostAsync("elsa/api/workflow-definitions/wait-one-report/execute",
                        new StringContent(new JsonObject { ["input"] = new JsonObject { ["sid"] = Sid(i) } }.ToJsonString(), Encoding.UTF8, "application/json"));
                    Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
                    instanceIds.Add(started.Headers.GetValues("x-elsa-workflow-instance-id").Single());
                }
                foreach (var id in instanceIds) Assert.Equal("Suspended", await SubStatusAsync(database, id));

                try
                {
                    using var ack = await http.PostAsync(WebhookPath(), new StringContent(push, Encoding.UTF8, "application/json"));
                    output.WriteLine($"push answered {(int)ack.StatusCode}: {await ack.Content.ReadAsStringAsync()}");
                }
                catch (HttpRequestException e)
                {
                    // The kill can beat the answer on a busy machine; the vendor then pushes again (below).
                    output.WriteLine($"push not answered: {e.Message}");
                }
                Assert.True(await first.ExitedWithinAsync(TimeSpan.FromSeconds(90)),
                    $"the server never reached the crash point {crashPoint}; its output:{Environment.NewLine}{first.RecentOutput}");
                Assert.Contains($"crash point {crashPoint} reached", first.RecentOutput, StringComparison.Ordinal);
            }

            // What the kill left on disk: nothing of an uncommitted group, all of a committed one.
            var deliveriesLeft = await ScalarAsync(database, "SELECT COUNT(*) FROM StimulusDeliveries");
            var resumedBefore = await ResumedAsync(database, null);
            output.WriteLine($"after the kill: {deliveriesLeft} deliveries owed, {resumedBefore} resumptions written");
            if (crashPoint == "group-commit-written")
            {
                Assert.True(deliveriesLeft is (long)Instances, $"{deliveriesLeft} deliveries left after a kill before the commit; expected all {Instances}");
                Assert.True(resumedBefore is 0L, $"{resumedBefore} resumptions written by a group commit that never committed");
            }
            else
            {
                Assert.True(deliveriesLeft is 0L, $"{deliveriesLeft} deliveries left after a committed group commit");
                foreach (var id in instanceIds) Assert.Equal("Finished", await SubStatusAsync(database, id));
            }

            using var second = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, settings);
            using var secondHttp = await second.ClientWhenReadyAsync();
            await ServerProcess.EventuallyAsync(async () =>
                {
                    foreach (var id in instanceIds)
                        if (await SubStatusAsync(database, id) != "Finished") return false;
                    return true;
                }, TimeSpan.FromSeconds(120), $"the second server to finish all {Instances} waits");

            // The vendor repeats the push (it may not have seen the answer): every report is a duplicate and owes nothing.
            using (var repeat = await secondHttp.PostAsync(WebhookPath(), new StringContent(push, Encoding.UTF8, "application/json")))
                Assert.Equal("""{"result":0,"errmsg":"OK"}""", await repeat.Content.ReadAsStringAsync());
            Assert.Equal(0L, await ScalarAsync(database, "SELECT COUNT(*) FROM StimulusDeliveries"));
            foreach (var id in instanceIds)
            {
                var resumed = await ResumedAsync(database, id);
                Assert.True(resumed is 1L, $"instance {id} was resumed {resumed} times; its one report must resume it exactly once");
                var outcome = await ScalarAsync(database,
                    "SELECT Json FROM WorkflowExecutionLog WHERE InstanceId = $id AND EventName = 'Completed' AND ActivityType = 'SmsActivities.WaitForDeliveryReport'", id) as string;
                Assert.True(outcome?.Contains("Delivered", StringComparison.Ordinal) == true, $"the wait's completion record of {id}: {outcome ?? "(none)"}");
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    private static string Sid(int i) => $"group-crash-sid-{i}";

    private static string PushFor(IEnumerable<int> messages) => "[" + string.Join(",", messages.Select(i =>
        $$"""{"user_receive_time":"2026-11-21 10:00:00","nationcode":"86","mobile":"138001380{{i:D2}}","report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"{{Sid(i)}}"}""")) + "]";

    private static string WebhookPath() => $"webhooks/sms/tencent/status/{Token}";

    private static async Task<string?> SubStatusAsync(string database, string instanceId) =>
        (string?)await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId);

    /// <summary>How often the wait was resumed: of one instance, or of all when <paramref name="instanceId"/> is null.</summary>
    private static Task<object?> ResumedAsync(string database, string? instanceId) => ScalarAsync(database,
        "SELECT COUNT(*) FROM WorkflowExecutionLog WHERE (InstanceId = $id OR $id IS NULL) AND EventName = 'Resumed' AND ActivityType = 'SmsActivities.WaitForDeliveryReport'",
        instanceId);

    private static Task<object?> ScalarAsync(string database, string sql, string? id = null) => SqliteFile.ScalarAsync(database, sql, id);
}
