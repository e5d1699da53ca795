using Microsoft.Playwright;
using SmsActivities.Server.Tests.Infrastructure;

namespace SmsActivities.Server.Tests.Browser;

/// <summary>The real Elsa Studio 3.8.2 in headless Chromium against the running server.</summary>
[Collection(BrowserCollection.Name)]
public sealed class StudioShellTests(BrowserFixture fixture)
{
    [Fact]
    public Task Studio_loads_and_shows_the_definition_list() => StudioPage.RunAsync(fixture, async (page, _) =>
    {
        await page.GotoAsync("studio/", new() { WaitUntil = WaitUntilState.NetworkIdle });
        await page.Locator("elsa-workflow-definition-list").WaitForAsync();
        // Studio's own UI, rendered by Blazor inside the element: the "Create workflow" button, enabled
        // (it is disabled when the list response lacks the bulk-publish link).
        var create = page.GetByRole(AriaRole.Button, new() { Name = "Create workflow" });
        await create.WaitForAsync();
        Assert.True(await create.IsEnabledAsync());
        await StudioPage.AssertNoBlazorErrorAsync(page);
    });
}
