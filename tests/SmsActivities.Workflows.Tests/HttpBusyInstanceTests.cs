using System.Net;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Runtime;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>HTTP requests to one waiting instance that is busy: each caller gets a definite answer, and nothing runs later unseen.</summary>
public sealed class HttpBusyInstanceTests
{
    [Fact]
    public async Task A_request_that_finds_its_instance_busy_is_served_or_turned_away_and_never_runs_later_unseen()
    {
        using var db = new TempDatabase();
        var console = new StringWriter();
        await using var app = await HttpWorkflowApp.StartAsync(db, console, leaseWait: TimeSpan.FromMilliseconds(300));
        // Each request takes 1.5 s (a script step), answers, and the workflow waits for the next one.
        var save = await app.Services.GetRequiredService<WorkflowDefinitionService>().SaveAsync(TestHost.Flowchart("job",
            Arr(Act("Start1", "Elsa.Start"),
                Act("Wait", "Elsa.HttpEndpoint", $"\"path\":{Lit("job")},\"supportedMethods\":{{\"typeName\":\"String[]\",\"expression\":{{\"type\":\"Object\",\"value\":\"[\\\"POST\\\"]\"}}}}"),
                Act("Work", "Elsa.WriteLine", $"\"text\":{Js("(function () { var end = new Date().getTime() + 1500; while (new Date().getTime() < end) {} return 'worked'; })()")}"),
                Act("Reply", "Elsa.WriteHttpResponse", $"\"content\":{Lit("done")}")),
            Arr(Conn("Start1", "Wait"), Conn("Wait", "Work"), Conn("Work", "Reply"), Conn("Reply", "Wait"))), publish: true);
        Assert.Empty(save.ValidationErrors);
        await app.Services.GetRequiredService<WorkflowRuntime>().StartAsync("job");
        var client = app.GetTestClient();

        var answers = await Task.WhenAll(Enumerable.Range(0, 3).Select(async i =>
        {
            await Task.Delay(i * 50);
            using var response = await client.PostAsync("/workflows/job", null);
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync(), response.Headers.RetryAfter);
        }));

        // Each caller gets a definite answer: its own run's 200, or 503 with Retry-After when the instance stayed busy past
        // the lease wait (which of the later two are served depends on timing: a run that frees the instance in time serves them).
        var served = answers.Count(a => a.StatusCode == HttpStatusCode.OK && a.Body == "done");
        var seen = string.Join("; ", answers.Select(a => $"{(int)a.StatusCode} {a.Body}"));
        Assert.True(served >= 1, "Expected at least one 200 \"done\"; got: " + seen);
        Assert.All(answers.Where(a => !(a.StatusCode == HttpStatusCode.OK && a.Body == "done")), a =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, a.StatusCode);
            Assert.NotNull(a.RetryAfter);
        });
        // A turned-away request must not be run later by the background loop, with nobody to answer: every run is one served answer.
        await Task.Delay(TimeSpan.FromSeconds(4));
        var runs = console.ToString().Split("worked").Length - 1;
        Assert.True(runs == served, $"{runs} runs of the step for {served} served answers ({seen})");
        await app.StopAsync();
    }
}
