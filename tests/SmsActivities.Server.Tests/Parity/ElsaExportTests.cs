using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Workflows.Activities.BuiltIn;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Parity;

/// <summary>
/// Definitions in the exact shape an Elsa 3 server exports them (tool version, node ids, designer metadata, the
/// serializer's custom properties, \u0022-escaped expression values, connections without vertices), imported through the
/// API and run here. The expectations are what Elsa 3 does with them: the lines its WriteLine activities write and how
/// many times each activity runs (branches of a fork may interleave, so their lines are compared without order).
/// </summary>
public sealed class ElsaExportTests : ServerTest
{
    private readonly StringWriter _console = new();
    protected override Task<ServerHost> StartServerAsync() =>
        ServerHost.StartAsync(configureServices: s => s.AddSingleton(new WorkflowConsole(TextWriter.Synchronized(_console))));

    /// <summary>
    /// Sets Total with modern JavaScript, decides on it, forks into an SMS and an e-mail notice (Liquid and a template
    /// literal) that converge on one summary, which Elsa's default (counter-based) flowchart runs once.
    /// </summary>
    private const string NoticeFlow = """
    {
      "id": "8a1c2f0e6b7d4e21",
      "definitionId": "3f6e0d2a9c41b7e5",
      "name": "Order notices",
      "createdAt": "2025-03-14T09:26:53.58979+00:00",
      "version": 3,
      "toolVersion": "3.3.0.0",
      "variables": [
        { "id": "b1f0c4a7e29d3c58", "name": "Total", "typeName": "Int32", "isArray": false, "value": "0", "storageDriverTypeName": "Elsa.Workflows.WorkflowInstanceStorageDriver, Elsa.Workflows.Core" }
      ],
      "inputs": [],
      "outputs": [],
      "outcomes": [],
      "customProperties": { "Elsa:WorkflowContextProviderTypes": [] },
      "isReadonly": false,
      "isSystem": false,
      "isLatest": true,
      "isPublished": true,
      "options": { "usableAsActivity": false, "autoUpdateConsumingWorkflows": false },
      "root": {
        "type": "Elsa.Flowchart",
        "version": 1,
        "id": "5d0b7e3c1a94f2e6",
        "nodeId": "Workflow1:5d0b7e3c1a94f2e6",
        "metadata": {},
        "customProperties": { "source": "FlowchartJsonConverter.cs:45", "notFoundConnections": [], "canStartWorkflow": false, "runAsynchronously": false },
        "activities": [
          {
            "id": "c2e8a61f0d5b7394", "nodeId": "Workflow1:5d0b7e3c1a94f2e6:c2e8a61f0d5b7394", "name": "Start1", "type": "Elsa.Start", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false },
            "metadata": { "designer": { "position": { "x": -520, "y": -180 }, "size": { "width": 102.21875, "height": 50 } } }
          },
          {
            "variable": { "id": "b1f0c4a7e29d3c58", "name": "Total", "typeName": "Int32", "isArray": false, "value": "0", "storageDriverTypeName": "Elsa.Workflows.WorkflowInstanceStorageDriver, Elsa.Workflows.Core" },
            "value": { "typeName": "Object", "expression": { "type": "JavaScript", "value": "const xs = [1, 2, 3];\nreturn xs.map(x =\u003E x * 2).reduce((a, b) =\u003E a \u002B b, 0);" } },
            "id": "e94b0a7c3f1d6825", "nodeId": "Workflow1:5d0b7e3c1a94f2e6:e94b0a7c3f1d6825", "name": "SetTotal", "type": "Elsa.SetVariable", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false },
            "metadata": { "designer": { "position": { "x": -340, "y": -180 }, "size": { "width": 151.453125, "height": 50 } } }
          },
          {
            "condition": { "typeName": "Boolean", "expression": { "type": "JavaScript", "value": "getTotal() \u003E 10" } },
            "id": "7f3d9b2e5c0a1648", "nodeId": "Workflow1:5d0b7e3c1a94f2e6:7f3d9b2e5c0a1648", "name": "IsBig", "type": "Elsa.FlowDecision", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false },
            "metadata": { "designer": { "position": { "x": -140, "y": -180 }, "size": { "width": 125.734375, "height": 50 } } }
          },
          {
            "branches": { "typeName": "String[]", "expression": { "type": "Object", "value": "[\u0022Sms\u0022,\u0022Email\u0022]" } },
            "id": "a05c8e4d2b7f9316", "nodeId": "Workflow1:5d0b7e3c1a94f2e6:a05c8e4d2b7f9316", "name": "Notify", "type": "Elsa.FlowFork", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false },
            "metadata": { "designer": { "position": { "x": 60, "y": -240 }, "size": { "width": 145.5625, "height": 50 } } }
          },
          {
            "text": { "typeName": "String", "expression": { "type": "Liquid", "value": "notify sms {{ Variables.Total }}" } },
            "id": "3b9e1d7a0c4f2586", "nodeId": "Workflow1:5d0b7e3c1a94f2e6:3b9e1d7a0c4f2586", "name": "NotifySms", "type": "Elsa.WriteLine", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false },
            "metadata": { "designer": { "position": { "x": 280, "y": -300 }, "size": { "width": 139.296875, "height": 50 } } }
          },
          {
            "text": { "typeName": "String", "expression": { "type": "JavaScript", "value": "`notify email ${getTotal()}`" } },
            "id": "d6a2f8c05e1b7943", "nodeId": "Workflow1:5d0b7e3c1a94f2e6:d6a2f8c05e1b7943", "name": "NotifyEmail", "type": "Elsa.WriteLine", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false },
            "metadata": { "designer": { "position": { "x": 280, "y": -180 }, "size": { "width": 139.296875, "height": 50 } } }
          },
          {
            "text": { "typeName": "String", "expression": { "type": "Literal", "value": "summary" } },
            "id": "1e7c4a9f3d0b5862", "nodeId": "Workflow1:5d0b7e3c1a94f2e6:1e7c4a9f3d0b5862", "name": "Summary", "type": "Elsa.WriteLine", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false },
            "metadata": { "designer": { "position": { "x": 500, "y": -240 }, "size": { "width": 139.296875, "height": 50 } } }
          },
          {
            "text": { "typeName": "String", "expression": { "type": "Literal", "value": "small order" } },
            "id": "f4b8d1e6a2c09537", "nodeId": "Workflow1:5d0b7e3c1a94f2e6:f4b8d1e6a2c09537", "name": "Small", "type": "Elsa.WriteLine", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false },
            "metadata": { "designer": { "position": { "x": 60, "y": -60 }, "size": { "width": 139.296875, "height": 50 } } }
          }
        ],
        "connections": [
          { "source": { "activity": "c2e8a61f0d5b7394", "port": "Done" }, "target": { "activity": "e94b0a7c3f1d6825", "port": "In" } },
          { "source": { "activity": "e94b0a7c3f1d6825", "port": "Done" }, "target": { "activity": "7f3d9b2e5c0a1648", "port": "In" } },
          { "source": { "activity": "7f3d9b2e5c0a1648", "port": "True" }, "target": { "activity": "a05c8e4d2b7f9316", "port": "In" } },
          { "source": { "activity": "7f3d9b2e5c0a1648", "port": "False" }, "target": { "activity": "f4b8d1e6a2c09537", "port": "In" } },
          { "source": { "activity": "a05c8e4d2b7f9316", "port": "Sms" }, "target": { "activity": "3b9e1d7a0c4f2586", "port": "In" } },
          { "source": { "activity": "a05c8e4d2b7f9316", "port": "Email" }, "target": { "activity": "d6a2f8c05e1b7943", "port": "In" } },
          { "source": { "activity": "3b9e1d7a0c4f2586", "port": "Done" }, "target": { "activity": "1e7c4a9f3d0b5862", "port": "In" } },
          { "source": { "activity": "d6a2f8c05e1b7943", "port": "Done" }, "target": { "activity": "1e7c4a9f3d0b5862", "port": "In" } }
        ]
      }
    }
    """;

