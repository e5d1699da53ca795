using System.Text.Json.Nodes;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Hosting;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

[Activity("Tests", "Tests", "Waits for the event 'break', then throws in its resume callback.")]
public sealed class BreaksOnResume : Activity
{
    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        context.CreateBookmark(new JsonObject { ["eventName"] = "break" }, OnResumeAsync, name: "Elsa.Event");
        return ValueTask.CompletedTask;
    }

    private ValueTask OnResumeAsync(ActivityExecutionContext context) => throw new InvalidOperationException("resume broke");
}

public class ResumeFaultTests
{
    [Fact]
    public async Task A_resume_callback_that_throws_faults_the_instance_instead_of_leaving_it_suspended()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path, configureServices: s => s.AddWorkflowActivities([typeof(BreaksOnResume)]));
        await host.PublishAsync("breaks", Arr(Act("Start1", "Elsa.Start"), Act("Wait", "Tests.BreaksOnResume")), Arr(Conn("Start1", "Wait")));
        var run = await host.Runtime.StartAsync("breaks");
        Assert.Equal(WorkflowSubStatus.Suspended, run.SubStatus);

        var sent = await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "break" }));

        var resumed = Assert.Single(sent.Runs);
        Assert.True(resumed.SubStatus == WorkflowSubStatus.Faulted, $"after the failing resume: {resumed.Status}/{resumed.SubStatus}, bookmarks {resumed.Bookmarks.Count}");
        Assert.Contains("resume broke", Assert.Single(resumed.Incidents).Message);
    }
}
