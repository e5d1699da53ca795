using System.Net;
using System.Text;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Runtime;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// Idempotent requests to a workflow that waits for them on the way (an <c>HttpEndpoint</c> with an idempotency header
/// that resumes, not starts): a client's retry gets the answer its first request got, not a 409 for ever.
/// </summary>
public sealed class HttpIdempotentResumeTests
{
    [Fact]
    public async Task A_repeated_request_that_resumed_a_waiting_instance_gets_the_answer_given_under_its_own_key()
    {
        using var db = new TempDatabase();
        var console = new StringWriter();
        await using var app = await HttpWorkflowApp.StartAsync(db, console);
        // Started by the code, the instance waits for payments in a loop and answers each with what it was sent.
        var save = await app.Services.GetRequiredService<WorkflowDefinitionService>().SaveAsync(TestHost.Flowchart("payments",
            Arr(Act("Start1", "Elsa.Start"),
                Act("Pay", "Elsa.HttpEndpoint", $"\"path\":{Lit("pay")},\"supportedMethods\":{{\"typeName\":\"String[]\",\"expression\":{{\"type\":\"Object\",\"value\":\"[\\\"POST\\\"]\"}}}},\"idempotencyHeader\":{Lit("Idempotency-Key")}"),
                Act("Count", "Elsa.WriteLine", $"\"text\":{Js("'paid ' + getOutputFrom('Pay', 'ParsedContent').n")}"),
                Act("Reply", "Elsa.WriteHttpResponse", $"\"content\":{Js("'paid ' + getOutputFrom('Pay', 'ParsedContent').n")}")),
            Arr(Conn("Start1", "Pay"), Conn("Pay", "Count"), Conn("Count", "Reply"), Conn("Reply", "Pay"))), publish: true);
        Assert.Empty(save.ValidationErrors);
        var started = await app.Services.GetRequiredService<WorkflowRuntime>().StartAsync("payments");
        var client = app.GetTestClient();
        async Task<(HttpStatusCode Status, string Body, bool Replayed, string? Instance)> PayAsync(string key, int n)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/workflows/pay") { Content = new StringContent($"{{\"n\":{n}}}", Encoding.UTF8, "application/json") };
            request.Headers.Add("Idempotency-Key", key);
            using var response = await client.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.Contains("Idempotent-Replayed"),
                response.Headers.TryGetValues("x-elsa-workflow-instance-id", out var ids) ? ids.Single() : null);
        }

        var first = await PayAsync("key-1", 1);
        var second = await PayAsync("key-2", 2);
        Assert.Equal((HttpStatusCode.OK, "paid 1", false), (first.Status, first.Body, first.Replayed));
        Assert.Equal((HttpStatusCode.OK, "paid 2", false), (second.Status, second.Body, second.Replayed));

        // Each retry is answered from the instance its first request resumed, with the answer given under that key
        // (before, a repeat looked for an instance whose id was the request's own and answered 409 for ever).
        var retryOfFirst = await PayAsync("key-1", 1);
        var retryOfSecond = await PayAsync("key-2", 2);
        Assert.Equal((HttpStatusCode.OK, "paid 1", true, started.InstanceId), (retryOfFirst.Status, retryOfFirst.Body, retryOfFirst.Replayed, retryOfFirst.Instance));
        Assert.Equal((HttpStatusCode.OK, "paid 2", true, started.InstanceId), (retryOfSecond.Status, retryOfSecond.Body, retryOfSecond.Replayed, retryOfSecond.Instance));
        // A key used again for another request is refused, and nothing ran for any repeat: two payments, two runs.
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await PayAsync("key-1", 3)).Status);
        Assert.Equal(2, console.ToString().Split("paid").Length - 1);
        // The instance still waits for the next payment.
        Assert.Equal((HttpStatusCode.OK, "paid 4", false), ((await PayAsync("key-4", 4)) is var fourth ? (fourth.Status, fourth.Body, fourth.Replayed) : default));
        await app.StopAsync();
    }

    [Fact]
    public async Task A_named_request_turned_away_because_its_instance_was_busy_is_served_when_retried_with_the_same_key()
    {
        using var db = new TempDatabase();
        var console = new StringWriter();
        await using var app = await HttpWorkflowApp.StartAsync(db, TextWriter.Synchronized(console), leaseWait: TimeSpan.FromMilliseconds(300));
        // Each request takes 3 s (a script step), far past the 300 ms a second request waits for the instance; the second
        // comes once the first has begun its step.
        var save = await app.Services.GetRequiredService<WorkflowDefinitionService>().SaveAsync(TestHost.Flowchart("slow-job",
            Arr(Act("Start1", "Elsa.Start"),
                Act("Wait", "Elsa.HttpEndpoint", $"\"path\":{Lit("slow-job")},\"supportedMethods\":{{\"typeName\":\"String[]\",\"expression\":{{\"type\":\"Object\",\"value\":\"[\\\"POST\\\"]\"}}}},\"idempotencyHeader\":{Lit("Idempotency-Key")}"),
                Act("Busy", "Elsa.WriteLine", $"\"text\":{Lit("busy")}"),
                Act("Work", "Elsa.WriteLine", $"\"text\":{Js("(function () { var end = new Date().getTime() + 3000; while (new Date().getTime() < end) {} return 'worked'; })()")}"),
                Act("Reply", "Elsa.WriteHttpResponse", $"\"content\":{Js("'done ' + getOutputFrom('Wait', 'ParsedContent').n")}")),
            Arr(Conn("Start1", "Wait"), Conn("Wait", "Busy"), Conn("Busy", "Work"), Conn("Work", "Reply"), Conn("Reply", "Wait"))), publish: true);
        Assert.Empty(save.ValidationErrors);
        await app.Services.GetRequiredService<WorkflowRuntime>().StartAsync("slow-job");
        var client = app.GetTestClient();
        async Task<(HttpStatusCode Status, string Body)> PostAsync(string key, int n)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/workflows/slow-job") { Content = new StringContent($"{{\"n\":{n}}}", Encoding.UTF8, "application/json") };
            request.Headers.Add("Idempotency-Key", key);
            using var response = await client.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        var first = PostAsync("job-1", 1);
        for (var waited = 0; !console.ToString().Contains("busy", StringComparison.Ordinal); waited += 20)
        {
            Assert.True(waited < 30_000, "The first request's run did not begin its step.");
            await Task.Delay(20);
        }
        var turnedAway = await PostAsync("job-2", 2);
        Assert.Equal((HttpStatusCode.OK, "done 1"), await first);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, turnedAway.Status);
        // Nothing was done for it, so its retry is served (before, the key was taken: 409 for ever).
        Assert.Equal((HttpStatusCode.OK, "done 2"), await PostAsync("job-2", 2));
        await app.StopAsync();
    }
}
