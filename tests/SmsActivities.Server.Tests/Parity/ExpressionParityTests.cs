using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Parity;

/// <summary>
/// JavaScript (modern syntax, Elsa's script surface) and Liquid, in Elsa-shaped definitions run through the server:
/// an HTTP-triggered flow whose WriteHttpResponse content is the expression under test.
/// </summary>
public sealed class ExpressionParityTests : ServerTest
{
    /// <summary>Http1 → (middle…) → Respond1 with <paramref name="content"/>; GET answers its text.</summary>
    private async Task<string> RespondAsync(string path, JsonObject content, IEnumerable<JsonObject>? middle = null, IEnumerable<JsonObject>? variables = null)
    {
        var steps = (middle ?? []).ToList();
        var chain = new List<JsonObject> { HttpTrigger("Http1", path) };
        chain.AddRange(steps);
        chain.Add(Respond("Respond1", content));
        var connections = chain.Zip(chain.Skip(1), (a, b) => Conn((string)a["id"]!, (string)b["id"]!));
        await PublishAsync(Client, Flowchart(path, chain, connections, variables));
        return await CallAsync(Client, path);
    }

    [Fact]
    public async Task Template_literals_and_arrow_functions_run()
    {
        var body = await RespondAsync("js-modern", Js("const xs = [1, 2, 3]; `sum=${xs.map(x => x * 2).reduce((a, b) => a + b, 0)}`"));
        Assert.Equal("sum=12", body);
    }

    [Fact]
    public async Task A_top_level_return_gives_the_result()
    {
        var body = await RespondAsync("js-return", Js("if (1 < 2) { return 'early'; }\nreturn 'late';"));
        Assert.Equal("early", body);
    }

    [Fact]
    public async Task Old_es5_expressions_keep_working()
    {
        var body = await RespondAsync("js-es5", Js("var a = [1, 2]; var s = 0; for (var i = 0; i < a.length; i++) { s += a[i]; } 'es5=' + s"));
        Assert.Equal("es5=3", body);
    }

    [Fact]
    public async Task Variable_accessors_and_the_variables_object_read_and_write_workflow_variables()
    {
        var body = await RespondAsync("js-vars",
            Js("`counter=${getCounter()} viaGet=${getVariable('Counter')} viaObject=${variables.Counter} greeting=${getGreeting()}`"),
            [
                Act("Bump", "Elsa.RunJavaScript", new JsonObject { ["script"] = Lit("setCounter(getCounter() + 1); variables.Greeting = variables.Greeting + '!'; return getCounter();") }),
                Act("Bump2", "Elsa.RunJavaScript", new JsonObject { ["script"] = Lit("setVariable('Counter', getVariable('Counter') * 10); return getLastResult();") }),
            ],
            [Variable("Counter", "Int32", "4"), Variable("Greeting", "String", "hi")]);
        Assert.Equal("counter=50 viaGet=50 viaObject=50 greeting=hi!", body);
    }

    [Fact]
    public async Task Ids_guid_json_and_string_helpers_are_defined()
    {
        var body = await RespondAsync("js-helpers", Js("""
            const id = getWorkflowInstanceId();
            const checks = [
              id.length > 0 && id === workflowInstanceId,
              getWorkflowDefinitionId() === 'js-helpers',
              isNullOrEmpty('') && isNullOrWhiteSpace('  ') && !isNullOrEmpty('x'),
              /^[0-9a-f-]{36}$/.test(newGuidString()) && /^[A-Za-z0-9]{16,22}$/.test(newShortGuid()),
              parseGuid('6F9619FF-8B86-D011-B42D-00CF4FC964FF') === '6f9619ff-8b86-d011-b42d-00cf4fc964ff',
              toJson({ a: [1, 'b'] }) === '{"a":[1,"b"]}',
              JSON.parse(toJson({ n: 1 })).n === 1,
              stringFromBase64(stringToBase64('hé')) === 'hé',
            ];
            return checks.map((c, i) => c ? '' : `check ${i} failed`).join('') || 'ok';
            """));
        Assert.Equal("ok", body);
    }

    [Fact]
    public async Task Outputs_of_earlier_activities_are_reachable_by_name()
    {
        var body = await RespondAsync("js-outputs", Js("`${getOutputFrom('Calc')}|${getResultFromCalc()}|${getLastResult()}`"),
            [Act("Calc", "Elsa.RunJavaScript", new JsonObject { ["script"] = Lit("return 6 * 7;") })]);
        Assert.Equal("42|42|42", body);
    }

    [Fact]
    public async Task Liquid_renders_with_filters()
    {
        var body = await RespondAsync("liquid-plus", Liquid("liquid={{ 1 | plus: 2 }}"));
        Assert.Equal("liquid=3", body);
    }

