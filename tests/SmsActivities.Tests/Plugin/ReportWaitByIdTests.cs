using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Activities;
using SmsActivities.Emulators;
using SmsActivities.Persistence;
using SmsActivities.Stimuli;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Tests.Plugin;

/// <summary>
/// A WaitForDeliveryReport by message ids, of messages on send records: their reports are kept in the runtime's inbox
/// only for messages a wait has marked, so an early report must reach the wait another way (the stored report).
/// </summary>
public sealed class ReportWaitByIdTests
{
    /// <summary>SendSms to the input "to", an event "go" (so reports can come before the wait begins), then a wait on the send's message ids.</summary>
    private static CodeWorkflow SendThenWaitById(string id) => new(id, f =>
    {
        var send = f.Add(new SendSms { Id = "send", Vendor = new("tencent"), Recipients = new(c => c.GetWorkflowInput("to")?.GetValue<string>()), Text = new("hello") });
        var go = f.Add(new Event("go") { Id = "go" });
        var wait = f.Add(new WaitForDeliveryReport
        {
            Id = "wait", Vendor = new("tencent"), MessageIds = new(c => (object?)c.GetOutput("send", "MessageIds")), Timeout = new(TimeSpan.FromMinutes(5)),
        });
        f.Connect(send, go, SendSms.Sent);
        f.Connect(go, wait, "Done");
    });

    private static async Task<PluginTestBed> StartAsync()
    {
        var bed = await PluginTestBed.StartAsync([SendThenWaitById("by-id")]);
        // The test pushes every report itself, at the moments it chooses.
        bed.Tencent.StatusCallbackUrl = null;
        bed.Tencent.Script.Default = DeliveryPlan.NeverReport;
        return bed;
    }

    [Fact]
    public async Task A_report_that_comes_before_a_wait_by_message_ids_begins_is_taken_when_it_begins_without_a_row_in_the_runtime_inbox()
    {
        await using var bed = await StartAsync();
        var run = await bed.RunAsync("by-id", new Dictionary<string, object?> { ["to"] = "+8613800138001,+8613800138002" });
        var sent = await SentAsync(bed, run.InstanceId);
        Assert.Equal(2, sent.Count);

        // The first report before the wait has begun: on its send record, waited for by no one yet.
        await PushAsync(bed, [Report(sent[0].MessageId, sent[0].Mobile)]);
        await bed.InboxDrainedAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, await WaitingUnderMessageIdAsync(bed, sent[0].MessageId));

        await bed.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "go" }));
        var waiting = await bed.WaitForAsync(run.InstanceId, s => s.ActivityExecutionContexts.Any(c => c.ActivityId == "wait") && s.SubStatus == WorkflowSubStatus.Suspended,
            TimeSpan.FromSeconds(60));
        // The early report was taken when the wait began: one bookmark left, for the second message.
        Assert.Equal(1, waiting.Bookmarks.Count(b => b.Name == "SmsActivities.WaitForDeliveryReport"));

        await PushAsync(bed, [Report(sent[1].MessageId, sent[1].Mobile)]);
        var state = await bed.WaitForFinishAsync(run.InstanceId, TimeSpan.FromSeconds(60));

        Assert.Equal([WaitForDeliveryReport.Delivered], await bed.OutcomesAsync(run.InstanceId, "wait"));
        var reports = state.ActivityOutputs["wait"]["Reports"]!.AsArray();
        Assert.Equal(sent.Select(s => s.Mobile).Order(), reports.Select(r => r!["mobile"]!.GetValue<string>()).Order());
        Assert.All(reports, r => Assert.Equal("Delivered", r!["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_report_of_a_message_a_wait_has_marked_waits_in_the_runtime_inbox_for_the_bookmark_not_committed_yet()
    {
        await using var bed = await StartAsync();
        var run = await bed.RunAsync("by-id", new Dictionary<string, object?> { ["to"] = "+8613800138001,+8613800138002" });
        var sent = await SentAsync(bed, run.InstanceId);

        // A wait that has begun on the first message (its mark committed) and has not committed its bookmark yet.
        await bed.Services.GetRequiredService<ReportWaitMarkers>().MarkAsync(VendorNames.Tencent, [sent[0].MessageId], CancellationToken.None);
        await PushAsync(bed, [Report(sent[0].MessageId, sent[0].Mobile), Report(sent[1].MessageId, sent[1].Mobile)]);
        await bed.InboxDrainedAsync(TimeSpan.FromSeconds(60));

        // The marked message's report is kept for that bookmark to claim; the other's is not stored.
        Assert.Equal(1, await WaitingUnderMessageIdAsync(bed, sent[0].MessageId));
        Assert.Equal(0, await WaitingUnderMessageIdAsync(bed, sent[1].MessageId));
    }

    /// <summary>Stimuli waiting in the runtime's inbox for a wait on this message by its id.</summary>
    private static async Task<long> WaitingUnderMessageIdAsync(PluginTestBed bed, string messageId)
    {
        await using var connection = new SqliteConnection($"Data Source={bed.RuntimeDatabasePath}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM Stimuli WHERE Status = 0 AND Hash = $hash";
        command.Parameters.AddWithValue("$hash", SmsBookmarkPayload.Hash(SmsStimuli.WaitForDeliveryReport, DeliveryReportBookmark.For(VendorNames.Tencent, messageId)));
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<List<(string MessageId, string Mobile)>> SentAsync(PluginTestBed bed, string instanceId) =>
        (await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().Where(r => r.InstanceId == instanceId && r.Accepted).OrderBy(r => r.Id)
            .Select(r => new { r.MessageId, r.Mobile }).ToListAsync())).Select(r => (r.MessageId!, r.Mobile)).ToList();

    private static Dictionary<string, string> Report(string messageId, string mobile) => new()
    {
        ["user_receive_time"] = "2026-12-02 10:00:00", ["nationcode"] = "86", ["mobile"] = mobile[3..],
        ["report_status"] = "SUCCESS", ["errmsg"] = "DELIVRD", ["description"] = "ok", ["sid"] = messageId,
    };

    private static async Task PushAsync(PluginTestBed bed, IReadOnlyList<object> reports)
    {
        using var answer = await bed.Http.PostAsync(bed.WebhookUrl(VendorNames.Tencent, "status"), new StringContent(JsonSerializer.Serialize(reports), Encoding.UTF8, "application/json"));
        var body = await answer.Content.ReadAsStringAsync();
        Assert.True(body == """{"result":0,"errmsg":"OK"}""", $"the push of {reports.Count} reports was answered {(int)answer.StatusCode} {body}");
    }
}
