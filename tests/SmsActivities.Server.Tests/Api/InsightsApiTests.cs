using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SmsActivities.Emulators;
using SmsActivities.Persistence;
using SmsActivities.Server.Hosting;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Server.Tests.Samples;

namespace SmsActivities.Server.Tests.Api;

/// <summary>
/// The numbers behind the insights charts, for the campaign sample run in the sandbox with scripted failures, a reply
/// and an opt-out: each must equal what the send records say, counted row by row here.
/// </summary>
public sealed class InsightsApiTests
{
    [Fact]
    public async Task Campaign_and_vendor_numbers_match_the_send_records()
    {
        await using var server = await SandboxServer.StartAsync();
        using var api = new HttpClient { BaseAddress = server.Http.BaseAddress };
        api.DefaultRequestHeaders.Add("Authorization", "ApiKey " + ServerOptions.SandboxApiKey);
        var recipients = Enumerable.Range(0, 30).Select(i => $"+86139000{i:D5}").ToArray();
        foreach (var m in recipients.Take(2)) server.Emulators.Yunpian.Script.For(m, DeliveryPlan.Fail("UNDELIV"));
        foreach (var m in recipients.Skip(2).Take(3)) server.Emulators.Yunpian.Script.For(m, DeliveryPlan.Fail("MK:0001"));

        var (accepted, body) = await server.PostAsync("workflows/campaign", new { recipients, text = "Spring sale: 20% off this weekend." });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var statusUrl = body!["statusUrl"]!.GetValue<string>();
        await SandboxServer.EventuallyAsync("the campaign's status to say finished (both rounds of reports are in)", async () =>
        {
            using var response = await server.Http.GetAsync(statusUrl.TrimStart('/'));
            var answer = response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
            return answer?["status"]?.GetValue<string>() == "finished" ? answer : null;
        });
        var instanceId = SandboxServer.InstanceIdIn(statusUrl);
        // A report is on the records before it can resume the workflow: once the status says finished, the page has them all.
        var atFinish = await ExpectedFunnel.ForInstanceAsync(server.Services, instanceId);
        var pageAtFinish = ExpectedFunnel.FromApi((await api.GetFromJsonAsync<JsonNode>($"insights/api/campaigns/{instanceId}"))!["funnel"]!);
        Assert.True(atFinish.AwaitingReport == 0 && atFinish.Delivered == 30 && atFinish.Failed == 5, "records when the status said finished: " + atFinish);
        Assert.Equal(atFinish, pageAtFinish);

        // A delivered recipient answers, another opts out (the reply router reacts to both; its own sends come later).
        await InjectReplyAsync(server, recipients[10], "Y");
        await InjectReplyAsync(server, recipients[11], "STOP");
        // The handset's replies are pushed by the emulator in the background: wait for them.
        var campaign = await SandboxServer.EventuallyAsync("the reply and the opt-out on the campaign's records", async () =>
        {
            var c = await api.GetFromJsonAsync<JsonNode>($"insights/api/campaigns/{instanceId}");
            return c!["funnel"]!["replies"]!.GetValue<int>() == 2 && c["funnel"]!["optOuts"]!.GetValue<int>() == 1 ? c : null;
        });

        var expected = await ExpectedFunnel.ForInstanceAsync(server.Services, instanceId);
        Assert.Equal(expected, ExpectedFunnel.FromApi(campaign["funnel"]!));
        // And what the scenario made happen, so the records themselves are checked too.
        Assert.True(expected == new ExpectedFunnel(35, 35, 35, 0, 0, 30, 5, 0, 2, 1, expected.Fees) && expected.Fees > 0, "records: " + expected);
        Assert.Equal(30, campaign["recipients"]!.GetValue<int>());
        Assert.True(campaign["progress"]!["complete"]!.GetValue<bool>(), campaign["progress"]!.ToJsonString());
        Assert.Equal($"/studio/workflows/instances/{instanceId}/view", campaign["studioUrl"]!.GetValue<string>());

        var codes = campaign["errorCodes"]!.AsArray().Select(e => $"{e!["vendor"]}/{e["stage"]}/{e["code"]}={e["count"]}").ToArray();
        Assert.Equal(["yunpian/report/MK:0001=3", "yunpian/report/UNDELIV=2"], codes);

        var vendors = campaign["vendors"]!.AsArray();
        Assert.Equal(["tencent", "yunpian"], vendors.Select(v => v!["vendor"]!.GetValue<string>()));
        var yunpian = vendors.Single(v => v!["vendor"]!.GetValue<string>() == "yunpian")!;
        Assert.Equal(25.0 / 30, yunpian["deliveryRate"]!.GetValue<double>(), 6);
        Assert.Equal(30, yunpian["latency"]!["reports"]!.GetValue<int>());
        var (rows, reports) = await ExpectedFunnel.RowsAsync(server.Services, r => r.InstanceId == instanceId && r.Vendor == "yunpian");
        // Percentiles to the 100 ms bucket: the lower bound of the bucket holding the value at each rank.
        var latencies = rows.Select(r => (reports[(r.Vendor, r.MessageId!)].ReceivedAtTicks - r.CreatedAtTicks) / (TimeSpan.TicksPerMillisecond * 100) / 10.0).Order().ToArray();
        Assert.Equal(latencies[14], yunpian["latency"]!["p50"]!.GetValue<double>(), 6); // rank ceil(0.5 × 30) = 15
        Assert.Equal(latencies[26], yunpian["latency"]!["p90"]!.GetValue<double>(), 6);
        Assert.Equal(latencies[29], yunpian["latency"]!["p99"]!.GetValue<double>(), 6);

        var failedRecord = campaign["problems"]!.AsArray().First()!;
        Assert.Equal("report", failedRecord["stage"]!.GetValue<string>());
        var record = await api.GetFromJsonAsync<JsonNode>($"insights/api/records/{failedRecord["recordId"]}");
        Assert.Equal("Failed", record!["deliveryStatus"]!.GetValue<string>());
        Assert.Contains(record["mobile"]!.GetValue<string>(), recipients.Take(5));

        // The vendor view over the last hour: the campaign plus the reply router's confirmation SMS, once that is reported.
        await SandboxServer.EventuallyAsync("the reply router's confirmation SMS, reported", async () =>
        {
            var (all, reported) = await ExpectedFunnel.RowsAsync(server.Services, _ => true);
            return all.Count > 35 && all.All(r => r.MessageId is not null && reported.ContainsKey((r.Vendor, r.MessageId))) ? all : null;
        });
        var vendorView = await api.GetFromJsonAsync<JsonNode>("insights/api/vendors?from=" + Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(-1).ToString("O")));
        var (allRows, allReports) = await ExpectedFunnel.RowsAsync(server.Services, _ => true);
        var everything = ExpectedFunnel.Of(allRows, allReports);
        Assert.Equal(everything, ExpectedFunnel.FromApi(vendorView!["total"]!));
        Assert.Equal(everything.Messages, vendorView["timeline"]!.AsArray().Sum(t => t!["messages"]!.GetValue<int>()));