    [Fact]
    public async Task Liquid_sees_variables_workflow_and_activity_outputs()
    {
        var body = await RespondAsync("liquid-model",
            Liquid("{{ Variables.Name | upcase }} {{ Activities.Calc.Result }} {{ Workflow.DefinitionId }} {% for x in Variables.Items %}[{{ x }}]{% endfor %} {{ Variables.Items | json }}"),
            [Act("Calc", "Elsa.RunJavaScript", new JsonObject { ["script"] = Lit("return 40 + 2;") })],
            [Variable("Name", "String", "ada"), Variable("Items", "Object", "[1,2]")]);
        Assert.Equal("ADA 42 liquid-model [1][2] [1,2]", body);
    }

    [Fact]
    public async Task A_runaway_script_faults_with_an_incident_naming_the_limit_and_line()
    {
        await PublishAsync(Client, Flowchart("js-runaway",
            [Act("Start1", "Elsa.Start"), Act("Loop", "Elsa.RunJavaScript", new JsonObject { ["script"] = Lit("let i = 0;\nwhile (true) { i++; }") })],
            [Conn("Start1", "Loop")]));
        var instanceId = await ExecuteAsync(Client, "js-runaway");
        var instance = await InstanceAsync(Client, instanceId);
        Assert.Equal("Faulted", (string?)instance["subStatus"]);
        var message = (string)instance["workflowState"]!["incidents"]![0]!["message"]!;
        // Jint reports no location for a broken limit, so the message names the limit but not the line (a known gap).
        Assert.Contains("JavaScript failed", message);
        Assert.Contains("than allowed", message);
    }

    [Theory]
    [InlineData("function down(n) { return down(n + 1); }\ndown(0);", "it recursed deeper than allowed")]
    [InlineData("const parts = [];\nwhile (true) { parts.push('x'.repeat(1000000)); }", "it allocated more memory than allowed")]
    public async Task Runaway_recursion_and_allocation_fault_with_the_limit_they_broke(string script, string limit)
    {
        var definitionId = "js-limit-" + Guid.NewGuid().ToString("N")[..6];
        await PublishAsync(Client, Flowchart(definitionId,
            [Act("Start1", "Elsa.Start"), Act("Runaway", "Elsa.RunJavaScript", new JsonObject { ["script"] = Lit(script) })],
            [Conn("Start1", "Runaway")]));
        var instance = await InstanceAsync(Client, await ExecuteAsync(Client, definitionId));
        Assert.Equal("Faulted", (string?)instance["subStatus"]);
        var message = (string)instance["workflowState"]!["incidents"]![0]!["message"]!;
        Assert.True(message.Contains("JavaScript failed", StringComparison.Ordinal) && message.Contains(limit, StringComparison.Ordinal), "incident: " + message);
    }

    [Fact]
    public async Task RunJavaScript_leaves_by_the_outcome_its_script_sets()
    {
        await PublishAsync(Client, Flowchart("js-outcome",
            [
                HttpTrigger("Http1", "js-outcome"),
                Act("Pick", "Elsa.RunJavaScript", new JsonObject
                {
                    ["script"] = Lit("setOutcome(getCounter() > 1 ? 'Many' : 'Few');"), ["possibleOutcomes"] = Expr("Object", "[\"Many\",\"Few\"]", "String[]"),
                }),
                Respond("SaidMany", Lit("many")), Respond("SaidFew", Lit("few")), Respond("SaidDone", Lit("done")),
            ],
            [Conn("Http1", "Pick"), Conn("Pick", "SaidMany", "Many"), Conn("Pick", "SaidFew", "Few"), Conn("Pick", "SaidDone")],
            [Variable("Counter", "Int32", "3")]));
        Assert.Equal("many", await CallAsync(Client, "js-outcome"));
    }

    [Fact]
    public async Task A_syntax_error_names_its_line()
    {
        await PublishAsync(Client, Flowchart("js-syntax",
            [Act("Start1", "Elsa.Start"), Act("Bad", "Elsa.RunJavaScript", new JsonObject { ["script"] = Lit("const a = 1;\nconst b = ;") })],
            [Conn("Start1", "Bad")]));
        var instanceId = await ExecuteAsync(Client, "js-syntax");
        var instance = await InstanceAsync(Client, instanceId);
        Assert.Equal("Faulted", (string?)instance["subStatus"]);
        Assert.Contains("JavaScript failed at line 2: syntax error: Unexpected token", (string)instance["workflowState"]!["incidents"]![0]!["message"]!);
    }
}
