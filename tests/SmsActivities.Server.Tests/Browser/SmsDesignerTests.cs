using System.Text.Json.Nodes;
using Microsoft.Playwright;
using SmsActivities.Server.Tests.Infrastructure;

namespace SmsActivities.Server.Tests.Browser;

/// <summary>
/// Studio with the SMS plug-in: SendSms and WaitForDeliveryReport from the toolbox's SMS category, connected,
/// filled, published and run in sandbox mode (the vendor emulator pushes the delivery report to the server's webhook),
/// and the sample workflows opened in the editor.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class SmsDesignerTests(BrowserFixture fixture)
{
    [Fact]
    public Task SendSms_then_WaitForDeliveryReport_designed_published_run_and_finished() => StudioPage.RunAsync(fixture, async (page, _) =>
    {
        var studio = new StudioDriver(page);
        using var client = fixture.Server.CreateClient();
        var definitionId = await studio.CreateWorkflowAsync("SMS designer test " + Guid.NewGuid().ToString("N")[..6]);

        await studio.DragFromToolboxAsync("SMS", "Send SMS", 150, 150);
        await studio.DragFromToolboxAsync("SMS", "Wait For Delivery Report", 560, 150);
        var send = studio.Node("SendSms1");
        var wait = studio.Node("WaitForDeliveryReport1");
        await studio.ConnectAsync(send, "Sent", wait);

        await studio.SelectAsync(send);
        await studio.AddChipsAsync("Recipients", "+8613800138000");
        await studio.FillInputAsync("Text", "Your order has shipped");

        // WaitForDeliveryReport picks the SendSms it waits for from a drop-down of the workflow's SendSms activities,
        // shown by canvas name, stored by the id Studio generated on drop.
        var draft = JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-definitions/by-definition-id/{definitionId}?versionOptions=Latest"))!;
        var sendNode = draft["root"]!["activities"]!.AsArray().Single(a => (string?)a!["type"] == "SmsActivities.SendSms")!;
        Assert.True(StudioDriver.JsonContains(sendNode.ToJsonString(), "+8613800138000"), "the recipient chip reached the saved model");
        var sendId = (string)sendNode["id"]!;
        await studio.SelectAsync(wait);
        await studio.ChooseAsync("Send Sms Activity Id", $"SendSms1 ({sendId})", sendId);
        await studio.FillInputAsync("Timeout", "00:01:00");

        await studio.PublishAsync();
        await studio.SelectAsync(send);
        await studio.InputField("Recipients").ScrollIntoViewIfNeededAsync();
        await StudioPage.SaveDocScreenshotAsync(page, "studio-designer.png");
        var instanceId = await studio.RunAsync();

        // The emulator's report resumes the instance a moment after the run answered (suspended).
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string? status = null;
        while (DateTime.UtcNow < deadline)
        {
            var state = JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-instances/{instanceId}/execution-state"))!;
            status = (string?)state["workflowSubStatus"];
            if (status is "Finished" or "Faulted") break;
            await Task.Delay(500);
        }
        Assert.Equal("Finished", status);

        await page.ReloadAsync(new() { WaitUntil = WaitUntilState.NetworkIdle });
        var viewer = page.Locator("elsa-workflow-instance-viewer");
        await Assertions.Expect(StudioDriver.Visible(viewer, "Finished")).ToBeVisibleAsync();
        await Assertions.Expect(StudioDriver.Visible(viewer, "SendSms1")).ToBeVisibleAsync();
        await Assertions.Expect(StudioDriver.Visible(viewer, "WaitForDeliveryReport1")).ToBeVisibleAsync();
        await StudioPage.AssertNoBlazorErrorAsync(page);
        await StudioPage.SaveDocScreenshotAsync(page, "studio-instance.png");
    });

    [Theory]
    [InlineData("otp-sms")]
    [InlineData("campaign")]
    [InlineData("reply-router")]
    public Task Sample_workflow_opens_in_the_editor(string definitionId) => StudioPage.RunAsync(fixture, async (page, _) =>
    {
        var studio = new StudioDriver(page);
        await studio.OpenEditorAsync(definitionId);
        using var client = fixture.Server.CreateClient();
        var definition = JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-definitions/by-definition-id/{definitionId}?versionOptions=Latest"))!;
        var activities = definition["root"]!["activities"]!.AsArray();
        Assert.NotEmpty(activities);
        await Assertions.Expect(studio.Nodes.First).ToBeAttachedAsync();
        // The diagram draws its nodes over a few frames: wait for the last one expected before counting (counted at the
        // first one, a loaded CI machine saw a diagram still being drawn).
        if (activities.Count > 1) await Assertions.Expect(studio.Nodes.Nth(activities.Count - 2)).ToBeAttachedAsync();
        Assert.True(await studio.Nodes.CountAsync() >= activities.Count - 1, "the diagram shows the sample's activities");
        Assert.Empty(await page.GetByText("read-only mode").AllAsync());
        await StudioPage.AssertNoBlazorErrorAsync(page);
    }, "Sample_" + definitionId);
}
