using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Samples;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// The OTP samples under abuse from one client address, over loopback: the per-address limits hold, refusals are
/// 429 with Retry-After, a forged X-Forwarded-For counts only from a trusted proxy, and a burst of concurrent checks
/// gets a definite answer for each call.
/// </summary>
public sealed class OtpClientAddressTests
{
    public static TheoryData<string> Flavours => SampleWorkflowTests.Flavours;

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task Sends_from_one_address_stop_at_the_hourly_limit_with_429_and_retry_after(string flavour)
    {
        await using var server = await SandboxServer.StartAsync(new Dictionary<string, string?> { ["SmsActivities:Otp:MaxSendsPerIpPerHour"] = "3" });
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.Accepted, (await server.PostAsync($"workflows/{flavour}otp/send", new { mobile = $"+86138001381{i:D2}" })).Response.StatusCode);

        var (refused, body) = await server.PostAsync($"workflows/{flavour}otp/send", new { mobile = "+8613800138199" });
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var retryAfter = Assert.Single(refused.Headers.GetValues("Retry-After"));
        Assert.InRange(int.Parse(retryAfter, System.Globalization.CultureInfo.InvariantCulture), 1, 3600);
        Assert.Contains("client address", body!["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(server.Emulators.Yunpian.Sent, m => m.E164 == "+8613800138199");
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task Checks_from_one_address_stop_at_the_hourly_limit_and_the_code_stays_good(string flavour)
    {
        await using var server = await SandboxServer.StartAsync(new Dictionary<string, string?> { ["SmsActivities:Otp:MaxChecksPerIpPerHour"] = "3" });
        const string mobile = "+8613800138120";
        var (_, sent) = await server.PostAsync($"workflows/{flavour}otp/send", new { mobile });
        var verifyUrl = sent!["verifyUrl"]!.GetValue<string>();
        var code = SandboxServer.CodeIn(Assert.Single(server.Emulators.Yunpian.Sent, m => m.E164 == mobile).Text);
        var wrong = code == "000000" ? "111111" : "000000";
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.BadRequest, (await server.PostAsync(verifyUrl, new { code = wrong })).Response.StatusCode);

        // The fourth check from this address is refused before the code is even compared, right code or not.
        var (refused, body) = await server.PostAsync(verifyUrl, new { code });
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("RateLimited", body!["result"]!.GetValue<string>());
        Assert.InRange(int.Parse(Assert.Single(refused.Headers.GetValues("Retry-After")), System.Globalization.CultureInfo.InvariantCulture), 1, 3600);
        var state = await server.Instances.GetStateAsync(SandboxServer.InstanceIdIn(verifyUrl));
        Assert.Equal(WorkflowSubStatus.Suspended, state!.SubStatus);
    }

    [Fact]
    public async Task A_forwarded_address_counts_only_when_a_trusted_proxy_sent_it()
    {
        var limit = new Dictionary<string, string?> { ["SmsActivities:Otp:MaxSendsPerIpPerHour"] = "2" };
        await using (var direct = await SandboxServer.StartAsync(limit))
        {
            // Nobody is trusted: a client rotating X-Forwarded-For is still one address.
            var answers = new List<HttpStatusCode>();
            for (var i = 0; i < 3; i++) answers.Add(await SendFromAsync(direct, $"+86138001382{i:D2}", $"203.0.113.{i + 1}"));
            Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.TooManyRequests], answers);
        }

        await using var proxied = await SandboxServer.StartAsync(new Dictionary<string, string?>(limit) { ["Server:TrustedProxies:0"] = "127.0.0.1" });
        // Behind a trusted proxy each forwarded client has its own limit.
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.Accepted, await SendFromAsync(proxied, $"+86138001383{i:D2}", $"203.0.113.{i + 1}"));
        Assert.Equal(HttpStatusCode.Accepted, await SendFromAsync(proxied, "+8613800138390", "203.0.113.1"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await SendFromAsync(proxied, "+8613800138391", "203.0.113.1"));
    }

    private static async Task<HttpStatusCode> SendFromAsync(SandboxServer server, string mobile, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "workflows/otp/send") { Content = JsonContent.Create(new { mobile }) };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        using var response = await server.Http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task Every_one_of_a_burst_of_concurrent_checks_gets_a_definite_answer()
    {
        await using var server = await SandboxServer.StartAsync();
        const string mobile = "+8613800138140";
        var (_, sent) = await server.PostAsync("workflows/otp/send", new { mobile });
        var verifyUrl = sent!["verifyUrl"]!.GetValue<string>();
        var code = SandboxServer.CodeIn(Assert.Single(server.Emulators.Yunpian.Sent, m => m.E164 == mobile).Text);
        var wrong = code == "000000" ? "111111" : "000000";

        var answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
        {
            using var response = await server.Http.PostAsJsonAsync(verifyUrl.TrimStart('/'), new { code = wrong });
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, Text: text, RetryAfter: response.Headers.RetryAfter);
        }));

        // A check either ran (its JSON answer), found the workflow over (404), or was turned away untouched (503 + Retry-After).
        Assert.DoesNotContain(answers, a => a.StatusCode == HttpStatusCode.Accepted);
        Assert.All(answers, a => Assert.Contains(a.StatusCode, new[] { HttpStatusCode.BadRequest, HttpStatusCode.TooManyRequests, HttpStatusCode.NotFound, HttpStatusCode.ServiceUnavailable }));
        Assert.All(answers.Where(a => a.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.TooManyRequests), a => Assert.NotNull(JsonNode.Parse(a.Text)?["result"]));
        Assert.All(answers.Where(a => a.StatusCode == HttpStatusCode.ServiceUnavailable), a => Assert.NotNull(a.RetryAfter));
        // Exactly the code's five checks ran and were answered, then the lock; nothing ran unseen in the background.
        Assert.Equal(5, answers.Count(a => a.StatusCode == HttpStatusCode.BadRequest));
        Assert.Equal(1, answers.Count(a => a.StatusCode == HttpStatusCode.TooManyRequests));
        await server.WaitForInstanceAsync(SandboxServer.InstanceIdIn(verifyUrl), s => s.SubStatus == WorkflowSubStatus.Finished, "the locked OTP workflow to finish");
    }
}
