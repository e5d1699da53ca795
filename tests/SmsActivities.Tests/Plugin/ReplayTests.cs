using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Activities;
using SmsActivities.Emulators;
using SmsActivities.Persistence;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Tests.Plugin;

/// <summary>
/// A crash after the vendor accepted, before the runtime committed the run: the retried delivery executes the send again
/// with the same execution key, and the send must replay what it did instead of messaging the person twice.
/// </summary>
public sealed partial class ReplayTests
{
    private const string A = "+8613800138001";

    /// <summary>Event "go" → the activity under test → a step that "crashes" the first run after the send completed.</summary>
    private static CodeWorkflow SendThenCrash(string id, Activity send) => new(id, f =>
    {
        var go = f.Add(new Event("go") { Id = "go" });
        send.Id = "send";
        var sendStep = f.Add(send);
        var crash = f.Add(new CrashOnce { Id = "crash" });
        f.Connect(go, sendStep);
        foreach (var port in new[] { SendSms.Sent, SendSms.PartiallySent, SendSms.Failed }) f.Connect(sendStep, crash, port);
    });

    private static async Task<(PluginTestBed Bed, string InstanceId)> RunWithCrashAsync(string id, Activity send)
    {
        var bed = await PluginTestBed.StartAsync([SendThenCrash(id, send)], configureRuntime: o =>
        {
            o.AddActivity<CrashOnce>();
            // A delivery falls due for the retry loop this long after it was recorded: long enough that the inline run,
            // not the retry loop, is the one that "crashes" (the race lost on an idle machine at 200 ms), short enough to wait out.
            o.LeaseWaitTimeout = TimeSpan.FromSeconds(1);
        });
        var started = await bed.RunAsync(id);
        using var crash = new CancellationTokenSource();
        CrashOnce.Arm(started.InstanceId, crash);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            bed.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "go" }), crash.Token));
        await bed.WaitForFinishAsync(started.InstanceId);
        return (bed, started.InstanceId);
    }

    [Fact]
    public async Task SendSms_executed_again_with_the_same_execution_key_sends_nothing_and_completes_with_the_same_outputs()
    {
        var (bed, instanceId) = await RunWithCrashAsync("sms-replay", new SendSms { Vendor = new("tencent"), Recipients = new(A), Text = new("Your parcel is ready") });
        await using var _ = bed;

        Assert.Single(bed.TencentSends());
        var seen = CrashOnce.OutputsSeen(instanceId);
        Assert.Equal(2, seen.Count);
        Assert.Equal(seen[0], seen[1]);
        var outputs = await bed.OutputsAsync(instanceId, "send");
        Assert.Equal(1, outputs["SentCount"]!.GetValue<int>());
        Assert.Equal(bed.Tencent.Sent.Single().Sid, outputs["MessageIds"]![0]!.GetValue<string>());
        Assert.Equal([SendSms.Sent], await bed.OutcomesAsync(instanceId, "send"));
        Assert.Single(await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().ToListAsync()));
    }

    [Fact]
    public async Task Kept_outputs_are_plain_json_when_small_compressed_when_large_and_both_read_back()
    {
        await using var bed = await PluginTestBed.StartAsync();
        var store = bed.Services.GetRequiredService<SendRecordStore>();
        var small = new JsonObject { ["sentCount"] = 1 };
        var large = new JsonObject { ["results"] = new JsonArray(Enumerable.Range(0, 200).Select(i => (JsonNode?)$"+86138{30_000_000 + i}").ToArray()) };
        await store.CompleteAsync("kept-small", [], small, CancellationToken.None);
        await store.CompleteAsync("kept-large", [], large, CancellationToken.None);
        // Outputs kept by an earlier version: always GZip-compressed, however small.
        using (var buffer = new MemoryStream())
        {
            using (var zip = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Fastest))
                zip.Write(System.Text.Encoding.UTF8.GetBytes("""{"sentCount":7}"""));
            var old = buffer.ToArray();
            await bed.WithDbAsync(db =>
            {
                db.SendOutcomes.Add(new SendOutcomeEntity { IdempotencyKey = "kept-old", Outputs = old, CreatedAtTicks = DateTimeOffset.UtcNow.UtcTicks });
                return db.SaveChangesAsync();
            });
        }

        var stored = await bed.WithDbAsync(db => db.SendOutcomes.AsNoTracking().ToDictionaryAsync(o => o.IdempotencyKey, o => o.Outputs));
        Assert.Equal((byte)'{', stored["kept-small"][0]);
        Assert.Equal([0x1f, 0x8b], stored["kept-large"][..2]);
        Assert.Equal(1, (await store.LookUpAsync<JsonObject>("kept-small", [], CancellationToken.None)).Prior!.Completed!["sentCount"]!.GetValue<int>());
        Assert.Equal(200, (await store.LookUpAsync<JsonObject>("kept-large", [], CancellationToken.None)).Prior!.Completed!["results"]!.AsArray().Count);
        Assert.Equal(7, (await store.LookUpAsync<JsonObject>("kept-old", [], CancellationToken.None)).Prior!.Completed!["sentCount"]!.GetValue<int>());
    }

    [Fact]
    public async Task An_OTP_send_executed_again_replays_its_outcome_and_the_code_sent_the_first_time_stays_the_one_that_verifies()
    {
        var (bed, instanceId) = await RunWithCrashAsync("otp-replay",
            new SendSms { Vendor = new("tencent"), Recipients = new(A), Text = new("Your code is {code}"), Otp = new(true), OtpPurpose = new("login") });
        await using var _ = bed;

        Assert.Single(bed.TencentSends());
        var challenge = Assert.Single(await bed.WithDbAsync(db => db.OtpChallenges.AsNoTracking().ToListAsync()));
        Assert.False(challenge.Consumed);
        var seen = CrashOnce.OutputsSeen(instanceId);
        Assert.Equal(seen[0], seen[1]);
        Assert.NotNull((await bed.OutputsAsync(instanceId, "send"))["OtpExpiresAt"]);

        var code = SixDigits().Match(bed.Tencent.Sent.Single().Text).Value;
        var otp = bed.Services.GetService(typeof(SmsActivities.Otp.OtpService)) as SmsActivities.Otp.OtpService;
        Assert.Equal(SmsActivities.Otp.OtpVerifyOutcome.Valid, await otp!.VerifyAsync(A, "login", code, null));
    }

    [Fact]
    public async Task SendVoiceOtp_executed_again_with_the_same_execution_key_calls_nobody_and_completes_with_the_same_outputs()
    {
        var (bed, instanceId) = await RunWithCrashAsync("voice-replay", new SendVoiceOtp { Vendor = new(VendorNames.SendCloud), Mobile = new(A) });
        await using var _ = bed;

        Assert.Single(bed.Emulators.Set.Requests.For(VendorNames.SendCloud), r => r.Path.Contains("voice", StringComparison.OrdinalIgnoreCase));
        Assert.Single(await bed.WithDbAsync(db => db.OtpChallenges.AsNoTracking().ToListAsync()), c => !c.Consumed);
        var seen = CrashOnce.OutputsSeen(instanceId);
        Assert.Equal(seen[0], seen[1]);
        Assert.Equal([SendVoiceOtp.Sent], await bed.OutcomesAsync(instanceId, "send"));
    }

    [Fact]
    public async Task SendEmail_executed_again_with_the_same_execution_key_sends_nothing_and_completes_with_the_same_outputs()
    {
        var (bed, instanceId) = await RunWithCrashAsync("email-replay", Email());
        await using var _ = bed;

        Assert.Single(bed.EmailSends());
        var seen = CrashOnce.OutputsSeen(instanceId);
        Assert.Equal(2, seen.Count);
        Assert.Equal(seen[0], seen[1]);
        var outputs = await bed.OutputsAsync(instanceId, "send");
        Assert.Equal(bed.Emulators.Set.Yaningai.Emails.Single().MessageId, outputs["MessageIds"]![0]!.GetValue<string>());
        Assert.True(outputs["Results"]![0]!["accepted"]!.GetValue<bool>());
        Assert.Equal([SendEmail.Sent], await bed.OutcomesAsync(instanceId, "send"));
        var record = Assert.Single(await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().ToListAsync()));
        Assert.Equal((Ann, SendRecordStatus.Accepted), (record.Mobile, record.Status));
    }

    [Fact]
    public async Task A_send_that_died_inside_the_vendor_call_is_surfaced_as_in_doubt_by_the_re_execution_and_not_repeated()
    {
        var (bed, instanceId) = await RunWithCrashInsideVendorCallAsync("doubt", new SendSms { Vendor = new("tencent"), Recipients = new(A), Text = new("hi") },
            b => b.Tencent.Faults, b => b.TencentSends().Count);
        await using var _ = bed;

        Assert.Equal([SendSms.Unknown], await bed.OutcomesAsync(instanceId, "send"));
        var outputs = await bed.OutputsAsync(instanceId, "send");
        Assert.Contains("interrupted", outputs["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal([A], outputs["InDoubtRecipients"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Single(bed.TencentSends());
        Assert.Equal(SendRecordStatus.InDoubt, (await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().SingleAsync())).Status);
    }

    /// <summary>
    /// The recipient opts out while the interrupted call is at the vendor: the re-run must still report the send in doubt
    /// (the vendor may have sent it), not as skipped for the opt-out, and mark its record so.
    /// </summary>
    [Fact]
    public async Task A_send_that_died_inside_the_vendor_call_is_in_doubt_even_when_its_recipient_opted_out_since()
    {
        var (bed, instanceId) = await RunWithCrashInsideVendorCallAsync("doubt-opted-out", new SendSms { Vendor = new("tencent"), Recipients = new(A), Text = new("hi") },
            b => b.Tencent.Faults, b => b.TencentSends().Count, whileHeld: b => b.Services.GetRequiredService<OptOut.OptOutList>().AddAsync(A, "STOP", "tencent"));
        await using var _ = bed;

        Assert.Equal([SendSms.Unknown], await bed.OutcomesAsync(instanceId, "send"));
        var outputs = await bed.OutputsAsync(instanceId, "send");
        Assert.Equal([A], outputs["InDoubtRecipients"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Single(bed.TencentSends());
        Assert.Equal(SendRecordStatus.InDoubt, (await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().SingleAsync())).Status);
    }

    [Fact]
    public async Task A_campaign_that_died_in_its_second_batch_resends_no_accepted_batch_sends_the_batches_never_attempted_and_doubts_only_the_one_in_flight()
    {
        // Tencent takes 200 numbers per call: three batches, the second held by the vendor when the process dies.
        var recipients = Enumerable.Range(0, 500).Select(i => $"+86138{30_000_000 + i}").ToArray();
        var (bed, instanceId) = await RunWithCrashInsideVendorCallAsync("campaign-doubt",
            new SendSms { Vendor = new("tencent"), Recipients = new(string.Join(",", recipients)), Text = new("Spring sale") },
            b => b.Tencent.Faults, b => b.Emulators.Set.Requests.For(VendorNames.Tencent).Count(r => r.Path.Contains("sendmultisms", StringComparison.Ordinal)), afterCalls: 1,
            // One batch after another, so the third is never attempted before the crash.
            settings: new Dictionary<string, string?> { ["Vendors:Tencent:MaxConcurrentCalls"] = "1" });
        await using var _ = bed;

        var sentTo = bed.Tencent.Sent.Select(m => m.Mobile).ToArray();
        Assert.Equal(sentTo.Length, sentTo.Distinct().Count());
        Assert.Equal(recipients[..200].Concat(recipients[400..]).Order(), sentTo.Order());
        Assert.Equal([SendSms.Unknown], await bed.OutcomesAsync(instanceId, "send"));
        var outputs = await bed.OutputsAsync(instanceId, "send");
        Assert.Equal(300, outputs["SentCount"]!.GetValue<int>());
        Assert.Equal(recipients[200..400], outputs["InDoubtRecipients"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    // The re-run sends the never-attempted batch while the vendor pushes the reports of all the others at once (600 pushes):
    // their acknowledgements, first in the write queue, once held up the re-run's record writes for about 30 s.
    [Fact]
    public async Task A_campaign_that_died_with_batches_side_by_side_sends_nobody_twice_and_doubts_only_what_may_have_reached_the_vendor()
    {
        // Four batches of 200, two calls at a time: the second call to arrive is held by the vendor when the process dies,
        // and whatever else was in flight dies with it.
        var recipients = Enumerable.Range(0, 800).Select(i => $"+86138{30_000_000 + i}").ToArray();
        var (bed, instanceId) = await RunWithCrashInsideVendorCallAsync("campaign-parallel-doubt",
            new SendSms { Vendor = new("tencent"), Recipients = new(string.Join(",", recipients)), Text = new("Spring sale") },
            b => b.Tencent.Faults, b => b.Emulators.Set.Requests.For(VendorNames.Tencent).Count(r => r.Path.Contains("sendmultisms", StringComparison.Ordinal)), afterCalls: 1,
            settings: new Dictionary<string, string?> { ["Vendors:Tencent:MaxConcurrentCalls"] = "2", ["SmsActivities:MaxRecipientsPerSend"] = "800" });
        await using var _ = bed;

        var sentTo = bed.Tencent.Sent.Select(m => m.Mobile).ToArray();
        Assert.Equal(sentTo.Length, sentTo.Distinct().Count());
        var outputs = await bed.OutputsAsync(instanceId, "send");
        var inDoubt = outputs["InDoubtRecipients"]!.AsArray().Select(n => n!.GetValue<string>()).ToHashSet();
        // Every recipient was sent once or is reported in doubt; the held batch reached nobody and is in doubt.
        Assert.DoesNotContain(recipients, r => !inDoubt.Contains(r) && !sentTo.Contains(r));
        // Whole batches never reached a handset: the held one, and one in flight that died before the vendor took it.
        // (In doubt may be fewer than whole batches: a batch the vendor took before the crash is settled recipient by
        // recipient as its delivery reports arrive, some before the re-run completes.)
        var neverSent = recipients.Count(r => !sentTo.Contains(r));
        Assert.True(neverSent >= 200 && neverSent % 200 == 0, $"{neverSent} never sent, expected whole batches, the held one at least");
        Assert.Equal(800 - inDoubt.Count, outputs["SentCount"]!.GetValue<int>());
        Assert.Equal([SendSms.Unknown], await bed.OutcomesAsync(instanceId, "send"));
    }

    [Fact]
    public async Task A_SendEmail_that_died_inside_the_vendor_call_is_surfaced_as_in_doubt_by_the_re_execution_and_not_repeated()
    {
        var (bed, instanceId) = await RunWithCrashInsideVendorCallAsync("email-doubt", Email(), b => b.Emulators.Set.Yaningai.Faults, b => b.EmailSends().Count);
        await using var _ = bed;

        // In doubt, as a send whose answer was lost: the workflow decides by the Unknown outcome, as with SendSms.
        Assert.Equal([SendEmail.Unknown], await bed.OutcomesAsync(instanceId, "send"));
        var outputs = await bed.OutputsAsync(instanceId, "send");
        Assert.Contains("interrupted", outputs["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal([Ann], outputs["InDoubtRecipients"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Empty(outputs["MessageIds"]!.AsArray());
        Assert.Single(bed.EmailSends());
        Assert.Empty(bed.Emulators.Set.Yaningai.Emails);
        var record = await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().SingleAsync());
        Assert.Equal((Ann, SendRecordStatus.InDoubt), (record.Mobile, record.Status));
    }

    private const string Ann = "ann@example.com";

    private static SendEmail Email() =>
        new() { Vendor = new(VendorNames.Yaningai), To = new(Ann), SenderName = new("Acme"), Subject = new("Welcome"), HtmlContent = new("<p>Hello</p>") };

    /// <summary>
    /// The vendor holds the send's call; the "process" dies while it waits (the run is cancelled once the call is in);
    /// the retried delivery then executes the send again with the same key.
    /// </summary>
    private static async Task<(PluginTestBed Bed, string InstanceId)> RunWithCrashInsideVendorCallAsync(
        string id, Activity send, Func<PluginTestBed, EmulatorFaults> faults, Func<PluginTestBed, int> callsMade, int afterCalls = 0, IDictionary<string, string?>? settings = null,
        Func<PluginTestBed, Task>? whileHeld = null)
    {
        var bed = await PluginTestBed.StartAsync([SendThenCrash(id, send)], settings, configureRuntime: o =>
        {
            o.AddActivity<CrashOnce>();
            // A delivery falls due for the retry loop this long after it was recorded: long enough that the inline run,
            // not the retry loop, is the one that "crashes" (the race lost on an idle machine at 200 ms), short enough to wait out.
            o.LeaseWaitTimeout = TimeSpan.FromSeconds(1);
        });
        var started = await bed.RunAsync(id);
        faults(bed).DelayNextCalls(1, TimeSpan.FromDays(1), afterCalls);
        using var crash = new CancellationTokenSource();
        var run = bed.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "go" }), crash.Token);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (callsMade(bed) <= afterCalls && DateTime.UtcNow < deadline) await Task.Delay(10);
        if (whileHeld is not null) await whileHeld(bed);
        await crash.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        await bed.WaitForFinishAsync(started.InstanceId);
        return (bed, started.InstanceId);
    }

    [GeneratedRegex(@"\d{6}")]
    private static partial Regex SixDigits();

    /// <summary>Notes the send's outputs each time it runs; on its first run in an armed instance it cancels the run (a crash before commit).</summary>
    [Activity("Test", "Testing")]
    public sealed class CrashOnce : Activity
    {
        private static readonly Dictionary<string, List<string>> Seen = [];
        private static readonly Dictionary<string, CancellationTokenSource> Armed = [];

        public static void Arm(string instanceId, CancellationTokenSource crash)
        {
            lock (Seen) Armed[instanceId] = crash;
        }

        public static IReadOnlyList<string> OutputsSeen(string instanceId)
        {
            lock (Seen) return Seen.TryGetValue(instanceId, out var list) ? list.ToList() : [];
        }

        protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
        {
            CancellationTokenSource? crash;
            lock (Seen)
            {
                var outputs = context.WorkflowExecutionContext.State.ActivityOutputs["send"].ToJsonString();
                if (!Seen.TryGetValue(context.WorkflowInstanceId, out var list)) Seen[context.WorkflowInstanceId] = list = [];
                list.Add(outputs);
                Armed.Remove(context.WorkflowInstanceId, out crash);
            }
            if (crash is not null)
            {
                crash.Cancel();
                context.CancellationToken.ThrowIfCancellationRequested();
            }
            return context.CompleteActivityAsync();
        }
    }
}
