using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Hosting;
using SmsActivities.Workflows.Runtime;
using SmsActivities.Tests.Shared;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

public class SecretTests
{
    private const string Code = "482913";

    [Fact]
    public async Task A_code_typed_into_an_HTTP_request_and_read_by_a_secret_input_is_used_but_never_stored()
    {
        using var db = new TempDatabase();
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddWorkflowRuntime(o =>
        {
            o.UseSqlite(db.Path);
            o.AddActivity<CheckCode>();
        });
        await using var app = builder.Build();
        app.MapWorkflowHttpEndpoints("/workflows");
        await app.StartAsync();
        var typed = "getOutputFrom('Http1','ParsedContent').code";
        var save = await app.Services.GetRequiredService<WorkflowDefinitionService>().SaveAsync(TestHost.Flowchart("verify",
            Arr(Act("Start1", "Elsa.Start"),
                Act("Http1", "Elsa.HttpEndpoint", $"\"path\":{Lit("verify")},\"supportedMethods\":{{\"typeName\":\"String[]\",\"expression\":{{\"type\":\"Object\",\"value\":\"[\\\"POST\\\"]\"}}}}"),
                Act("Check1", "Test.CheckCode", $"\"code\":{Js(typed)}"),
                Act("Keep1", "Elsa.SetVariable", $"\"variable\":{{\"id\":\"Typed\",\"name\":\"Typed\"}},\"value\":{Js(typed)}"),
                Act("Out1", "Elsa.SetOutput", $"\"outputName\":{Lit("typed")},\"outputValue\":{Js("'you typed ' + " + typed)}"),
                Act("Reply", "Elsa.WriteHttpResponse", $"\"content\":{Js("getOutputFrom('Check1','Result') + ' ' + " + typed)}")),
            Arr(Conn("Start1", "Http1"), Conn("Http1", "Check1"), Conn("Check1", "Keep1", "Valid"), Conn("Keep1", "Out1"), Conn("Out1", "Reply")),
            variables: """[{"id":"Typed","name":"Typed","typeName":"String"}]"""), publish: true);
        Assert.Empty(save.ValidationErrors);
        var started = await app.Services.GetRequiredService<WorkflowRuntime>().StartAsync("verify");

        var response = await app.GetTestClient().PostAsync("/workflows/verify", new StringContent($$"""{"code":"{{Code}}"}""", Encoding.UTF8, "application/json"));

        // The run used the real value all the way: the check passed and the response was built from it.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"Valid {Code}", await response.Content.ReadAsStringAsync());
        var instances = app.Services.GetRequiredService<WorkflowInstanceStore>();
        var state = await instances.GetStateAsync(started.InstanceId);
        Assert.Equal(WorkflowSubStatus.Finished, state!.SubStatus);
        Assert.Equal("******", state.Variables["Typed"]!.GetValue<string>());
        Assert.Equal("you typed ******", state.Output["typed"]!.GetValue<string>());
        Assert.Equal("******", state.ActivityOutputs["Http1"]["ParsedContent"]!["code"]!.GetValue<string>());
        await app.StopAsync();
        SqliteConnection.ClearAllPools();
        var stored = await SqliteText.AllTablesAsync(db.Path);
        Assert.Contains(started.InstanceId, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(Code, stored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MarkSecret_blanks_whole_values_and_long_secrets_inside_longer_text_but_the_run_sees_them()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path, configure: o => o.AddActivity<MarkAsSecret>());
        await host.PublishAsync("mark",
            Arr(Act("Mark1", "Test.MarkAsSecret", $"\"value\":{Js("getInput('token')")}"),
                Act("Mark2", "Test.MarkAsSecret", $"\"value\":{Js("getInput('pin')")}"),
                Act("Write1", "Elsa.WriteLine", $"\"text\":{Js("'Bearer ' + getInput('token') + ' order 4711'")}"),
                Act("Set1", "Elsa.SetVariable", $"\"variable\":{{\"id\":\"Auth\",\"name\":\"Auth\"}},\"value\":{Js("'Bearer ' + getInput('token') + ' order 4711'")}"),
                Act("Mark3", "Test.MarkAsSecret", $"\"value\":{Js("getInput('otp')")}"),
                Act("Set2", "Elsa.SetVariable", $"\"variable\":{{\"id\":\"Numbers\",\"name\":\"Numbers\"}},\"value\":{Js("[parseInt(getInput('otp')), parseInt(getInput('pin'))]")}")),
            Arr(Conn("Mark1", "Mark2"), Conn("Mark2", "Write1"), Conn("Write1", "Set1"), Conn("Set1", "Mark3"), Conn("Mark3", "Set2")),
            variables: """[{"id":"Auth","name":"Auth","typeName":"String"},{"id":"Numbers","name":"Numbers","typeName":"Object"}]""");

        var run = await host.Runtime.StartAsync("mark", new StartWorkflowRequest { Input = new Dictionary<string, object?> { ["token"] = "tok-98765432", ["pin"] = "4711", ["otp"] = "735291" } });

        Assert.Equal("Bearer tok-98765432 order 4711", host.Console.ToString().Trim());
        var state = await host.Instances.GetStateAsync(run.InstanceId);
        Assert.Equal("******", state!.Input["token"]!.GetValue<string>());
        Assert.Equal("******", state.Input["pin"]!.GetValue<string>());
        // The 6+ character token is blanked inside the text; the 4-digit pin only where it is the whole value.
        Assert.Equal("Bearer ****** order 4711", state.Variables["Auth"]!.GetValue<string>());
        // A 6-digit code stored as a JSON number is masked too; a number equal to the 4-digit pin is left a number.
        Assert.Equal("[\"******\",4711]", state.Variables["Numbers"]!.ToJsonString());
        Assert.DoesNotContain("tok-98765432", await SqliteText.AllTablesAsync(db.Path), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dispatched_child_gets_its_parent_s_secret_input_but_no_database_file_holds_it()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path, configure: o =>
        {
            o.AddActivity<MarkAsSecret>();
            o.AddActivity<CheckCode>();
        });
        // The child checks the code it was given: Valid only with the real value.
        await host.PublishAsync("checker",
            Arr(Act("Check1", "Test.CheckCode", $"\"code\":{Js("getInput('code')")}"),
                Act("Out1", "Elsa.SetOutput", $"\"outputName\":{Lit("result")},\"outputValue\":{Js("getOutputFrom('Check1','Result')")}")),
            Arr(Conn("Check1", "Out1", "Valid"), Conn("Check1", "Out1", "Invalid")));
        await host.PublishAsync("dispatcher",
            Arr(Act("Mark1", "Test.MarkAsSecret", $"\"value\":{Js("getInput('code')")}"),
                Act("Run", "Elsa.DispatchWorkflow", $"\"workflowDefinitionId\":{Lit("checker")},\"input\":{Js("({ code: getInput('code') })")},\"waitForCompletion\":{Js("false")}")),
            Arr(Conn("Mark1", "Run")));

        var run = await host.Runtime.StartAsync("dispatcher", new StartWorkflowRequest { Input = new Dictionary<string, object?> { ["code"] = Code } });
        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        await Sql.WaitForAsync(db.Path, "SELECT COUNT(*) FROM WorkflowInstances WHERE DefinitionId = 'checker' AND SubStatus = 'Finished'", n => n == 1, "the dispatched child");

        var child = await Sql.TextAsync(db.Path, "SELECT Id FROM WorkflowInstances WHERE DefinitionId = 'checker'");
        var state = await host.Instances.GetStateAsync(child!);
        Assert.True(state!.Output["result"]?.GetValue<string>() == "Valid", $"the child should have checked the real code; its output: {state.Output["result"]?.ToJsonString()}");
        Assert.Equal("******", state.Input["code"]!.GetValue<string>());
        var holding = await SqliteText.FilesHoldingAsync(db.Folder, Code);
        Assert.True(holding.Count == 0, $"the code is at rest in: {string.Join(", ", holding)}");
        // The search can find what is there: the child's id is stored in the same files.
        Assert.NotEmpty(await SqliteText.FilesHoldingAsync(db.Folder, child!));
    }

    /// <summary>Checks a code the user typed; the input is secret, so the runtime blanks it from whatever it stores.</summary>
    [Activity("Test", "Testing")]
    [FlowNode("Valid", "Invalid")]
    public sealed class CheckCode : Activity
    {
        [Input(IsSecret = true)] public Input<string?>? Code { get; set; }
        [Output] public Output<string> Result { get; set; } = new();

        protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
        {
            var outcome = context.Get(Code) == SecretTests.Code ? "Valid" : "Invalid";
            context.Set(Result, outcome);
            return context.CompleteActivityAsync(outcome);
        }
    }

    [Activity("Test", "Testing")]
    public sealed class MarkAsSecret : Activity
    {
        [Input] public Input<string?>? Value { get; set; }

        protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
        {
            context.MarkSecret(context.Get(Value));
            return context.CompleteActivityAsync();
        }
    }
}