    /// <summary>A fork into three lines with no Start activity: Elsa starts the flowchart at the activity nothing leads to.</summary>
    private const string ForkFlow = """
    {
      "id": "2c7a0e9f4b1d6583", "definitionId": "9e4b1c7a2d0f5836", "name": "Fork", "createdAt": "2024-11-02T18:04:12.11873+00:00", "version": 2,
      "toolVersion": "3.2.0.0", "variables": [], "inputs": [], "outputs": [], "outcomes": [],
      "customProperties": { "Elsa:WorkflowContextProviderTypes": [] }, "isReadonly": false, "isSystem": false, "isLatest": true, "isPublished": true,
      "options": { "autoUpdateConsumingWorkflows": false },
      "root": {
        "type": "Elsa.Flowchart", "version": 1, "id": "6b0e3a8d1f2c7495", "nodeId": "Workflow1:6b0e3a8d1f2c7495", "metadata": {},
        "customProperties": { "source": "FlowchartJsonConverter.cs:45", "notFoundConnections": [], "canStartWorkflow": false, "runAsynchronously": false },
        "activities": [
          { "branches": { "typeName": "String[]", "expression": { "type": "Object", "value": "[\u0022A\u0022,\u0022B\u0022,\u0022C\u0022]" } },
            "id": "0d9c2b7e4a1f8365", "nodeId": "Workflow1:6b0e3a8d1f2c7495:0d9c2b7e4a1f8365", "name": "FlowFork1", "type": "Elsa.FlowFork", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false }, "metadata": { "designer": { "position": { "x": -340, "y": -197 } } } },
          { "text": { "typeName": "String", "expression": { "type": "Literal", "value": "branch A" } },
            "id": "8e1f5c3a0b7d2946", "nodeId": "Workflow1:6b0e3a8d1f2c7495:8e1f5c3a0b7d2946", "name": "WriteLine1", "type": "Elsa.WriteLine", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false }, "metadata": { "designer": { "position": { "x": -80, "y": -300 } } } },
          { "text": { "typeName": "String", "expression": { "type": "Literal", "value": "branch B" } },
            "id": "4a7d0e2c9f3b1658", "nodeId": "Workflow1:6b0e3a8d1f2c7495:4a7d0e2c9f3b1658", "name": "WriteLine2", "type": "Elsa.WriteLine", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false }, "metadata": { "designer": { "position": { "x": -80, "y": -197 } } } },
          { "text": { "typeName": "String", "expression": { "type": "Literal", "value": "branch C" } },
            "id": "b3e6f9a1c8d04275", "nodeId": "Workflow1:6b0e3a8d1f2c7495:b3e6f9a1c8d04275", "name": "WriteLine3", "type": "Elsa.WriteLine", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false }, "metadata": { "designer": { "position": { "x": -80, "y": -102 } } } }
        ],
        "connections": [
          { "source": { "activity": "0d9c2b7e4a1f8365", "port": "A" }, "target": { "activity": "8e1f5c3a0b7d2946", "port": "In" } },
          { "source": { "activity": "0d9c2b7e4a1f8365", "port": "B" }, "target": { "activity": "4a7d0e2c9f3b1658", "port": "In" } },
          { "source": { "activity": "0d9c2b7e4a1f8365", "port": "C" }, "target": { "activity": "b3e6f9a1c8d04275", "port": "In" } }
        ]
      }
    }
    """;

