using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Builder;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Hosting;
using SmsActivities.Workflows.Runtime;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>A plug-in style blocking activity: bookmark with payload, sensitive input, the shared Timeout.</summary>
[Activity("Test", "Testing", "Waits for a report about a message.")]
[FlowNode("Delivered", "Failed", BlockingActivity.TimeoutOutcome)]
public sealed class WaitForReport : BlockingActivity
{
    [Input(IsRequired = true)] public Input<string> MessageId { get; set; } = new("");
    [Input(IsSensitive = true)] public Input<string>? ApiKey { get; set; }
    [Output] public Output<string> Status { get; set; } = new();

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        WaitFor(context, new { messageId = context.Get(MessageId) }, OnReportAsync);
        return ValueTask.CompletedTask;
    }

    private ValueTask OnReportAsync(ActivityExecutionContext context)
    {
        var status = context.ResumeInput?["status"]?.GetValue<string>() ?? "";
        context.Set(Status, status);
        return context.CompleteActivityAsync(status == "DELIVRD" ? "Delivered" : "Failed");
    }
}

public sealed class CountingWorkflow : IWorkflow
{
    public void Build(WorkflowBuilder builder)
    {
        builder.WithDefinitionId("code-first").WithName("Code first").WithVariable("Count", 40);
        var flow = builder.Flowchart();
        var add = flow.Add(new SetVariable { Variable = new VariableReference(null, "Count"), Value = new Input<object?>(c => c.GetVariable<int>("Count") + 2) });
        var wait = flow.Add(new Event("go"));
        var write = flow.Add(new WriteLine(new Input<string>(c => $"count={c.GetVariable<int>("Count")}")));
        flow.Connect(add, wait).Connect(wait, write);
    }
}

public class HttpAndAuthoringTests
{
    [Fact]
    public async Task Http_trigger_with_route_parameters_query_and_json_body_answers_through_WriteHttpResponse()
    {
        using var db = new TempDatabase();
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddWorkflowRuntime(o => o.UseSqlite(db.Path));
        await using var app = builder.Build();
        app.MapWorkflowHttpEndpoints("/workflows");
        await app.StartAsync();
        var definitions = app.Services.GetRequiredService<WorkflowDefinitionService>();
        var save = await definitions.SaveAsync(TestHost.Flowchart("orders",
            Arr(Act("Http1", "Elsa.HttpEndpoint", $"\"path\":{Lit("orders/{id}")},\"supportedMethods\":{{\"typeName\":\"String[]\",\"expression\":{{\"type\":\"Object\",\"value\":\"[\\\"POST\\\"]\"}}}},\"customProperties\":{{\"canStartWorkflow\":true}}"),
                Act("Reply", "Elsa.WriteHttpResponse", $"\"statusCode\":{Lit("Created")},\"content\":{Js("({ id: getOutputFrom('Http1','RouteData').id, qty: getOutputFrom('Http1','ParsedContent').qty, q: getOutputFrom('Http1','QueryStringData').x })")}")),
            Arr(Conn("Http1", "Reply"))), publish: true);
        Assert.Empty(save.ValidationErrors);
        await definitions.SaveAsync(TestHost.Flowchart("confirm",
            Arr(Act("Start1", "Elsa.Start"),
                Act("Wait", "Elsa.HttpEndpoint", $"\"path\":{Js("'confirm/' + getInput('code')")}"),
                Act("Reply", "Elsa.WriteHttpResponse", $"\"content\":{Lit("confirmed")}")),
            Arr(Conn("Start1", "Wait"), Conn("Wait", "Reply"))), publish: true);
        var client = app.GetTestClient();

        var response = await client.PostAsync("/workflows/orders/42?x=7", new StringContent("""{"qty":3}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("42", body["id"]!.GetValue<string>());
        Assert.Equal(3, body["qty"]!.GetValue<int>());
        Assert.Equal("7", body["q"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/workflows/orders/42")).StatusCode);

        var waiting = await app.Services.GetRequiredService<WorkflowRuntime>().StartAsync("confirm",
            new StartWorkflowRequest { Input = new Dictionary<string, object?> { ["code"] = "abc" } });
        Assert.Equal(WorkflowSubStatus.Suspended, waiting.SubStatus);
        var confirm = await client.GetAsync("/workflows/confirm/abc");
        Assert.Equal(HttpStatusCode.OK, confirm.StatusCode);
        Assert.Equal("confirmed", await confirm.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/workflows/confirm/abc")).StatusCode);
        await app.StopAsync();
    }

    [Fact]
    public async Task A_custom_blocking_activity_resumes_by_payload_masks_sensitive_inputs_and_times_out()
    {
        using var db = new TempDatabase();
        var time = new ShiftableTimeProvider();
        await using var host = await TestHost.StartAsync(db.Path, time, o => o.AddActivity<WaitForReport>());
        await host.PublishAsync("report",
            Arr(Act("Wait1", "Test.WaitForReport", $"\"messageId\":{Js("getInput('id')")},\"apiKey\":{Lit("s3cret")},\"timeout\":{Lit("00:05:00")}"),
                Act("Ok", "Elsa.WriteLine", $"\"text\":{Lit("delivered")}"),
                Act("Late", "Elsa.WriteLine", $"\"text\":{Lit("timed out")}")),
            Arr(Conn("Wait1", "Ok", "Delivered"), Conn("Wait1", "Late", "Timeout")));

        var a = await host.Runtime.StartAsync("report", new StartWorkflowRequest { Input = new Dictionary<string, object?> { ["id"] = "m1" } });
        var b = await host.Runtime.StartAsync("report", new StartWorkflowRequest { Input = new Dictionary<string, object?> { ["id"] = "m2" } });
        Assert.Equal(2, a.Bookmarks.Count); // the wait and its timeout timer

        var sent = await host.Runtime.SendStimulusAsync(new Stimulus("Test.WaitForReport", new JsonObject { ["messageId"] = "m1" }, new JsonObject { ["status"] = "DELIVRD" }));
        Assert.Equal(a.InstanceId, Assert.Single(sent.Runs).InstanceId);
        Assert.Empty(sent.Runs[0].Bookmarks);

        time.Advance(TimeSpan.FromMinutes(6));
        await host.WaitForAsync(b.InstanceId, s => s.SubStatus == WorkflowSubStatus.Finished);
        Assert.Equal(["delivered", "timed out"], host.Console.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));

        var record = Assert.Single(await host.Instances.GetActivityExecutionsAsync(a.InstanceId, "Workflow1:Flowchart1:Wait1"));
        Assert.Equal("***", record.ActivityState!["ApiKey"]!.GetValue<string>());
        Assert.Equal("m1", record.ActivityState!["MessageId"]!.GetValue<string>());
        Assert.Equal("DELIVRD", record.Outputs!["Status"]!.GetValue<string>());
        Assert.Equal(["Delivered"], record.Outcomes);
        Assert.Equal(ActivityStatus.Completed, record.Status);
    }

    [Fact]
    public async Task A_code_first_workflow_runs_beside_json_ones_with_csharp_expressions()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path, configure: o => o.AddWorkflow<CountingWorkflow>());

        var started = await host.Runtime.StartAsync("code-first");
        Assert.Equal(WorkflowSubStatus.Suspended, started.SubStatus);
        await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "go" }));

        Assert.Equal("count=42", host.Console.ToString().Trim());
        Assert.Contains(host.Definitions.CodeFirstWorkflows, w => w.DefinitionId == "code-first");
    }
}
