using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Persistence;
using SmsActivities.Server.Tests.Samples;
using SmsActivities.Vendors;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// The sandbox server's campaign (<c>workflows/campaign.json</c>) when Yunpian sends a batch and then answers 500: the
/// batch is in doubt, nothing is sent again, and the delivery reports the vendor then gives (pushed, or pulled where the
/// deployment has no public address) settle it, so the summary counts those recipients as sent and delivered.
/// </summary>
public sealed class InDoubtSettlementTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Pushed_reports_settle_a_batch_whose_answer_was_lost_and_the_campaign_summary_counts_it_sent_and_delivered()
    {
        await using var server = await SandboxServer.StartAsync();
        var recipients = Recipients(20, 0);
        server.Emulators.Yunpian.Faults.FailNextCalls(1, Emulators.EmulatorFault.AcceptThenFail, 500);

        var summary = await RunCampaignAsync(server, recipients);

        await AssertSettledAsync(server, recipients, summary);
    }

    [Fact]
    public async Task Over_the_outputs_limit_the_campaign_summary_still_counts_the_settled_recipients_as_sent()
    {
        // 20 recipients over a limit of 5: the SendSms lists none of its recipients in doubt, the wait none it settled.
        await using var server = await SandboxServer.StartAsync(new Dictionary<string, string?> { ["SmsActivities:MaxResultsInOutputs"] = "5" });
        var recipients = Recipients(20, 120);
        server.Emulators.Yunpian.Faults.FailNextCalls(1, Emulators.EmulatorFault.AcceptThenFail, 500);

        var summary = await RunCampaignAsync(server, recipients);

        var seen = $"summary {summary.ToJsonString()}";
        Assert.True(summary["settled"]!.AsArray().Count == 0, $"the settled list should be left empty over the limit; {seen}");
        Assert.True(summary["inDoubt"]?.GetValue<int>() == 0, $"every recipient's report came: none should still be in doubt; {seen}");
        Assert.True(summary["sent"]?.GetValue<int>() == recipients.Length, $"sent should count the {recipients.Length} settled recipients; {seen}");
        Assert.True(summary["firstRound"]!["delivered"]?.GetValue<int>() == recipients.Length, $"first round tally; {seen}");
    }

    [Fact]
    public async Task Reports_pulled_from_the_vendor_settle_a_batch_whose_answer_was_lost()
    {
        await using var server = await SandboxServer.StartAsync();
        // No push address at Yunpian: its reports wait for pull_status.
        server.Emulators.Yunpian.StatusCallbackUrl = null;
        var recipients = Recipients(20, 50);
        server.Emulators.Yunpian.Faults.FailNextCalls(1, Emulators.EmulatorFault.AcceptThenFail, 500);
        var (statusUrl, _) = await StartCampaignAsync(server, recipients);
        var waiting = await StatusWhenAsync(server, statusUrl, s => s != "sending");
        Assert.True(InDoubt(waiting["summary"]!).SetEquals(recipients), $"the batch should be in doubt before any report: {waiting.ToJsonString()}");

        // What the pull service does each interval (SmsActivities:Pull:yunpian), here on the test's beat rather than a
        // timer's, so that the pull call cannot take the fault meant for the send: pull_status, then the same ingestion as a push.
        var puller = server.Services.GetServices<IReportPuller>().Single(p => p.Vendor == "yunpian");
        var publisher = server.Services.GetRequiredService<SmsActivities.Stimuli.SmsStimulusPublisher>();
        var pulled = 0;
        var summary = await StatusWhenAsync(server, statusUrl, s => s == "finished", async () =>
        {
            var reports = await puller.PullDeliveryReportsAsync();
            pulled += reports.Count;
            await publisher.PublishAsync(reports, [], [], CancellationToken.None);
        });

        Assert.True(pulled >= recipients.Length, $"pulled {pulled} reports for {recipients.Length} recipients");
        await AssertSettledAsync(server, recipients, summary["summary"]!);
    }

    [Fact]
    public async Task A_batch_the_vendor_never_sent_stays_in_doubt_and_a_later_send_to_the_same_numbers_does_not_settle_it()
    {
        await using var server = await SandboxServer.StartAsync(new Dictionary<string, string?> { ["Vendors:Yunpian:AttemptTimeout"] = "00:00:01" });
        var recipients = Recipients(5, 80);
        // The call outlasts the attempt timeout and the emulator drops it unhandled: the answer is lost and nothing was sent.
        server.Emulators.Yunpian.Faults.DelayNextCalls(1, TimeSpan.FromSeconds(5));
        var (statusUrl, _) = await StartCampaignAsync(server, recipients);
        var first = await StatusWhenAsync(server, statusUrl, s => s != "sending");
        Assert.True(InDoubt(first["summary"]!).SetEquals(recipients), $"the first campaign's batch should be in doubt: {first.ToJsonString()}");

        // A second campaign to the same numbers, answered normally: its reports are its own messages', known by id.
        var second = await RunCampaignAsync(server, recipients);
        Assert.True(second["sent"]?.GetValue<int>() == recipients.Length && InDoubt(second).Count == 0, $"the second campaign's summary: {second.ToJsonString()}");

        var firstNow = await StatusWhenAsync(server, statusUrl, _ => true);
        Assert.True(firstNow["status"]?.GetValue<string>() == "waiting for delivery reports" && InDoubt(firstNow["summary"]!).SetEquals(recipients),
            $"the first campaign should still wait with its batch in doubt: {firstNow.ToJsonString()}");
        var factory = server.Services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        var statuses = await db.SendRecords.AsNoTracking().Where(r => recipients.Contains(r.Mobile)).OrderBy(r => r.Id).Select(r => r.Status).ToListAsync();
        Assert.True(statuses.SequenceEqual(Enumerable.Repeat(SendRecordStatus.InDoubt, 5).Concat(Enumerable.Repeat(SendRecordStatus.Accepted, 5))),
            $"send records of the two campaigns, in order: {string.Join(", ", statuses)}");
    }

    [Fact]
    public async Task Two_sends_in_doubt_to_one_number_are_each_settled_by_the_report_that_carries_their_own_reference()
    {
        await using var server = await SandboxServer.StartAsync();
        using var api = new HttpClient { BaseAddress = server.Http.BaseAddress };
        api.DefaultRequestHeaders.Add("Authorization", "ApiKey " + Hosting.ServerOptions.SandboxApiKey);
        // Reports wait for pull_status, so the test hands them over one at a time, oldest first.
        server.Emulators.Yunpian.StatusCallbackUrl = null;
        const string mobile = "+8613700000301";
        var keys = new List<string>();
        foreach (var (name, text) in new[] { ("first", "Spring sale starts today."), ("second", "Spring sale ends tonight.") })
        {
            server.Emulators.Yunpian.Faults.FailNextCalls(1, Emulators.EmulatorFault.AcceptThenFail, 500);
            await Infrastructure.ElsaFlows.PublishAsync(api, Infrastructure.ElsaFlows.Flowchart("in-doubt-" + name,
                [
                    Infrastructure.ElsaFlows.Act("Start1", "Elsa.Start"),
                    Infrastructure.ElsaFlows.Act("Send", "SmsActivities.SendSms", new JsonObject
                    {
                        ["vendor"] = Infrastructure.ElsaFlows.Lit("yunpian"), ["recipients"] = Infrastructure.ElsaFlows.Expr("Object", $"[\"{mobile}\"]"),
                        ["text"] = Infrastructure.ElsaFlows.Lit(text),
                    }),
                ],
                [Infrastructure.ElsaFlows.Conn("Start1", "Send")]));
            var instanceId = await Infrastructure.ElsaFlows.ExecuteAsync(api, "in-doubt-" + name);
            var state = await server.WaitForInstanceAsync(instanceId, s => s.ActivityOutputs.ContainsKey("Send"), "the send's outputs");
            Assert.True(state.ActivityOutputs["Send"]["InDoubtRecipients"]!.AsArray().Count == 1, $"the {name} send should be in doubt: {state.ActivityOutputs["Send"].ToJsonString()}");
        }
        var sids = server.Emulators.Yunpian.Sent.Where(m => m.E164 == mobile).Select(m => m.Sid.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.True(sids.Length == 2, $"Yunpian should have sent both: {sids.Length}");

        var puller = server.Services.GetServices<IReportPuller>().Single(p => p.Vendor == "yunpian");
        var publisher = server.Services.GetRequiredService<SmsActivities.Stimuli.SmsStimulusPublisher>();
        // A pull hands each report over once: on a loaded machine the second may come a pull later than the first.
        var pulled = new List<DeliveryReport>();
        var reports = await SandboxServer.EventuallyAsync("both reports to be pulled", async () =>
        {
            pulled.AddRange(await puller.PullDeliveryReportsAsync());
            return pulled.Count >= 2 ? pulled.OrderBy(r => Array.IndexOf(sids, r.MessageId)).ToArray() : null;
        });
        Assert.True(reports.Length == 2, $"pulled {reports.Length} reports: {string.Join(", ", reports.Select(r => r.MessageId))}");
        var factory = server.Services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>();
        async Task<string> RecordsAsync()
        {
            await using var db = await factory.CreateDbContextAsync();
            var rows = await db.SendRecords.AsNoTracking().Where(r => r.Mobile == mobile).OrderBy(r => r.Id).ToListAsync();
            return string.Join(", ", rows.Select(r => $"{r.Status} {r.MessageId ?? "no id"}"));
        }

        // The first send's report alone: by number and time it would settle the newest send in doubt, the second.
        Assert.True(reports[0].MessageId == sids[0], $"the first report: {reports[0]}");
        await publisher.PublishAsync([reports[0]], [], [], CancellationToken.None);
        var afterFirst = await RecordsAsync();
        Assert.True(afterFirst == $"{SendRecordStatus.Accepted} {sids[0]}, {SendRecordStatus.InDoubt} no id", $"records after the first send's report: {afterFirst}");
        await publisher.PublishAsync([reports[1]], [], [], CancellationToken.None);
        var afterBoth = await RecordsAsync();
        Assert.True(afterBoth == $"{SendRecordStatus.Accepted} {sids[0]}, {SendRecordStatus.Accepted} {sids[1]}", $"records after both reports: {afterBoth}");
    }

    /// <summary>The recipients the summary lists in doubt, which its count must agree with (these campaigns are under the outputs limit).</summary>
    private static HashSet<string> InDoubt(JsonNode summary)
    {
        var listed = summary["inDoubtRecipients"]!.AsArray().Select(n => n!.GetValue<string>()).ToHashSet();
        Assert.True(summary["inDoubt"]?.GetValue<int>() == listed.Count, $"inDoubt counts {summary["inDoubt"]?.ToJsonString() ?? "nothing"}, inDoubtRecipients lists {listed.Count}: {summary.ToJsonString()}");
        return listed;
    }

    private static string[] Recipients(int count, int offset) =>
        Enumerable.Range(offset, count).Select(i => $"+86137{i:D8}").ToArray();

    /// <summary>Starts the campaign and polls its status URL until it is finished; returns the summary.</summary>
    private static async Task<JsonNode> RunCampaignAsync(SandboxServer server, string[] recipients)
    {
        var (statusUrl, _) = await StartCampaignAsync(server, recipients);
        return (await StatusWhenAsync(server, statusUrl, s => s == "finished"))["summary"]!;
    }

    private static async Task<(string StatusUrl, JsonNode Body)> StartCampaignAsync(SandboxServer server, string[] recipients)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "workflows/campaign")
        {
            Content = JsonContent.Create(new { recipients, text = "Spring sale, this weekend only." }),
        };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        using var accepted = await server.Http.SendAsync(request);
        var body = await accepted.Content.ReadAsStringAsync();
        Assert.True(accepted.StatusCode == HttpStatusCode.Accepted, $"the campaign start answered {(int)accepted.StatusCode} {body}");
        var node = JsonNode.Parse(body)!;
        return (node["statusUrl"]!.GetValue<string>().TrimStart('/'), node);
    }

    /// <summary>Polls the status URL (503 while the send keeps the instance busy) until its status is one <paramref name="wanted"/> takes.</summary>
    private static async Task<JsonNode> StatusWhenAsync(SandboxServer server, string statusUrl, Func<string, bool> wanted, Func<Task>? betweenPolls = null)
    {
        var seen = "nothing";
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await server.Http.GetAsync(statusUrl);
                var text = await response.Content.ReadAsStringAsync();
                seen = $"{(int)response.StatusCode} {text[..Math.Min(text.Length, 600)]}";
                if (response.IsSuccessStatusCode && JsonNode.Parse(text) is { } status && status["status"]?.GetValue<string>() is { } name && wanted(name))
                    return status;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // A busy machine can keep one request past the client's patience: ask again until the deadline.
                seen = e.Message;
            }
            if (betweenPolls is not null) await betweenPolls();
            await Task.Delay(250);
        }
        throw new TimeoutException($"the campaign's status did not become what was wanted within {Patience.TotalSeconds:0} s; last seen: {seen}");
    }

    private static async Task AssertSettledAsync(SandboxServer server, string[] recipients, JsonNode summary)
    {
        var seen = $"summary {summary.ToJsonString()}";
        var sentTo = server.Emulators.Yunpian.Sent.Where(m => recipients.Contains(m.E164)).GroupBy(m => m.E164).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(recipients.All(r => sentTo.GetValueOrDefault(r) == 1),
            $"every recipient should have one SMS from Yunpian (the batch it sent before answering 500), got {string.Join(", ", sentTo.Select(s => $"{s.Key}×{s.Value}"))}; {seen}");
        Assert.True(server.Emulators.Tencent.Sent.Count == 0, $"the failed-recipient resend went to Tencent: {server.Emulators.Tencent.Sent.Count} messages; {seen}");

        var inDoubt = InDoubt(summary);
        var settled = (summary["settled"]?.AsArray() ?? []).Select(n => n!.GetValue<string>()).ToHashSet();
        Assert.True(inDoubt.Count == 0, $"{inDoubt.Count} recipients still in doubt after their reports came; {seen}");
        Assert.True(settled.SetEquals(recipients), $"settled {settled.Count} of {recipients.Length} recipients; {seen}");
        Assert.True(summary["sent"]?.GetValue<int>() == recipients.Length, $"sent should count the settled recipients; {seen}");
        var tally = summary["firstRound"]!;
        Assert.True(tally["delivered"]?.GetValue<int>() == recipients.Length && tally["pending"]?.GetValue<int>() == 0, $"first round tally; {seen}");

        // The send records hold what the reports told: accepted, under the vendor's message ids.
        var factory = server.Services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        var records = await db.SendRecords.AsNoTracking().Where(r => recipients.Contains(r.Mobile)).ToListAsync();
        var sids = server.Emulators.Yunpian.Sent.Where(m => recipients.Contains(m.E164)).ToDictionary(m => m.E164, m => m.Sid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var wrong = records.Where(r => r.Status != SendRecordStatus.Accepted || r.MessageId != sids.GetValueOrDefault(r.Mobile))
            .Select(r => $"{r.Mobile}: {r.Status} {r.MessageId ?? "no id"}").ToList();
        Assert.True(records.Count == recipients.Length && wrong.Count == 0,
            $"{records.Count} send records, {wrong.Count} not accepted under the vendor's id: {string.Join("; ", wrong.Take(5))}");
    }
}
