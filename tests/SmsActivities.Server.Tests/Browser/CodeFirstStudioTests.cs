using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Server.Tests.Samples;

namespace SmsActivities.Server.Tests.Browser;

/// <summary>
/// Code-first workflows (the <c>-code</c> samples, registered in memory) in Studio: listed next to the stored ones,
/// opened read-only (Studio's version viewer), run through their own trigger, and their instance shown finished in
/// the instance list and viewer with its journal.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class CodeFirstStudioTests(BrowserFixture fixture)
{
    private const string DefinitionId = "otp-sms-code";
    private const string Name = "OTP by SMS (C#)";

    [Fact]
    public Task Code_first_workflow_is_listed_opened_read_only_run_and_its_instance_viewed() => StudioPage.RunAsync(fixture, async (page, _) =>
    {
        var studio = new StudioDriver(page);
        using var client = fixture.Server.CreateClient();

        // Listed: a row in the definition list, which opens it in the editor.
        await page.GotoAsync("studio/", new() { WaitUntil = WaitUntilState.NetworkIdle });
        var list = page.Locator("elsa-workflow-definition-list");
        var search = list.GetByPlaceholder("Search");
        await search.FillAsync("(C#)");
        await search.PressAsync("Enter");
        var row = list.Locator("tr").Filter(new() { HasText = Name }).First;
        await row.WaitForAsync();
        await row.ClickAsync();
        await page.WaitForURLAsync(StudioDriver.EditorUrl());
        Assert.Contains(DefinitionId, page.Url, StringComparison.Ordinal);

        // Read-only: Studio's banner and version viewer (Run and Export, no publish), every activity of the C# flowchart drawn.
        var definition = JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-definitions/by-definition-id/{DefinitionId}"))!;
        var activities = definition["root"]!["activities"]!.AsArray();
        await Assertions.Expect(studio.Node("SendOtp")).ToBeAttachedAsync();
        await Assertions.Expect(studio.Nodes).ToHaveCountAsync(activities.Count); // the canvas draws its nodes one after another
        await Assertions.Expect(page.GetByText("read-only mode")).ToBeVisibleAsync();
        Assert.Equal(0, await page.Locator(".mud-button-group-root button.mud-primary-text").CountAsync());
        await StudioPage.AssertNoBlazorErrorAsync(page);

        // Run through its own trigger (an HTTP endpoint), verify the code read off the emulated handset.
        const string mobile = "+8613800138077";
        using var send = await client.PostAsJsonAsync("workflows/code/otp/send", new { mobile });
        var verifyUrl = (string)JsonNode.Parse(await send.Content.ReadAsStringAsync())!["verifyUrl"]!;
        var instanceId = SandboxServer.InstanceIdIn(verifyUrl);
        var inbox = JsonNode.Parse(await client.GetStringAsync($"_emulators/_handset/{Uri.EscapeDataString(mobile)}/messages"))!.AsArray();
        var code = SandboxServer.CodeIn((string)inbox.Last()!["text"]!);
        using var verified = await client.PostAsJsonAsync(verifyUrl.TrimStart('/'), new { code });
        Assert.True(verified.IsSuccessStatusCode, $"verify answered {(int)verified.StatusCode}");

        // The instance list shows it under the code-first workflow's name and opens the viewer.
        await page.GotoAsync("studio/workflows/instances", new() { WaitUntil = WaitUntilState.NetworkIdle });
        var instanceRow = page.Locator("elsa-workflow-instance-list tr").Filter(new() { HasText = instanceId[..8] }).First;
        await instanceRow.WaitForAsync();
        await Assertions.Expect(instanceRow).ToContainTextAsync(Name);
        await instanceRow.ClickAsync();
        await page.WaitForURLAsync(StudioDriver.ViewerUrl());
        Assert.Contains(instanceId, page.Url, StringComparison.Ordinal);
        var viewer = page.Locator("elsa-workflow-instance-viewer");
        await Assertions.Expect(StudioDriver.Visible(viewer, "Finished")).ToBeVisibleAsync();
        await Assertions.Expect(StudioDriver.Visible(viewer, "SendOtp")).ToBeVisibleAsync();
        await Assertions.Expect(viewer.Locator(".x6-node").First).ToBeAttachedAsync();
        await StudioPage.AssertNoBlazorErrorAsync(page);
    });
}
