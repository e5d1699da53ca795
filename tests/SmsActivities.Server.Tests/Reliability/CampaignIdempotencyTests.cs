using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Samples;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// A campaign start over loopback by a client that gives up and retries, as HTTP clients do: with the same
/// Idempotency-Key every attempt is answered with the first campaign, and each recipient gets one SMS.
/// </summary>
public sealed class CampaignIdempotencyTests
{
    private static readonly Dictionary<string, string?> QuickRetries = new()
    {
        // A start whose client gave up is retried by the runtime's loop after this: soon enough to show up in the test.
        ["Workflows:Runtime:LeaseWaitTimeout"] = "00:00:01",
    };

    [Fact]
    public async Task A_client_that_times_out_and_retries_with_the_same_key_gets_one_campaign()
    {
        await using var server = await SandboxServer.StartAsync(QuickRetries);
        // Every vendor call is slow, so a start that waited for its sends could not answer within the client's patience.
        using (var slow = await server.Http.PostAsJsonAsync("_emulators/yunpian/_faults", new { delayNext = 1_000, delayMs = 1_500 }))
            Assert.True(slow.IsSuccessStatusCode, $"setting the Yunpian delay answered {(int)slow.StatusCode}");
        var recipients = Enumerable.Range(0, 30).Select(i => $"+86138001390{i:D2}").ToArray();
        var request = new { recipients, text = "Winter sale: 30% off." };
        const string key = "campaign-2026-12-02-winter";

        // The first attempt gives up after 300 ms, whether or not the server got far.
        using (var impatient = new HttpClient { BaseAddress = server.Http.BaseAddress, Timeout = TimeSpan.FromMilliseconds(300) })
        {
            try
            {
                using var first = await impatient.SendAsync(Post(request, key));
            }
            catch (TaskCanceledException)
            {
                // the client's timeout: exactly the case under test
            }
        }
        // Then three retries at once, and one more after them: each gets the first campaign's 202 (or 409 "still in
        // progress", after which it tries again).
        var answers = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => StartUntilAcceptedAsync(server, request, key)));
        answers = [.. answers, await StartUntilAcceptedAsync(server, request, key)];

        var sent = await SandboxServer.EventuallyAsync("every recipient to get the SMS", () =>
            recipients.All(r => server.Emulators.Yunpian.Sent.Any(m => m.E164 == r)) ? server.Emulators.Yunpian.Sent : null, TimeSpan.FromSeconds(90));
        // A second campaign would come from the runtime's retry of the abandoned start (after 1 s) or from a retry that
        // started anew: give both time to show up, then count.
        await Task.Delay(TimeSpan.FromSeconds(4));
        var twice = recipients.Where(r => server.Emulators.Yunpian.Sent.Count(m => m.E164 == r) != 1)
            .Select(r => $"{r}×{server.Emulators.Yunpian.Sent.Count(m => m.E164 == r)}").ToList();
        Assert.True(twice.Count == 0, $"{twice.Count} of {recipients.Length} recipients did not get exactly one SMS ({sent.Count} sent in all): {string.Join(", ", twice)}");
        var campaigns = await server.Instances.ListAsync(new WorkflowInstanceQuery { DefinitionIds = ["campaign"] });
        Assert.True(campaigns.Items.Count == 1, $"{campaigns.Items.Count} campaign instances: {string.Join(", ", campaigns.Items.Select(i => i.Id))}");
        var statusUrls = answers.Select(a => a.Body["statusUrl"]?.GetValue<string>()).Distinct().ToList();
        Assert.True(statusUrls.Count == 1, $"the retries were answered with different campaigns: {string.Join(", ", statusUrls)}");
        Assert.EndsWith(campaigns.Items[0].Id, statusUrls[0], StringComparison.Ordinal);
        Assert.All(answers, a => Assert.Equal(statusUrls[0], a.Location));
        Assert.Contains(answers, a => a.Replayed);

        // The same key with another body is refused: that is a new request, not a retry.
        using (var other = await server.Http.SendAsync(Post(new { recipients = recipients[..2], text = "Another text" }, key)))
            Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
    }

    private sealed record Accepted(JsonNode Body, string? Location, bool Replayed);

    private static async Task<Accepted> StartUntilAcceptedAsync(SandboxServer server, object request, string key)
    {
        var seen = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            using var response = await server.Http.SendAsync(Post(request, key));
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.Accepted)
                return new Accepted(JsonNode.Parse(text)!, response.Headers.Location?.OriginalString, response.Headers.Contains("Idempotent-Replayed"));
            seen.Add($"{(int)response.StatusCode} {text}");
            // 409: the first request is still being processed; anything else is a failure of the test.
            if (response.StatusCode != HttpStatusCode.Conflict || DateTime.UtcNow > deadline)
                Assert.Fail($"a retried start was answered {string.Join(" | ", seen)}");
            await Task.Delay(200);
        }
    }

    private static HttpRequestMessage Post(object body, string key)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, "workflows/campaign") { Content = JsonContent.Create(body) };
        message.Headers.Add("Idempotency-Key", key);
        return message;
    }
}
