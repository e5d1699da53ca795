using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Activities;
using SmsActivities.Emulators;
using SmsActivities.Persistence;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Tests.Plugin;

/// <summary>A campaign's WaitForDeliveryReport: one bookmark on the send, progress counted from the send records.</summary>
public sealed class CampaignWaitTests
{
    private const int StateLimit = 64 * 1024;

    /// <summary>SendSms to the input "to", then an event "go" (so reports can come before the wait begins), then the wait.</summary>
    private static CodeWorkflow SendThenWait(string id) => new(id, f =>
    {
        var send = f.Add(new SendSms { Id = "send", Vendor = new("tencent"), Recipients = new(c => c.GetWorkflowInput("to")?.GetValue<string>()), Text = new("campaign") });
        var go = f.Add(new Event("go") { Id = "go" });
        var wait = f.Add(new WaitForDeliveryReport { Id = "wait", SendSmsActivityId = new("send"), Timeout = new(TimeSpan.FromMinutes(30)) });
        f.Connect(send, go, SendSms.Sent);
        f.Connect(go, wait, "Done");
    });

    private static string[] Numbers(int count, int from) => Enumerable.Range(from, count).Select(i => $"+86139{i:D8}").ToArray();

    private static async Task<PluginTestBed> StartAsync(int maxRecipients)
    {
        var bed = await PluginTestBed.StartAsync([SendThenWait("campaign")], new Dictionary<string, string?>
        {
            ["SmsActivities:MaxRecipientsPerSend"] = maxRecipients.ToString(CultureInfo.InvariantCulture),
        });
        // The test pushes every report itself, at the moments it chooses.
        bed.Tencent.StatusCallbackUrl = null;
        bed.Tencent.Script.Default = DeliveryPlan.NeverReport;
        return bed;
    }

    [Fact]
    public async Task A_wait_on_2000_recipients_keeps_one_bookmark_counts_early_and_repeated_reports_once_and_ends_once_after_the_last()
    {
        await using var bed = await StartAsync(2_000);
        var numbers = Numbers(2_000, 1_000_000);
        var run = await bed.RunAsync("campaign", new Dictionary<string, object?> { ["to"] = string.Join(',', numbers) });
        Assert.True(run.SubStatus == WorkflowSubStatus.Suspended, $"the campaign after its send: {run.SubStatus}");
        var sent = await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().Where(r => r.InstanceId == run.InstanceId && r.Accepted).OrderBy(r => r.Id)
            .Select(r => new { r.MessageId, r.Mobile }).ToListAsync());
        Assert.True(sent.Count == numbers.Length, $"{sent.Count} of {numbers.Length} recipients accepted");
        var bodies = sent.Select(s => (object)new Dictionary<string, string>
        {
            ["user_receive_time"] = "2026-12-02 10:00:00", ["nationcode"] = "86", ["mobile"] = s.Mobile[3..],
            ["report_status"] = "SUCCESS", ["errmsg"] = "DELIVRD", ["description"] = "ok", ["sid"] = s.MessageId!,
        }).ToArray();

