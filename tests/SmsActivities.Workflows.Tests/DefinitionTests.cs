using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Runtime;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

public class DefinitionTests
{
    [Fact]
    public async Task Bad_definitions_are_rejected_with_messages_naming_the_activity()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);

        var unknown = await host.Definitions.SaveAsync(TestHost.Flowchart("bad1", Arr(Act("Mystery1", "Acme.Teleport"))), publish: true);
        var dangling = await host.Definitions.SaveAsync(TestHost.Flowchart("bad2", Arr(Act("W1", "Elsa.WriteLine")), Arr(Conn("W1", "Ghost"))), publish: true);
        var missing = await host.Definitions.SaveAsync(TestHost.Flowchart("bad3", Arr(Act("Wait1", "Elsa.Event"))), publish: true);

        Assert.Contains(unknown.ValidationErrors, e => e.Contains("Mystery1") && e.Contains("Acme.Teleport"));
        Assert.Contains(dangling.ValidationErrors, e => e.Contains("W1") && e.Contains("Ghost"));
        Assert.Contains(missing.ValidationErrors, e => e.Contains("Wait1") && e.Contains("EventName"));
        Assert.False(unknown.Definition.IsPublished);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => host.Runtime.StartAsync("bad1"));
        var exception = await Assert.ThrowsAsync<Execution.WorkflowValidationException>(() => host.Definitions.PublishAsync("bad3"));
        Assert.Contains("Wait1", exception.Message);
    }

    [Fact]
    public async Task Versioning_follows_Elsa_draft_in_place_then_new_version_after_publish()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        var model = TestHost.Flowchart("v", Arr(Act("W1", "Elsa.WriteLine", $"\"text\":{Lit("one")}")));

        var draft = await host.Definitions.SaveAsync(model, publish: false);
        var draftAgain = await host.Definitions.SaveAsync(model, publish: false);
        Assert.Equal(1, draftAgain.Definition.Version);
        Assert.Equal(draft.Definition.Id, draftAgain.Definition.Id);

        var published = await host.Definitions.SaveAsync(model, publish: true);
        Assert.True(published.Definition is { Version: 1, IsPublished: true, IsLatest: true });

        var v2 = await host.Definitions.SaveAsync(model, publish: false);
        Assert.True(v2.Definition is { Version: 2, IsPublished: false, IsLatest: true });
        var v1 = await host.Definitions.GetAsync("v", VersionOptions.Published);
        Assert.True(v1 is { Version: 1, IsPublished: true, IsLatest: false });

        await host.Definitions.PublishAsync("v");
        var all = await host.Definitions.ListAsync(new DefinitionQuery { VersionOptions = VersionOptions.AllVersions, DefinitionIds = ["v"], OrderBy = "Version" });
        Assert.Equal([(1, false, false), (2, true, true)], all.Items.Select(d => (d.Version, d.IsLatest, d.IsPublished)));

        await host.Definitions.RetractAsync("v");
        Assert.Null(await host.Definitions.GetAsync("v", VersionOptions.Published));
        Assert.True(await host.Definitions.DeleteAsync("v"));
        Assert.Null(await host.Definitions.GetAsync("v", VersionOptions.Latest));
    }

    [Fact]
    public async Task Json_files_of_a_folder_are_published_on_start_once()
    {
        using var db = new TempDatabase();
        var folder = Directory.CreateDirectory(Path.Combine(db.Folder, "workflows")).FullName;
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Fixtures", "studio-example.json"), Path.Combine(folder, "probe.json"));
        await using (var host = await TestHost.StartAsync(db.Path, configure: o => o.WorkflowsFolder = folder))
        {
            var result = await host.Runtime.StartAsync("def1");
            Assert.Equal(Execution.WorkflowSubStatus.Finished, result.SubStatus);
            Assert.Equal("Hello from probe", host.Console.ToString().Trim());
        }
        await using var again = await TestHost.StartAsync(db.Path, configure: o => o.WorkflowsFolder = folder);
        var versions = await again.Definitions.ListAsync(new DefinitionQuery { VersionOptions = VersionOptions.AllVersions });
        Assert.Equal(1, versions.TotalCount);
    }

    [Fact]
    public void Descriptors_have_the_shape_Studio_reads()
    {
        var registry = new ActivityRegistry();
        foreach (var type in Hosting.ServiceCollectionExtensions.BuiltInActivities) registry.Register(type);
        var json = JsonSerializer.SerializeToNode(registry.GetDescriptors(), WorkflowJson.Options)!.AsArray();
        var writeLine = json.Single(d => d!["typeName"]!.GetValue<string>() == "Elsa.WriteLine")!;
        Assert.Equal("Console", writeLine["category"]!.GetValue<string>());
        Assert.Equal("Write Line", writeLine["displayName"]!.GetValue<string>());
        var text = writeLine["inputs"]![0]!;
        Assert.Equal("Text", text["name"]!.GetValue<string>());
        Assert.Equal("String", text["typeName"]!.GetValue<string>());
        Assert.Equal("singleline", text["uiHint"]!.GetValue<string>());
        Assert.True(text["isWrapped"]!.GetValue<bool>());
        Assert.Equal("Action", writeLine["kind"]!.GetValue<string>());

        var decision = json.Single(d => d!["typeName"]!.GetValue<string>() == "Elsa.FlowDecision")!;
        Assert.Equal(["True", "False"], decision["ports"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()));
        Assert.Equal("Flow", decision["ports"]![0]!["type"]!.GetValue<string>());
        Assert.True(json.Single(d => d!["typeName"]!.GetValue<string>() == "Elsa.Start")!["isStart"]!.GetValue<bool>());
        Assert.True(json.Single(d => d!["typeName"]!.GetValue<string>() == "Elsa.Finish")!["isTerminal"]!.GetValue<bool>());
        var http = json.Single(d => d!["typeName"]!.GetValue<string>() == "Elsa.HttpEndpoint")!;
        Assert.Equal("Trigger", http["kind"]!.GetValue<string>());
        var methods = http["inputs"]!.AsArray().Single(i => i!["name"]!.GetValue<string>() == "SupportedMethods")!;
        // Studio's checklist editor reads its options under "checklist" (it shows none under "dropdown").
        Assert.Equal("POST", methods["uiSpecifications"]!["checklist"]!["checkList"]!["items"]![1]!["value"]!.GetValue<string>());
        Assert.Null(methods["uiSpecifications"]!["dropdown"]);
        var forEach = json.Single(d => d!["typeName"]!.GetValue<string>() == "Elsa.ForEach")!;
        Assert.Contains(forEach["ports"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "Body" && p["type"]!.GetValue<string>() == "Embedded");
    }
}
