using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using SmsActivities.Server.Tests.Infrastructure;

namespace SmsActivities.Server.Tests.Browser;

/// <summary>
/// Studio's editors show what is saved: the HTTP endpoint's methods checklist, chips for a literal list input, and a
/// repository definition file imported through Studio's own importer as it is.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class StudioEditorTests(BrowserFixture fixture)
{
    [Fact]
    public Task Otp_sms_shows_POST_checked_and_the_failover_chip() => StudioPage.RunAsync(fixture, async (page, _) =>
    {
        var studio = new StudioDriver(page);
        await studio.OpenEditorAsync("otp-sms");
        await studio.ZoomToFitAsync();

        await studio.SelectAsync(studio.Node("POST otp/send"));
        var methods = studio.Field("Supported Methods");
        await Assertions.Expect(methods.Locator(".mud-checkbox")).ToHaveCountAsync(7);
        await Assertions.Expect(CheckBox(methods, "POST")).ToBeCheckedAsync();
        await Assertions.Expect(CheckBox(methods, "GET")).Not.ToBeCheckedAsync();

        await studio.SelectAsync(studio.Node("SendOtp"));
        var failover = studio.Field("Failover");
        await Assertions.Expect(failover.Locator(".mud-chip").Filter(new() { HasText = "tencent" })).ToBeVisibleAsync();
    });

    [Fact]
    public Task Workflow_file_otp_sms_imports_through_Studio_as_it_is() => StudioPage.RunAsync(fixture, async (page, _) =>
    {
        using var client = fixture.Server.CreateClient();
        var before = (int)JsonNode.Parse(await client.GetStringAsync("elsa/api/workflow-definitions/by-definition-id/otp-sms?versionOptions=Latest"))!["version"]!;
        var file = Path.Combine(StudioFiles.WorkflowsFolder, "otp-sms.json");
        await page.GotoAsync("studio/", new() { WaitUntil = WaitUntilState.NetworkIdle });

        var imported = page.WaitForResponseAsync(r => r.Request.Method == "POST" && r.Url.EndsWith("/elsa/api/workflow-definitions/import", StringComparison.Ordinal));
        await new StudioDriver(page).ImportDefinitionAsync("otp-sms.json", await File.ReadAllTextAsync(file));
        var response = await imported;
        Assert.Equal((int)HttpStatusCode.OK, response.Status);

        var latest = JsonNode.Parse(await client.GetStringAsync("elsa/api/workflow-definitions/by-definition-id/otp-sms?versionOptions=Latest"))!;
        Assert.Equal(before + 1, (int)latest["version"]!);
        Assert.True((bool)latest["isPublished"]!);
        await Assertions.Expect(page.GetByText("Invalid schema")).ToHaveCountAsync(0);
    });

    private static ILocator CheckBox(ILocator field, string label) =>
        field.Locator(".mud-checkbox").Filter(new() { HasText = label }).Locator("input[type=checkbox]");
}
