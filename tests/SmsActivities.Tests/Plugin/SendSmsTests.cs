using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Activities;
using SmsActivities.Emulators;
using SmsActivities.OptOut;
using SmsActivities.Persistence;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Tests.Plugin;

public sealed class SendSmsTests
{
    private const string A = "+8613800138001";
    private const string B = "+8613800138002";

    private static CodeWorkflow SendAndWait(string id, Func<SendSms> send, TimeSpan? timeout = null) => new(id, f =>
    {
        var s = f.Add(send());
        s.Id = "send";
        var wait = f.Add(new WaitForDeliveryReport { Id = "wait", SendSmsActivityId = new("send"), Timeout = new(timeout) });
        f.Connect(s, wait, SendSms.Sent);
        f.Connect(s, wait, SendSms.PartiallySent);
    });

    [Fact]
    public async Task A_batch_is_sent_recorded_and_its_pushed_reports_resume_the_wait_as_Delivered()
    {
        await using var bed = await PluginTestBed.StartAsync([SendAndWait("batch", () => new SendSms { Vendor = new("tencent"), Recipients = new($"{A}, 13800138002"), Text = new("Your parcel is ready") })]);

        var run = await bed.RunAsync("batch");
        var state = await bed.WaitForFinishAsync(run.InstanceId);

        Assert.Equal([SendSms.Sent], await bed.OutcomesAsync(run.InstanceId, "send"));
        Assert.Equal([WaitForDeliveryReport.Delivered], await bed.OutcomesAsync(run.InstanceId, "wait"));
        var send = state.ActivityOutputs["send"];
        Assert.Equal(2, send["SentCount"]!.GetValue<int>());
        var results = send["Results"]!.AsArray();
        Assert.Equal([A, B], results.Select(r => r!["mobile"]!.GetValue<string>()));
        Assert.All(results, r => Assert.Equal("tencent", r!["vendor"]!.GetValue<string>()));

        var wait = state.ActivityOutputs["wait"];
        Assert.Equal(2, wait["Tally"]!["delivered"]!.GetValue<int>());
        Assert.Equal(0, wait["Tally"]!["pending"]!.GetValue<int>());

        var records = await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().OrderBy(r => r.Id).ToListAsync());
        Assert.Equal(2, records.Count);
        Assert.All(records, r =>
        {
            Assert.Equal(run.InstanceId, r.InstanceId);
            Assert.Equal("send", r.ActivityId);
            Assert.Equal(SendRecordStatus.Accepted, r.Status);
            Assert.NotNull(r.MessageId);
            Assert.Equal(32, r.IdempotencyKey!.Length);
        });
        Assert.Equal(results.Select(r => r!["messageId"]!.GetValue<string>()), records.Select(r => r.MessageId));
    }

    [Fact]
    public async Task The_wait_finds_the_SendSms_by_its_canvas_name_as_well_as_by_its_id()
    {
        var workflow = new CodeWorkflow("by-name", f =>
        {
            var s = f.Add(new SendSms { Vendor = new("tencent"), Recipients = new(A), Text = new("Your parcel is ready") });
            s.Id = "3f9c0a1b2c3d4e5f";
            s.Name = "SendSms1";
            var wait = f.Add(new WaitForDeliveryReport { Id = "wait", SendSmsActivityId = new("SendSms1"), Timeout = new(TimeSpan.FromMinutes(1)) });
            f.Connect(s, wait, SendSms.Sent);
        });
        await using var bed = await PluginTestBed.StartAsync([workflow]);

        var run = await bed.RunAsync("by-name");
        var state = await bed.WaitForFinishAsync(run.InstanceId);

        // Before, the name found no send record and the wait left at once by Failed ("no accepted message").
        Assert.Equal([WaitForDeliveryReport.Delivered], await bed.OutcomesAsync(run.InstanceId, "wait"));
        Assert.Equal(1, state.ActivityOutputs["wait"]["Tally"]!["delivered"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_failed_report_leaves_by_Failed_with_the_failed_recipient()
    {
        await using var bed = await PluginTestBed.StartAsync([SendAndWait("fail", () => new SendSms { Vendor = new("Auto"), Recipients = new(new List<string> { A, B }), Text = new("hello") })]);
        bed.Tencent.Script.For(B, DeliveryPlan.Fail("MK:0001"));

        var run = await bed.RunAsync("fail");
        var state = await bed.WaitForFinishAsync(run.InstanceId);

        Assert.Equal([WaitForDeliveryReport.Failed], await bed.OutcomesAsync(run.InstanceId, "wait"));
        var wait = state.ActivityOutputs["wait"];
        Assert.Equal([B], wait["FailedRecipients"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(1, wait["Tally"]!["failed"]!.GetValue<int>());
        Assert.Equal(1, wait["Tally"]!["delivered"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_report_that_never_comes_leaves_by_Timeout_with_the_pending_recipient()
    {
        // Long enough for B's report to arrive on a loaded machine: the test is about A's, which never comes.
        await using var bed = await PluginTestBed.StartAsync([SendAndWait("late", () => new SendSms { Recipients = new($"{A}\n{B}"), Text = new("hello") }, TimeSpan.FromSeconds(3))]);
        bed.Tencent.Script.For(A, DeliveryPlan.NeverReport);

        var run = await bed.RunAsync("late");
        var state = await bed.WaitForFinishAsync(run.InstanceId);

        Assert.Equal([BlockingActivityTimeout], await bed.OutcomesAsync(run.InstanceId, "wait"));
        var wait = state.ActivityOutputs["wait"];
        Assert.Equal([A], wait["PendingRecipients"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(1, wait["Tally"]!["delivered"]!.GetValue<int>());
    }

    private const string BlockingActivityTimeout = "Timeout";

    [Theory]
    [InlineData("12345", "hello", "tencent", "recipients[0]")]
    [InlineData(A, "", "tencent", "text")]
    [InlineData(A, "hello", "nosuchvendor", "unknown vendor 'nosuchvendor'")]
    public async Task Bad_input_is_answered_with_a_clear_error_and_nothing_is_sent(string recipients, string text, string vendor, string expected)
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("bad", f => f.Add(new SendSms { Id = "send", Vendor = new(vendor), Recipients = new(recipients), Text = new(text) }))]);

        var run = await bed.RunAsync("bad");

        Assert.Equal([SendSms.Failed], await bed.OutcomesAsync(run.InstanceId, "send"));
        var error = (await bed.OutputsAsync(run.InstanceId, "send"))["Error"]!.GetValue<string>();
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Empty(bed.TencentSends());
        Assert.Equal(0, await bed.WithDbAsync(db => db.SendRecords.CountAsync()));
    }

    [Fact]
    public async Task A_campaign_over_the_vendor_limit_is_batched_and_every_report_is_tallied()
    {
        var many = Enumerable.Range(0, 201).Select(i => $"+86139{i:D8}").ToList();
        await using var bed = await PluginTestBed.StartAsync([SendAndWait("campaign", () => new SendSms { Vendor = new("tencent"), Recipients = new(many), Text = new("Big sale") }, TimeSpan.FromMinutes(3))]);

        var run = await bed.RunAsync("campaign");
        var state = await bed.WaitForFinishAsync(run.InstanceId, TimeSpan.FromMinutes(3));

        // Tencent takes at most 200 numbers per sendmultisms2.
        Assert.Equal(2, bed.TencentSends().Count);
        Assert.Equal(201, state.ActivityOutputs["send"]["SentCount"]!.GetValue<int>());
        Assert.Equal([WaitForDeliveryReport.Delivered], await bed.OutcomesAsync(run.InstanceId, "wait"));
        Assert.Equal(201, state.ActivityOutputs["wait"]["Tally"]!["delivered"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_campaigns_batches_go_to_the_vendor_side_by_side_but_never_more_at_once_than_the_vendor_allows()
    {
        // Five batches of Tencent's 200, at most two calls in flight, every call held a second by the vendor: sent one after
        // another there would never be two calls open at once, sent all together there would be five.
        var many = Enumerable.Range(0, 1000).Select(i => $"+86139{i:D8}").ToList();
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("parallel", f => f.Add(new SendSms { Id = "send", Vendor = new("tencent"), Recipients = new(many), Text = new("Big sale") }))],
            new Dictionary<string, string?> { ["Vendors:Tencent:MaxConcurrentCalls"] = "2", ["SmsActivities:MaxRecipientsPerSend"] = "1000" });
        bed.Tencent.Faults.DelayNextCalls(5, TimeSpan.FromSeconds(1));

        // On a thread of its own: the run can go a long way before its first await yields.
        var running = Task.Run(() => bed.RunAsync("parallel"));
        var most = 0;
        while (!running.IsCompleted)
        {
            // A call is open from its arrival until the vendor has handled it (its 200 messages sent): only then can its
            // answer free a place for the next batch.
            most = Math.Max(most, bed.TencentSends().Count - bed.Tencent.Sent.Count / 200);
            await Task.Delay(25);
        }
        var run = await running;

        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.Equal(2, most);
        Assert.Equal(5, bed.TencentSends().Count);
        Assert.Equal(1000, bed.Tencent.Sent.Select(m => m.Mobile).Distinct().Count());
        Assert.Equal(1000, await bed.WithDbAsync(db => db.SendRecords.CountAsync(r => r.InstanceId == run.InstanceId && r.Status == SendRecordStatus.Accepted && r.MessageId != null)));
    }

    [Fact]
    public async Task A_campaign_over_the_output_limit_keeps_its_per_recipient_results_in_the_send_records_and_its_wait_still_tallies_them()
    {
        var many = Enumerable.Range(0, 5).Select(i => $"+86139{i:D8}").ToList();
        await using var bed = await PluginTestBed.StartAsync([SendAndWait("small-state", () => new SendSms { Vendor = new("tencent"), Recipients = new(many), Text = new("Big sale") }, TimeSpan.FromMinutes(3))],
            new Dictionary<string, string?> { ["SmsActivities:MaxResultsInOutputs"] = "3" });

        var run = await bed.RunAsync("small-state");
        var state = await bed.WaitForFinishAsync(run.InstanceId, TimeSpan.FromMinutes(3));

        var send = state.ActivityOutputs["send"];
        Assert.True(send["ResultsOmitted"]!.GetValue<bool>(), $"ResultsOmitted was {send["ResultsOmitted"]?.ToJsonString() ?? "(none)"} for 5 recipients over a limit of 3");
        Assert.Empty(send["Results"]!.AsArray());
        Assert.Empty(send["MessageIds"]!.AsArray());
        Assert.Equal(5, send["SentCount"]!.GetValue<int>());
        Assert.Equal(5, await bed.WithDbAsync(db => db.SendRecords.CountAsync(r => r.InstanceId == run.InstanceId && r.Accepted && r.MessageId != null)));
        Assert.Equal([WaitForDeliveryReport.Delivered], await bed.OutcomesAsync(run.InstanceId, "wait"));
        Assert.Equal(5, state.ActivityOutputs["wait"]["Tally"]!["delivered"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_campaign_over_the_output_limit_leaves_its_in_doubt_list_empty_counts_them_in_InDoubtCount_and_its_outcome_Unknown()
    {
        var many = Enumerable.Range(0, 5).Select(i => $"+86139{i:D8}").ToList();
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("doubted-campaign", f =>
                f.Add(new SendSms { Id = "send", Vendor = new(VendorNames.Yunpian), Recipients = new(many), Text = new("【SmsSandbox】Big sale") }))],
            new Dictionary<string, string?> { ["SmsActivities:MaxResultsInOutputs"] = "3" });
        bed.Emulators.Set.Yunpian.Faults.FailNextCalls(1, EmulatorFault.AcceptThenFail, 500);

        var run = await bed.RunAsync("doubted-campaign");

        Assert.Equal([SendSms.Unknown], await bed.OutcomesAsync(run.InstanceId, "send"));
        var send = await bed.OutputsAsync(run.InstanceId, "send");
        Assert.True(send["InDoubtRecipients"]!.AsArray().Count == 0, $"in doubt listed over a limit of 3: {send["InDoubtRecipients"]!.ToJsonString()}");
        Assert.True(send["InDoubtCount"]?.GetValue<int>() == 5, $"InDoubtCount {send["InDoubtCount"]?.ToJsonString() ?? "(none)"}, expected the 5 in doubt");
        Assert.True(send["ResultsOmitted"]!.GetValue<bool>());
        // The records still name them: in doubt, or already settled by a delivery report the emulator pushes for the
        // messages it accepted (which can land before this count since reports are accepted in smaller runs).
        Assert.Equal(5, await bed.WithDbAsync(db => db.SendRecords.CountAsync(r => r.InstanceId == run.InstanceId
            && (r.Status == SendRecordStatus.InDoubt || (r.Status == SendRecordStatus.Accepted && r.MessageId != null)))));
    }

    [Fact]
    public async Task An_oversize_batch_is_refused_before_anything_is_sent()
    {
        var many = Enumerable.Range(0, 501).Select(i => $"+86139{i:D8}").ToList();
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("big", f => f.Add(new SendSms { Id = "send", Recipients = new(many), Text = new("hi") }))]);

        var run = await bed.RunAsync("big");

        Assert.Equal([SendSms.Failed], await bed.OutcomesAsync(run.InstanceId, "send"));
        Assert.Contains("at most 500 recipients", (await bed.OutputsAsync(run.InstanceId, "send"))["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(bed.TencentSends());
    }

    [Fact]
    public async Task Opted_out_numbers_are_skipped_and_reported()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("optout", f => f.Add(new SendSms { Id = "send", Recipients = new($"{B},{A}"), Text = new("sale!") }))]);
        await bed.Services.GetRequiredService<OptOutList>().AddAsync(B, "test", null);

        var run = await bed.RunAsync("optout");
        // Results keep the caller's order, opted-out recipients included.
        Assert.Equal([B, A], (await bed.OutputsAsync(run.InstanceId, "send"))["Results"]!.AsArray().Select(r => r!["mobile"]!.GetValue<string>()));

        Assert.Equal([SendSms.PartiallySent], await bed.OutcomesAsync(run.InstanceId, "send"));
        var outputs = await bed.OutputsAsync(run.InstanceId, "send");
        Assert.Equal(1, outputs["OptedOutCount"]!.GetValue<int>());
        var b = outputs["Results"]!.AsArray().Single(r => r!["mobile"]!.GetValue<string>() == B)!;
        Assert.True(b["optedOut"]!.GetValue<bool>());
        Assert.False(b["accepted"]!.GetValue<bool>());
        Assert.Single(bed.Tencent.Sent);
        Assert.Equal(A, bed.Tencent.Sent[0].Mobile);
    }

    [Fact]
    public async Task Only_opted_out_recipients_means_Failed_and_no_vendor_call()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("optout-all", f => f.Add(new SendSms { Id = "send", Recipients = new(B), Text = new("sale!") }))]);
        await bed.Services.GetRequiredService<OptOutList>().AddAsync(B, "test", null);

        var run = await bed.RunAsync("optout-all");

        Assert.Equal([SendSms.Failed], await bed.OutcomesAsync(run.InstanceId, "send"));
        Assert.Empty(bed.TencentSends());
    }

    [Fact]
    public async Task A_vendor_that_answers_5xx_on_every_call_fails_the_step_without_faulting_the_workflow()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("down", f => f.Add(new SendSms { Id = "send", Vendor = new("tencent"), Recipients = new(A), Text = new("hi") }))]);
        bed.Tencent.Faults.FailNextCalls(10, 503);

        var run = await bed.RunAsync("down");

        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.Equal([SendSms.Failed], await bed.OutcomesAsync(run.InstanceId, "send"));
        var record = await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().SingleAsync());
        Assert.Equal(SendRecordStatus.Rejected, record.Status);
    }

    [Fact]
    public async Task A_report_that_arrives_before_the_bookmark_is_kept_in_the_inbox_and_resumes_the_wait()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("early", f => f.Add(new WaitForDeliveryReport
        {
            Id = "wait", Vendor = new("tencent"), MessageIds = new("early-sid-1"), Timeout = new(TimeSpan.FromSeconds(30)),
        }))]);
        var push = """[{"user_receive_time":"2026-11-21 10:00:00","nationcode":"86","mobile":"13800138001","report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"early-sid-1"}]""";
        using (var answer = await bed.Http.PostAsync(bed.WebhookUrl("tencent", "status"), new StringContent(push, System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal("""{"result":0,"errmsg":"OK"}""", await answer.Content.ReadAsStringAsync());
        }
        // Run and waiting in the runtime's inbox before the wait begins.
        await bed.InboxDrainedAsync();

        var run = await bed.RunAsync("early");
        var state = await bed.WaitForFinishAsync(run.InstanceId);

        Assert.Equal([WaitForDeliveryReport.Delivered], await bed.OutcomesAsync(run.InstanceId, "wait"));
        Assert.Equal(A, state.ActivityOutputs["wait"]["Reports"]![0]!["mobile"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_app_key_never_reaches_logs_or_stored_state()
    {
        await using var bed = await PluginTestBed.StartAsync([SendAndWait("secret", () => new SendSms { Recipients = new(A), Text = new("hello") })]);
        bed.Tencent.Faults.FailNextCalls(1, 500);
        var failed = await bed.RunAsync("secret");
        var ok = await bed.RunAsync("secret");
        await bed.WaitForFinishAsync(ok.InstanceId);

        var stored = await bed.EverythingStoredAboutAsync(failed.InstanceId) + await bed.EverythingStoredAboutAsync(ok.InstanceId);
        Assert.DoesNotContain(SmsActivities.Emulators.Tencent.TencentEmulator.SandboxAppKey, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(SmsActivities.Emulators.Tencent.TencentEmulator.SandboxAppKey, bed.Logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(PluginTestBed.Token, bed.Logs.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_activities_are_in_the_runtime_registry_with_categories_ports_and_hints()
    {
        await using var bed = await PluginTestBed.StartAsync();
        var registry = bed.Services.GetRequiredService<ActivityRegistry>();
        var send = ActivityRegistry.Describe(registry.Find("SmsActivities.SendSms")!);
        Assert.Equal("SMS", send.Category);
        Assert.Equal(["Sent", "PartiallySent", "Failed", "Unknown", "RateLimited"], send.Ports.Select(p => p.Name));
        Assert.Equal("dropdown", send.Inputs.Single(i => i.Name == "Vendor").UIHint);
        Assert.Equal("multitext", send.Inputs.Single(i => i.Name == "Recipients").UIHint);
        Assert.Equal("multiline", send.Inputs.Single(i => i.Name == "Text").UIHint);
        Assert.Equal("Voice", ActivityRegistry.Describe(registry.Find("SmsActivities.SendVoiceOtp")!).Category);
        Assert.Equal("Email", ActivityRegistry.Describe(registry.Find("SmsActivities.SendEmail")!).Category);
        var verify = ActivityRegistry.Describe(registry.Find("SmsActivities.VerifyOtp")!);
        Assert.Equal("OTP", verify.Category);
        Assert.True(verify.Inputs.Single(i => i.Name == "Code").IsSensitive);
        Assert.Equal(["Delivered", "Failed", "Timeout"], ActivityRegistry.Describe(registry.Find("SmsActivities.WaitForDeliveryReport")!).Ports.Select(p => p.Name));
        Assert.Equal("Trigger", ActivityRegistry.Describe(registry.Find("SmsActivities.SmsReplyReceived")!).Kind);
        Assert.Equal("Trigger", ActivityRegistry.Describe(registry.Find("SmsActivities.DeliveryReportReceived")!).Kind);
        Assert.NotNull(registry.Find("Elsa.Flowchart"));
    }

    [Fact]
    public async Task Vendor_drop_downs_list_the_configured_vendors_that_can_do_the_job()
    {
        await using var bed = await PluginTestBed.StartAsync();
        var descriptors = bed.Services.GetRequiredService<ActivityRegistry>().GetDescriptors(bed.Services);
        IReadOnlyList<string> Choices(string type, string input) =>
            descriptors.Single(d => d.TypeName == type).Inputs.Single(i => i.Name == input)
                .UISpecifications!["dropdown"]!["selectList"]!["items"]!.AsArray().Select(i => i!["value"]!.GetValue<string>()).ToArray();

        Assert.Equal(["Auto", VendorNames.Yunpian, VendorNames.Tencent, VendorNames.SendCloud, VendorNames.Yaningai], Choices("SmsActivities.SendSms", "Vendor"));
        Assert.Equal(["Auto", VendorNames.SendCloud, VendorNames.Yaningai], Choices("SmsActivities.SendVoiceOtp", "Vendor"));
        Assert.Equal(["Auto", VendorNames.Yaningai], Choices("SmsActivities.SendEmail", "Vendor"));
        Assert.Equal("Any", Choices("SmsActivities.SmsReplyReceived", "Vendor")[0]);
    }

    [Fact]
    public void A_server_with_one_vendor_offers_only_that_vendor()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Tencent:SdkAppId"] = "1400000001",
            ["Tencent:AppKey"] = "not-used-here",
        }).Build();
        using var services = new ServiceCollection().AddSmsVendors(configuration).BuildServiceProvider();
        var map = services.GetRequiredService<VendorCapabilityMap>();
        Assert.Equal(["Auto", VendorNames.Tencent], new SmsVendorChoices(map).GetOptions(null!));
        Assert.Equal(["Auto"], new EmailVendorChoices(map).GetOptions(null!));
    }
}
