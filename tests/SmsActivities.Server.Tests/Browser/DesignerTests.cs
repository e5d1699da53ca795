using Microsoft.Playwright;
using SmsActivities.Server.Tests.Infrastructure;

namespace SmsActivities.Server.Tests.Browser;

/// <summary>
/// A designer creates a workflow in the real Studio, drags activities from the toolbox, connects them,
/// fills their inputs, saves, publishes and runs it, and sees the instance finish in the instance viewer with the
/// journal — all against the server's Elsa API and the real workflow runtime.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class DesignerTests(BrowserFixture fixture)
{
    [Fact]
    public Task Create_drag_connect_fill_publish_run_and_see_the_instance_finish() => StudioPage.RunAsync(fixture, async (page, _) =>
    {
        var studio = new StudioDriver(page);
        var name = "Designer test " + Guid.NewGuid().ToString("N")[..6];
        var definitionId = await studio.CreateWorkflowAsync(name);

        await studio.DragFromToolboxAsync("Console", "Write Line", 150, 150);
        await studio.DragFromToolboxAsync("Console", "Write Line", 520, 150);
        var first = studio.Node("WriteLine1");
        var second = studio.Node("WriteLine2");
        await studio.ConnectAsync(first, "Done", second);

        await studio.SelectAsync(first);
        await studio.FillInputAsync("Text", "hello from the designer");
        await studio.SelectAsync(second);
        await studio.FillInputAsync("Text", "second line");

        await studio.PublishAsync();

        // What the server stored is what the designer drew.
        using var client = fixture.Server.CreateClient();
        var saved = System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-definitions/by-definition-id/{definitionId}?versionOptions=Published"))!;
        Assert.True((bool)saved["isPublished"]!);
        var activities = saved["root"]!["activities"]!.AsArray();
        Assert.Equal(2, activities.Count);
        Assert.Single(saved["root"]!["connections"]!.AsArray());
        Assert.Contains(activities, a => a!["text"]?["expression"]?["value"]?.ToString() == "hello from the designer");

        await studio.RunAsync();
        var viewer = page.Locator("elsa-workflow-instance-viewer");
        await Assertions.Expect(StudioDriver.Visible(viewer, "Finished")).ToBeVisibleAsync();
        // The journal lists both activities, each started and completed.
        await Assertions.Expect(StudioDriver.Visible(viewer, "WriteLine1")).ToBeVisibleAsync();
        await Assertions.Expect(StudioDriver.Visible(viewer, "WriteLine2")).ToBeVisibleAsync();
        await Assertions.Expect(viewer.GetByText("Write Line - Completed").Filter(new() { Visible = true })).ToHaveCountAsync(2);
        await StudioPage.AssertNoBlazorErrorAsync(page);
    });

    [Fact]
    public Task Instance_list_shows_runs_and_opens_the_viewer() => StudioPage.RunAsync(fixture, async (page, _) =>
    {
        using var client = fixture.Server.CreateClient();
        var instanceId = await ApiScenarios.RunHelloWorkflowAsync(client, "Instance list test");

        await page.GotoAsync("studio/workflows/instances", new() { WaitUntil = WaitUntilState.NetworkIdle });
        var list = page.Locator("elsa-workflow-instance-list");
        var row = list.Locator("tr").Filter(new() { HasText = "Instance list test" }).First;
        await row.WaitForAsync();
        await row.ClickAsync();
        await page.WaitForURLAsync(StudioDriver.ViewerUrl());
        Assert.Contains(instanceId, page.Url, StringComparison.Ordinal);
        await Assertions.Expect(StudioDriver.Visible(page.Locator("elsa-workflow-instance-viewer"), "Finished")).ToBeVisibleAsync();
        await StudioPage.AssertNoBlazorErrorAsync(page);
    });
}