    /// <summary>
    /// Elsa's structured built-ins: RunJavaScript sets N, a While repeats a Sequence (count up, write a template-literal
    /// line) three times, an If picks its Then branch, and the flow ends with a line. On Elsa the While and the If run
    /// once each, the Sequence and its two steps once per pass, the Else branch never.
    /// </summary>
    private const string LoopFlow = """
    {
      "id": "5e2b9d0c7a3f1864", "definitionId": "c0a7e4f19b3d2658", "name": "Count to three", "createdAt": "2025-05-20T07:41:09.33102+00:00", "version": 1,
      "toolVersion": "3.3.0.0",
      "variables": [ { "id": "9d3f6a1c0e8b2475", "name": "N", "typeName": "Int32", "isArray": false, "value": "", "storageDriverTypeName": "Elsa.Workflows.WorkflowInstanceStorageDriver, Elsa.Workflows.Core" } ],
      "inputs": [], "outputs": [], "outcomes": [], "customProperties": { "Elsa:WorkflowContextProviderTypes": [] }, "isReadonly": false, "isSystem": false, "isLatest": true, "isPublished": true,
      "options": { "usableAsActivity": false, "autoUpdateConsumingWorkflows": false },
      "root": {
        "type": "Elsa.Flowchart", "version": 1, "id": "7c1e4b8a2f0d9356", "nodeId": "Workflow1:7c1e4b8a2f0d9356", "metadata": {},
        "customProperties": { "source": "FlowchartJsonConverter.cs:45", "notFoundConnections": [], "canStartWorkflow": false, "runAsynchronously": false },
        "activities": [
          { "id": "2a8f0c6e4d1b7953", "nodeId": "Workflow1:7c1e4b8a2f0d9356:2a8f0c6e4d1b7953", "name": "Start1", "type": "Elsa.Start", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false }, "metadata": { "designer": { "position": { "x": -600, "y": -100 } } } },
          { "script": { "typeName": "String", "expression": { "type": "Literal", "value": "setN(0);\nreturn getN();" } },
            "id": "e6b1d9f3a0c45872", "nodeId": "Workflow1:7c1e4b8a2f0d9356:e6b1d9f3a0c45872", "name": "Reset", "type": "Elsa.RunJavaScript", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false }, "metadata": { "designer": { "position": { "x": -440, "y": -100 } } } },
          { "condition": { "typeName": "Boolean", "expression": { "type": "JavaScript", "value": "getN() \u003C 3" } },
            "body": {
              "type": "Elsa.Sequence", "version": 1, "id": "4f9c2e7a1d0b8635", "nodeId": "Workflow1:7c1e4b8a2f0d9356:0b5d8e2f6a9c1374:4f9c2e7a1d0b8635", "name": "Pass",
              "customProperties": { "canStartWorkflow": false, "runAsynchronously": false }, "metadata": {}, "variables": [],
              "activities": [
                { "variable": { "id": "9d3f6a1c0e8b2475", "name": "N", "typeName": "Int32" },
                  "value": { "typeName": "Object", "expression": { "type": "JavaScript", "value": "getN() \u002B 1" } },
                  "id": "8b0e3d6f2c9a4517", "nodeId": "Workflow1:7c1e4b8a2f0d9356:0b5d8e2f6a9c1374:4f9c2e7a1d0b8635:8b0e3d6f2c9a4517", "name": "CountUp", "type": "Elsa.SetVariable", "version": 1,
                  "customProperties": { "canStartWorkflow": false, "runAsynchronously": false }, "metadata": {} },
                { "text": { "typeName": "String", "expression": { "type": "JavaScript", "value": "`tick ${getN()}`" } },
                  "id": "1d7a4c0e9f3b6285", "nodeId": "Workflow1:7c1e4b8a2f0d9356:0b5d8e2f6a9c1374:4f9c2e7a1d0b8635:1d7a4c0e9f3b6285", "name": "Tick", "type": "Elsa.WriteLine", "version": 1,
                  "customProperties": { "canStartWorkflow": false, "runAsynchronously": false }, "metadata": {} }
              ]
            },
            "id": "0b5d8e2f6a9c1374", "nodeId": "Workflow1:7c1e4b8a2f0d9356:0b5d8e2f6a9c1374", "name": "While1", "type": "Elsa.While", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false }, "metadata": { "designer": { "position": { "x": -260, "y": -100 } } } },
          { "condition": { "typeName": "Boolean", "expression": { "type": "JavaScript", "value": "getN() === 3" } },
            "then": { "text": { "typeName": "String", "expression": { "type": "Literal", "value": "three" } },
              "id": "6c3a9e1f0b7d2548", "nodeId": "Workflow1:7c1e4b8a2f0d9356:f2d7b0a4e8c16395:6c3a9e1f0b7d2548", "name": "Three", "type": "Elsa.WriteLine", "version": 1,
              "customProperties": { "canStartWorkflow": false, "runAsynchronously": false }, "metadata": {} },
            "else": { "text": { "typeName": "String", "expression": { "type": "Literal", "value": "not three" } },
              "id": "a9e2c5f8d1b04736", "nodeId": "Workflow1:7c1e4b8a2f0d9356:f2d7b0a4e8c16395:a9e2c5f8d1b04736", "name": "NotThree", "type": "Elsa.WriteLine", "version": 1,
              "customProperties": { "canStartWorkflow": false, "runAsynchronously": false }, "metadata": {} },
            "id": "f2d7b0a4e8c16395", "nodeId": "Workflow1:7c1e4b8a2f0d9356:f2d7b0a4e8c16395", "name": "If1", "type": "Elsa.If", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false }, "metadata": { "designer": { "position": { "x": -80, "y": -100 } } } },
          { "text": { "typeName": "String", "expression": { "type": "Liquid", "value": "end at {{ Variables.N }}" } },
            "id": "3e0f7b2d9a6c1584", "nodeId": "Workflow1:7c1e4b8a2f0d9356:3e0f7b2d9a6c1584", "name": "End", "type": "Elsa.WriteLine", "version": 1,
            "customProperties": { "canStartWorkflow": false, "runAsynchronously": false }, "metadata": { "designer": { "position": { "x": 100, "y": -100 } } } }
        ],
        "connections": [
          { "source": { "activity": "2a8f0c6e4d1b7953", "port": "Done" }, "target": { "activity": "e6b1d9f3a0c45872", "port": "In" } },
          { "source": { "activity": "e6b1d9f3a0c45872", "port": "Done" }, "target": { "activity": "0b5d8e2f6a9c1374", "port": "In" } },
          { "source": { "activity": "0b5d8e2f6a9c1374", "port": "Done" }, "target": { "activity": "f2d7b0a4e8c16395", "port": "In" } },
          { "source": { "activity": "f2d7b0a4e8c16395", "port": "Done" }, "target": { "activity": "3e0f7b2d9a6c1584", "port": "In" } }
        ]
      }
    }
    """;