        var listed = await api.GetFromJsonAsync<JsonArray>("insights/api/campaigns?definition=campaign");
        Assert.Equal([instanceId], listed!.Select(c => c!["instanceId"]!.GetValue<string>()));
        var onlyTencent = await api.GetFromJsonAsync<JsonNode>($"insights/api/campaigns/{instanceId}?vendor=tencent");
        Assert.Equal(await ExpectedFunnel.ForInstanceAsync(server.Services, instanceId, "tencent"), ExpectedFunnel.FromApi(onlyTencent!["funnel"]!));
    }

    [Fact]
    public async Task The_api_needs_the_key_and_names_a_bad_filter()
    {
        await using var server = await SandboxServer.StartAsync();
        foreach (var path in new[] { "insights/api/vendors", "insights/api/campaigns", "insights/api/campaigns/x", "insights/api/records/1" })
        {
            using var anonymous = await server.Http.GetAsync(path);
            Assert.True(anonymous.StatusCode == HttpStatusCode.Unauthorized, $"{path} without a key answered {(int)anonymous.StatusCode}");
        }
        using var request = new HttpRequestMessage(HttpMethod.Get, "insights/api/vendors?from=yesterday");
        request.Headers.Add("X-Api-Key", ServerOptions.SandboxApiKey);
        using var bad = await server.Http.SendAsync(request);
        var problem = await bad.Content.ReadAsStringAsync();
        Assert.True(bad.StatusCode == HttpStatusCode.BadRequest && problem.Contains("from: must be an ISO 8601", StringComparison.Ordinal), $"{(int)bad.StatusCode} {problem}");

        // The page itself is a shell without numbers; in sandbox mode it carries the documented default key, as Studio's does.
        var page = await server.Http.GetStringAsync("insights");
        Assert.Contains(ServerOptions.SandboxApiKey, page, StringComparison.Ordinal);
        using var chart = await server.Http.GetAsync("insights/chart.umd.min.js");
        Assert.True(chart.IsSuccessStatusCode, $"the chart library answered {(int)chart.StatusCode}");
    }

    private static async Task InjectReplyAsync(SandboxServer server, string mobile, string text)
    {
        using var response = await server.Http.PostAsJsonAsync("_emulators/yunpian/_handset/replies", new { mobile, text });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }
}