        // 500 reports before the wait has begun, run through the push inbox: kept on the records (their stimuli wait in the runtime's inbox).
        await PushAsync(bed, bodies[..500]);
        await bed.InboxDrainedAsync(TimeSpan.FromSeconds(60));
        await bed.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "go" }));
        var waiting = await bed.WaitForAsync(run.InstanceId, s => s.ActivityExecutionContexts.Any(c => c.ActivityId == "wait") && s.SubStatus == WorkflowSubStatus.Suspended, TimeSpan.FromSeconds(60));
        var reportBookmarks = waiting.Bookmarks.Count(b => b.Name == "SmsActivities.WaitForDeliveryReport");
        Assert.True(reportBookmarks == 1, $"the wait on 2,000 recipients has {reportBookmarks} report bookmarks, expected one");
        Assert.True(await BookmarkRowsAsync(bed, run.InstanceId) <= 2, $"bookmark rows of the waiting instance: {await BookmarkRowsAsync(bed, run.InstanceId)} (one for the reports, one timer)");

        // The rest, each push repeated once (a vendor whose acknowledgement got lost), and the early ones again; the last report alone, last.
        foreach (var chunk in bodies[500..^1].Chunk(100))
        {
            await PushAsync(bed, chunk);
            await PushAsync(bed, chunk);
        }
        await PushAsync(bed, bodies[..500]);
        await bed.InboxDrainedAsync(TimeSpan.FromSeconds(60));
        var stillWaiting = await bed.Instances.GetStateAsync(run.InstanceId);
        var beforeLast = DateTimeOffset.UtcNow;
        await PushAsync(bed, bodies[^1..]);
        var state = await bed.WaitForFinishAsync(run.InstanceId, TimeSpan.FromSeconds(120));
        // A repeat of the last push after the end resumes nothing.
        await PushAsync(bed, bodies[^100..]);

        Assert.True(stillWaiting!.Status == WorkflowStatus.Running, $"the wait ended before its last report: {stillWaiting.SubStatus}");
        var outcomes = await bed.OutcomesAsync(run.InstanceId, "wait");
        Assert.True(outcomes.SequenceEqual([WaitForDeliveryReport.Delivered]), $"the wait's outcomes: {string.Join(", ", outcomes)}");
        var completed = (await bed.Instances.GetJournalAsync(run.InstanceId, new() { EventNames = ["Completed"], Take = 1_000 })).Items.Where(j => j.ActivityId == "wait").ToArray();
        Assert.True(completed.Length == 1 && completed[0].Timestamp >= beforeLast,
            $"the wait completed {completed.Length} time(s), at {string.Join(", ", completed.Select(c => c.Timestamp.ToString("O")))}; the last report was pushed at {beforeLast:O}");
        var tally = state.ActivityOutputs["wait"]["Tally"]!;
        Assert.True(tally["total"]!.GetValue<int>() == 2_000 && tally["delivered"]!.GetValue<int>() == 2_000 && tally["pending"]!.GetValue<int>() == 0, $"tally {tally.ToJsonString()}");
        // Over SmsActivities:MaxResultsInOutputs (1,000), the per-recipient lists stay out of the state.
        Assert.True(state.ActivityOutputs["wait"]["Reports"]!.AsArray().Count == 0, "the reports list of 2,000 recipients was kept in the outputs");
        Assert.True(await StateBytesAsync(bed, run.InstanceId) < StateLimit, $"state {await StateBytesAsync(bed, run.InstanceId)} bytes");
    }

    [Fact]
    public async Task A_campaign_of_20000_waiting_for_its_reports_keeps_its_state_under_64_KB_and_its_input_stored_once_beside_it()
    {
        await using var bed = await StartAsync(20_000);
        var numbers = Numbers(20_000, 3_000_000);
        var run = await bed.RunAsync("campaign", new Dictionary<string, object?> { ["to"] = string.Join(',', numbers) });
        Assert.True(run.SubStatus == WorkflowSubStatus.Suspended, $"the campaign after its send: {run.SubStatus}");
        await bed.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "go" }));
        await bed.WaitForAsync(run.InstanceId, s => s.ActivityExecutionContexts.Any(c => c.ActivityId == "wait") && s.SubStatus == WorkflowSubStatus.Suspended, TimeSpan.FromSeconds(60));

        var (stateBytes, inputBytes) = await StoredAsync(bed, run.InstanceId);
        Assert.True(stateBytes < StateLimit, $"the state of a waiting 20,000-recipient campaign is {stateBytes} bytes (limit {StateLimit})");
        Assert.True(inputBytes > 20_000 * 14, $"the workflow's input (20,000 numbers) should be in its own column: {inputBytes} bytes");
        Assert.True(await BookmarkRowsAsync(bed, run.InstanceId) <= 2, $"bookmark rows: {await BookmarkRowsAsync(bed, run.InstanceId)}");
        // The input is still the workflow's, as given.
        var state = await bed.Instances.GetStateAsync(run.InstanceId);
        Assert.Equal(string.Join(',', numbers), state!.Input["to"]!.GetValue<string>());
    }

    private static async Task PushAsync(PluginTestBed bed, IReadOnlyList<object> reports)
    {
        using var answer = await bed.Http.PostAsync(bed.WebhookUrl(VendorNames.Tencent, "status"), new StringContent(JsonSerializer.Serialize(reports), Encoding.UTF8, "application/json"));
        var body = await answer.Content.ReadAsStringAsync();
        Assert.True(body == """{"result":0,"errmsg":"OK"}""", $"the push of {reports.Count} reports was answered {(int)answer.StatusCode} {body}");
    }

    private static async Task<int> StateBytesAsync(PluginTestBed bed, string instanceId) => (await StoredAsync(bed, instanceId)).State;

    private static async Task<(int State, int Input)> StoredAsync(PluginTestBed bed, string instanceId)
    {
        await using var connection = new SqliteConnection($"Data Source={bed.RuntimeDatabasePath}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT length(CAST(StateJson AS BLOB)), COALESCE(length(CAST(InputJson AS BLOB)), 0) FROM WorkflowInstances WHERE Id = $id";
        command.Parameters.AddWithValue("$id", instanceId);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"instance {instanceId} is not stored");
        return (reader.GetInt32(0), reader.GetInt32(1));
    }

    private static async Task<long> BookmarkRowsAsync(PluginTestBed bed, string instanceId)
    {
        await using var connection = new SqliteConnection($"Data Source={bed.RuntimeDatabasePath}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM Bookmarks WHERE InstanceId = $id";
        command.Parameters.AddWithValue("$id", instanceId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
