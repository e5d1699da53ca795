using System.Text;
using SmsActivities.Server.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// A push is acknowledged once it is one row of the push inbox, before its reports reach the records or the runtime.
/// The server is killed with SIGKILL after that acknowledgement: a second process on the same data folder must run what
/// was accepted, each report once, and take the vendor's repeats of the push as duplicates.
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
        var (folder, workflows, data) = await PrepareAsync();
        var database = Path.Combine(data, "smsactivities.db");
        var plugin = database; // the plug-in's tables share the runtime's file
        var inbox = Path.Combine(data, "sms-inbox.db");
        var settings = new Dictionary<string, string?> { ["SmsActivities__Webhooks__Token"] = Token };
        // The first server's inbox processor gathers for ten minutes before it claims anything: the kill below lands,
        // for certain, between the acknowledgement and the run.
        var stalled = new Dictionary<string, string?>(settings) { ["SmsActivities__Inbox__MaxDelay"] = "00:10:00", ["SmsActivities__Inbox__PollInterval"] = "01:00:00" };
        try
        {
            string instanceId;
            using (var first = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, stalled))
            {
                using var http = await first.ClientWhenReadyAsync();
                instanceId = await StartWaitAsync(http, database);

                // The vendor pushes twice (its first answer was slow, say): both are acknowledged, each is a row.
                for (var i = 0; i < 2; i++)
                {
                    using var ack = await http.PostAsync(WebhookPath(), new StringContent(Push, Encoding.UTF8, "application/json"));
                    var answer = await ack.Content.ReadAsStringAsync();
                    Assert.True(ack.IsSuccessStatusCode, $"push answered {(int)ack.StatusCode}: {answer}");
                    Assert.Equal("""{"result":0,"errmsg":"OK"}""", answer);
                }

                // Acknowledged, not run: the pushes wait in the inbox, nothing reached the records or the runtime.
                Assert.Equal(2L, await ScalarAsync(inbox, "SELECT COUNT(*) FROM sms_push_inbox", null));
                Assert.Equal(0L, await ScalarAsync(plugin, "SELECT COUNT(*) FROM sms_delivery_reports", null));
                Assert.Equal(0L, await ScalarAsync(database, "SELECT COUNT(*) FROM StimulusDeliveries WHERE InstanceId = $id", instanceId));
                Assert.Equal("Suspended", await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId));
                first.Kill();
            }

            var restarted = System.Diagnostics.Stopwatch.StartNew();
            using var second = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, settings);
            using var secondHttp = await second.ClientWhenReadyAsync();
            await ServerProcess.EventuallyAsync(async () => (string?)await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId) == "Finished",
                TimeSpan.FromSeconds(120), "the second server to run the accepted reports and finish the wait");
            output.WriteLine($"finished {restarted.Elapsed.TotalSeconds:0.0} s after the second server was started");

            // A vendor may push again whatever it was answered: the repeat is run as a duplicate and owes nothing.
            using (var repeat = await secondHttp.PostAsync(WebhookPath(), new StringContent(Push, Encoding.UTF8, "application/json")))
                Assert.Equal("""{"result":0,"errmsg":"OK"}""", await repeat.Content.ReadAsStringAsync());
            await ServerProcess.EventuallyAsync(async () => await ScalarAsync(inbox, "SELECT COUNT(*) FROM sms_push_inbox", null) is 0L,
                TimeSpan.FromSeconds(60), "the inbox to be drained");
            Assert.Equal(0L, await ScalarAsync(database, "SELECT COUNT(*) FROM StimulusDeliveries", null));
            await AssertRunOnceAsync(database, plugin, instanceId);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// No stall this time: the server is killed right after its acknowledgements, wherever its processor is (claiming,
    /// writing the records, accepting the stimuli, deleting the rows). Whatever was done before the kill is found again
    /// as a duplicate by the next server, and whatever was not is done.
    /// </summary>
    [Fact]
    public async Task A_server_killed_while_it_processes_acknowledged_pushes_loses_none_and_runs_none_twice()
    {
        var (folder, workflows, data) = await PrepareAsync();
        var database = Path.Combine(data, "smsactivities.db");
        var plugin = database; // the plug-in's tables share the runtime's file
        var inbox = Path.Combine(data, "sms-inbox.db");
        var settings = new Dictionary<string, string?> { ["SmsActivities__Webhooks__Token"] = Token };
        try
        {
            string instanceId;
            using (var first = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, settings))
            {
                using var http = await first.ClientWhenReadyAsync();
                instanceId = await StartWaitAsync(http, database);
                // Each report in its own push, then both again: four rows the processor takes in one or more batches.
                foreach (var body in new[] { PushOf(0), PushOf(1), Push, Push })
                {
                    using var ack = await http.PostAsync(WebhookPath(), new StringContent(body, Encoding.UTF8, "application/json"));
                    Assert.True(ack.IsSuccessStatusCode, $"push answered {(int)ack.StatusCode}: {await ack.Content.ReadAsStringAsync()}");
                }
                first.Kill();
            }
            output.WriteLine($"left by the kill: {await ScalarAsync(inbox, "SELECT COUNT(*) FROM sms_push_inbox", null)} inbox rows, " +
                             $"{await ScalarAsync(plugin, "SELECT COUNT(*) FROM sms_delivery_reports", null)} reports on the records, " +
                             $"instance {await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId)}");

            using var second = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, settings);
            using var secondHttp = await second.ClientWhenReadyAsync();
            await ServerProcess.EventuallyAsync(async () => (string?)await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId) == "Finished"
                                                            && await ScalarAsync(inbox, "SELECT COUNT(*) FROM sms_push_inbox", null) is 0L,
                TimeSpan.FromSeconds(120), "the second server to finish the wait and drain the inbox");
            await AssertRunOnceAsync(database, plugin, instanceId);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// A push the processor cannot run (here a stored report without a message id, as a bug in a reader or an older
    /// version could leave) fails the batch it is in; it is set aside with its error and tried again later, and the
    /// push that came in the same batch is run. Both are left by a stalled server, so the next one takes them together.
    /// </summary>
    [Fact]
    public async Task A_push_that_cannot_be_processed_is_kept_with_its_error_and_holds_up_no_other_push()
    {
        var (folder, workflows, data) = await PrepareAsync();
        var database = Path.Combine(data, "smsactivities.db");
        var plugin = database; // the plug-in's tables share the runtime's file
        var inbox = Path.Combine(data, "sms-inbox.db");
        var settings = new Dictionary<string, string?> { ["SmsActivities__Webhooks__Token"] = Token };
        var stalled = new Dictionary<string, string?>(settings) { ["SmsActivities__Inbox__MaxDelay"] = "00:10:00", ["SmsActivities__Inbox__PollInterval"] = "01:00:00" };
        try
        {
            string instanceId;
            using (var first = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, stalled))
            {
                using var http = await first.ClientWhenReadyAsync();
                instanceId = await StartWaitAsync(http, database);
                using (var ack = await http.PostAsync(WebhookPath(), new StringContent(Push, Encoding.UTF8, "application/json")))
                    Assert.True(ack.IsSuccessStatusCode, $"push answered {(int)ack.StatusCode}: {await ack.Content.ReadAsStringAsync()}");
                await using (var connection = new SqliteConnection($"Data Source={inbox};Default Timeout=60;Pooling=False"))
                {
                    await connection.OpenAsync();
                    await using var insert = connection.CreateCommand();
                    insert.CommandText = "INSERT INTO sms_push_inbox (Events, ReceivedAtTicks, DueAtTicks, Attempts) VALUES ($events, 0, 0, 0)";
                    insert.Parameters.AddWithValue("$events", """{"reports":[{"vendor":"tencent","messageId":null,"status":"Delivered","reportedAt":"2026-11-21T10:00:00+00:00"}],"replies":[],"emailEvents":[]}""");
                    await insert.ExecuteNonQueryAsync();
                }
                first.Kill();
            }

            using var second = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, settings);
            using var secondHttp = await second.ClientWhenReadyAsync();
            await ServerProcess.EventuallyAsync(async () => (string?)await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId) == "Finished",
                TimeSpan.FromSeconds(120), "the good push to be run past the poison row");
            await AssertRunOnceAsync(database, plugin, instanceId);
            // Kept, with why, and tried again with a growing delay (1 s, then 2 s, ...).
            await ServerProcess.EventuallyAsync(async () => await ScalarAsync(inbox, "SELECT MAX(Attempts) FROM sms_push_inbox", null) is >= 2L,
                TimeSpan.FromSeconds(60), "the poison row to be tried again");
            var rows = await ScalarAsync(inbox, "SELECT COUNT(*) FROM sms_push_inbox", null);
            Assert.True(rows is 1L, $"inbox rows left: {rows}; only the poison row should stay");
            var error = await ScalarAsync(inbox, "SELECT Error FROM sms_push_inbox", null) as string;
            Assert.True(error?.Contains("Exception", StringComparison.Ordinal) == true, $"the poison row's error: {error ?? "(none)"}");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task<(string Folder, string Workflows, string Data)> PrepareAsync()
    {
        var folder = Directory.CreateTempSubdirectory("smsactivities-accept-crash-").FullName;
        var workflows = Directory.CreateDirectory(Path.Combine(folder, "workflows")).FullName;
        await File.WriteAllTextAsync(Path.Combine(workflows, "wait-two-reports.json"), WaitWorkflow);
        return (folder, workflows, Path.Combine(folder, "data"));
    }

    private static async Task<string> StartWaitAsync(HttpClient http, string database)
    {
        using var started = await http.PostAsync("elsa/api/workflow-definitions/wait-two-reports/execute", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
        var instanceId = started.Headers.GetValues("x-elsa-workflow-instance-id").Single();
        Assert.Equal("Suspended", await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId));
        return instanceId;
    }

    /// <summary>Each of the two reports resumed the wait exactly once and is on the records once.</summary>
    private static async Task AssertRunOnceAsync(string database, string plugin, string instanceId)
    {
        var resumed = await ScalarAsync(database, "SELECT COUNT(*) FROM WorkflowExecutionLog WHERE InstanceId = $id AND EventName = 'Resumed' AND ActivityType = 'SmsActivities.WaitForDeliveryReport'", instanceId);
        Assert.True(resumed is 2L, $"the wait was resumed {resumed} times; each of the two reports must resume it exactly once");
        var outcome = await ScalarAsync(database, "SELECT Json FROM WorkflowExecutionLog WHERE InstanceId = $id AND EventName = 'Completed' AND ActivityType = 'SmsActivities.WaitForDeliveryReport'", instanceId) as string;
        Assert.True(outcome?.Contains("Delivered", StringComparison.Ordinal) == true, $"the wait's completion record: {outcome ?? "(none)"}");
        var reports = await ScalarAsync(plugin, "SELECT COUNT(*) FROM sms_delivery_reports WHERE MessageId IN ('crash-sid-1', 'crash-sid-2') AND Status = 'Delivered'", null);
        Assert.True(reports is 2L, $"{reports} of the two reports are on the records");
    }

    /// <summary>One of <see cref="Push"/>'s two reports alone.</summary>
    private static string PushOf(int index)
    {
        var items = System.Text.Json.Nodes.JsonNode.Parse(Push)!.AsArray();
        return new System.Text.Json.Nodes.JsonArray(items[index]!.DeepClone()).ToJsonString();
    }

    private static string WebhookPath() => $"webhooks/sms/tencent/status/{Token}";

    private static Task<object?> ScalarAsync(string database, string sql, string? instanceId) => SqliteFile.ScalarAsync(database, sql, instanceId);
}
