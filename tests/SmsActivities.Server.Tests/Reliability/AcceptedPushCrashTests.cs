using System.Text;
using SmsActivities.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// A push of delivery reports is acknowledged once its reports are stored, before the waits they resume run. The server
/// is killed with SIGKILL right after that acknowledgement: a second process on the same data folder must run what was
/// accepted, each report once, and turn away the vendor's repeat of the push.
/// </summary>
public sealed class AcceptedPushCrashTests(ITestOutputHelper output)
{
    private const string Token = "crash-test-webhook-token-0123456789";

    /// <summary>Start → wait for the reports of two Tencent messages.</summary>
    private const string WaitWorkflow = """
    {
      "definitionId": "wait-two-reports", "name": "wait-two-reports", "version": 1, "isPublished": true, "isLatest": true,
      "root": {
        "id": "Flowchart1", "type": "Elsa.Flowchart", "version": 1,
        "activities": [
          { "id": "Start1", "type": "Elsa.Start", "version": 1 },
          { "id": "Wait1", "type": "SmsActivities.WaitForDeliveryReport", "version": 1,
            "vendor": { "typeName": "String", "expression": { "type": "Literal", "value": "tencent" } },
            "messageIds": { "typeName": "Object", "expression": { "type": "JavaScript", "value": "['crash-sid-1', 'crash-sid-2']" } } }
        ],
        "connections": [
          { "source": { "activity": "Start1", "port": "Done" }, "target": { "activity": "Wait1", "port": "In" } }
        ]
      }
    }
    """;

    private const string Push = """
    [{"user_receive_time":"2026-11-21 10:00:00","nationcode":"86","mobile":"13800138001","report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"crash-sid-1"},
     {"user_receive_time":"2026-11-21 10:00:01","nationcode":"86","mobile":"13800138002","report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"crash-sid-2"}]
    """;

    [Fact]
    public async Task Reports_acknowledged_by_a_server_killed_before_it_ran_them_are_run_once_by_the_next_one()
    {
        var folder = Directory.CreateTempSubdirectory("smsactivities-accept-crash-").FullName;
        var workflows = Directory.CreateDirectory(Path.Combine(folder, "workflows")).FullName;
        var data = Path.Combine(folder, "data");
        await File.WriteAllTextAsync(Path.Combine(workflows, "wait-two-reports.json"), WaitWorkflow);
        var database = Path.Combine(data, "smsactivities.db");
        var settings = new Dictionary<string, string?> { ["SmsActivities__Webhooks__Token"] = Token };
        // The first server's dispatcher gathers for ten minutes before it claims anything: the kill below lands, for
        // certain, between the acknowledgement and the run.
        var stalled = new Dictionary<string, string?>(settings) { ["Workflows__Runtime__DispatchDelay"] = "00:10:00", ["Workflows__Runtime__PollInterval"] = "00:10:00" };
        try
        {
            string instanceId;
            using (var first = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, stalled))
            {
                using var http = await first.ClientWhenReadyAsync();
                using var started = await http.PostAsync("elsa/api/workflow-definitions/wait-two-reports/execute", new StringContent("{}", Encoding.UTF8, "application/json"));
                Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
                instanceId = started.Headers.GetValues("x-elsa-workflow-instance-id").Single();
                Assert.Equal("Suspended", await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId));

                using var ack = await http.PostAsync(WebhookPath(), new StringContent(Push, Encoding.UTF8, "application/json"));
                var answer = await ack.Content.ReadAsStringAsync();
                Assert.True(ack.IsSuccessStatusCode, $"push answered {(int)ack.StatusCode}: {answer}");
                Assert.Equal("""{"result":0,"errmsg":"OK"}""", answer);

                // Acknowledged, not run: both reports wait durably as deliveries for the instance.
                Assert.Equal("Suspended", await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId));
                Assert.Equal(2L, await ScalarAsync(database, "SELECT COUNT(*) FROM StimulusDeliveries WHERE InstanceId = $id", instanceId));
                first.Kill();
            }

            var restarted = System.Diagnostics.Stopwatch.StartNew();
            using var second = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, settings);
            using var secondHttp = await second.ClientWhenReadyAsync();
            await ServerProcess.EventuallyAsync(async () => (string?)await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId) == "Finished",
                TimeSpan.FromSeconds(120), "the second server to run the accepted reports and finish the wait");
            output.WriteLine($"finished {restarted.Elapsed.TotalSeconds:0.0} s after the second server was started");

            // A vendor may push again whatever it was answered: the repeat is a duplicate and owes nothing.
            using (var repeat = await secondHttp.PostAsync(WebhookPath(), new StringContent(Push, Encoding.UTF8, "application/json")))
                Assert.Equal("""{"result":0,"errmsg":"OK"}""", await repeat.Content.ReadAsStringAsync());
            Assert.Equal(0L, await ScalarAsync(database, "SELECT COUNT(*) FROM StimulusDeliveries", null));
            var resumed = await ScalarAsync(database, "SELECT COUNT(*) FROM WorkflowExecutionLog WHERE InstanceId = $id AND EventName = 'Resumed' AND ActivityType = 'SmsActivities.WaitForDeliveryReport'", instanceId);
            Assert.True(resumed is 2L, $"the wait was resumed {resumed} times; each of the two reports must resume it exactly once");
            var outcome = await ScalarAsync(database, "SELECT Json FROM WorkflowExecutionLog WHERE InstanceId = $id AND EventName = 'Completed' AND ActivityType = 'SmsActivities.WaitForDeliveryReport'", instanceId) as string;
            Assert.True(outcome?.Contains("Delivered", StringComparison.Ordinal) == true, $"the wait's completion record: {outcome ?? "(none)"}");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    private static string WebhookPath() => $"webhooks/sms/tencent/status/{Token}";

    private static Task<object?> ScalarAsync(string database, string sql, string? instanceId) => SqliteFile.ScalarAsync(database, sql, instanceId);
}