    /// <summary>Imports the export as Studio's "Import" does (the file's JSON posted as is), publishes it, runs it.</summary>
    private async Task<(JsonObject Instance, Dictionary<string, int> Counts, string[] Lines)> ImportAndRunAsync(string export)
    {
        var model = JsonNode.Parse(export)!.AsObject();
        await PublishAsync(Client, model);
        var instanceId = await ExecuteAsync(Client, (string)model["definitionId"]!);
        var instance = await InstanceAsync(Client, instanceId);
        var lines = _console.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return (instance, await ExecutionCountsAsync(Client, instanceId), lines);
    }

    private static string Describe(Dictionary<string, int> counts, string[] lines) =>
        $"counts {string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}"))}; lines {string.Join(" | ", lines)}";

    [Fact]
    public async Task An_exported_flow_with_modern_script_liquid_a_decision_and_a_converging_fork_runs_as_on_Elsa()
    {
        var (instance, counts, lines) = await ImportAndRunAsync(NoticeFlow);
        var seen = Describe(counts, lines);

        Assert.True((string?)instance["subStatus"] == "Finished", $"sub-status {instance["subStatus"]}, incidents {instance["workflowState"]?["incidents"]?.ToJsonString()}; {seen}");
        var expectedCounts = new Dictionary<string, int>
        {
            ["5d0b7e3c1a94f2e6"] = 1, ["c2e8a61f0d5b7394"] = 1, ["e94b0a7c3f1d6825"] = 1, ["7f3d9b2e5c0a1648"] = 1,
            ["a05c8e4d2b7f9316"] = 1, ["3b9e1d7a0c4f2586"] = 1, ["d6a2f8c05e1b7943"] = 1, ["1e7c4a9f3d0b5862"] = 1,
        };
        Assert.True(expectedCounts.OrderBy(c => c.Key).SequenceEqual(counts.OrderBy(c => c.Key)), seen);
        Assert.True(lines.Length == 3 && lines[^1] == "summary", seen);
        Assert.True(lines[..2].Order().SequenceEqual(["notify email 12", "notify sms 12"]), seen);
    }

    [Fact]
    public async Task An_exported_fork_without_a_start_activity_runs_every_branch_once()
    {
        var (instance, counts, lines) = await ImportAndRunAsync(ForkFlow);
        var seen = Describe(counts, lines);

        Assert.True((string?)instance["subStatus"] == "Finished", $"sub-status {instance["subStatus"]}; {seen}");
        Assert.True(counts.Count == 5 && counts.Values.All(c => c == 1), seen);
        Assert.True(lines.Order().SequenceEqual(["branch A", "branch B", "branch C"]), seen);
    }

    [Fact]
    public async Task An_exported_flow_with_run_javascript_while_sequence_and_if_runs_as_on_Elsa()
    {
        var (instance, counts, lines) = await ImportAndRunAsync(LoopFlow);
        var seen = Describe(counts, lines);

        Assert.True((string?)instance["subStatus"] == "Finished", $"sub-status {instance["subStatus"]}, incidents {instance["workflowState"]?["incidents"]?.ToJsonString()}; {seen}");
        Assert.True(lines.SequenceEqual(["tick 1", "tick 2", "tick 3", "three", "end at 3"]), seen);
        var expectedCounts = new Dictionary<string, int>
        {
            ["7c1e4b8a2f0d9356"] = 1, ["2a8f0c6e4d1b7953"] = 1, ["e6b1d9f3a0c45872"] = 1, ["0b5d8e2f6a9c1374"] = 1,
            ["4f9c2e7a1d0b8635"] = 3, ["8b0e3d6f2c9a4517"] = 3, ["1d7a4c0e9f3b6285"] = 3,
            ["f2d7b0a4e8c16395"] = 1, ["6c3a9e1f0b7d2548"] = 1, ["3e0f7b2d9a6c1584"] = 1,
        };
        Assert.True(expectedCounts.OrderBy(c => c.Key).SequenceEqual(counts.OrderBy(c => c.Key)), seen);
    }
}
