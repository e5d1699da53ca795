using System.IO.Compression;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using SmsActivities.Server.Tests.Infrastructure;

namespace SmsActivities.Server.Tests.Browser;

/// <summary>
/// The list pages' menus, clicked in Studio, checked against the server's state through the API: a definition row's
/// Unpublish, Publish, Export (a download), Delete; the Import button (a file upload); the bulk Delete; an instance
/// row's Cancel and Delete; and the instances' bulk Cancel and bulk Delete.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class ListActionTests(BrowserFixture fixture)
{
    [Fact]
    public Task Definition_list_unpublishes_publishes_exports_imports_and_deletes() => StudioPage.RunAsync(fixture, async (page, _) =>
    {
        using var client = fixture.Server.CreateClient();
        var tag = "List menu " + Guid.NewGuid().ToString("N")[..6];
        var first = (string)(await ApiScenarios.SaveAsync(client, ApiScenarios.HelloModel(tag + " one"), publish: true))["definitionId"]!;
        var second = (string)(await ApiScenarios.SaveAsync(client, ApiScenarios.HelloModel(tag + " two"), publish: true))["definitionId"]!;
        var list = new DefinitionList(page);
        await list.OpenAsync(tag);

        await list.RowActionAsync(tag + " one", "Unpublish");
        await EventuallyAsync(async () => await StatusAsync(client, $"workflow-definitions/by-definition-id/{first}?versionOptions=Published") == HttpStatusCode.NotFound, "the unpublished definition to have no published version");

        await list.RowActionAsync(tag + " one", "Publish");
        await EventuallyAsync(async () => await StatusAsync(client, $"workflow-definitions/by-definition-id/{first}?versionOptions=Published") == HttpStatusCode.OK, "the definition to be published again");

        // Export: Studio asks whether to include consuming workflows, then downloads the server's export.
        var download = await page.RunAndWaitForDownloadAsync(async () =>
        {
            await list.RowActionAsync(tag + " one", "Export");
            await page.Locator(".mud-dialog").GetByRole(AriaRole.Button, new() { NameRegex = ExportButton() }).ClickAsync();
        });
        var exported = JsonNode.Parse(await File.ReadAllTextAsync(await download.PathAsync()))!.AsObject();
        Assert.Equal(first, (string?)exported["definitionId"]);
        Assert.Equal("Elsa.WriteLine", (string?)exported["root"]!["activities"]![1]!["type"]);

        // Import: the exported file, renamed, through Studio's import button (a hidden file input).
        var importedId = "imported-" + Guid.NewGuid().ToString("N")[..8];
        exported["definitionId"] = importedId;
        exported["name"] = tag + " imported";
        await new StudioDriver(page).ImportDefinitionAsync("imported.json", exported.ToJsonString());
        await EventuallyAsync(async () => await StatusAsync(client, $"workflow-definitions/by-definition-id/{importedId}") == HttpStatusCode.OK, "the imported definition to exist");
        var imported = JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-definitions/by-definition-id/{importedId}"))!;
        Assert.Equal(tag + " imported", (string?)imported["name"]);

        await list.RowActionAsync(tag + " one", "Delete");
        await list.ConfirmAsync("Delete");
        await EventuallyAsync(async () => await StatusAsync(client, $"workflow-definitions/by-definition-id/{first}") == HttpStatusCode.NotFound, "the deleted definition to be gone");

        // Bulk actions on the remaining two: unpublish, publish, export (a zip of both), delete.
        string[] rows = [tag + " two", tag + " imported"];
        string[] remaining = [second, importedId];
        Func<string, HttpStatusCode, Task<bool>> all = async (query, status) =>
        {
            foreach (var id in remaining)
                if (await StatusAsync(client, $"workflow-definitions/by-definition-id/{id}{query}") != status) return false;
            return true;
        };
        await list.BulkActionAsync(tag, rows, "Unpublish", confirm: "Unpublish");
        await EventuallyAsync(() => all("?versionOptions=Published", HttpStatusCode.NotFound), "both definitions to be unpublished");
        await list.BulkActionAsync(tag, rows, "Publish", confirm: "Publish");
        await EventuallyAsync(() => all("?versionOptions=Published", HttpStatusCode.OK), "both definitions to be published");

        var zip = await page.RunAndWaitForDownloadAsync(async () =>
        {
            await list.BulkActionAsync(tag, rows, "Export", confirm: null);
            await page.Locator(".mud-dialog").GetByRole(AriaRole.Button, new() { NameRegex = ExportButton() }).ClickAsync();
        });
        using (var archive = ZipFile.OpenRead(await zip.PathAsync()))
        {
            var ids = archive.Entries.Select(e => { using var r = new StreamReader(e.Open()); return (string?)JsonNode.Parse(r.ReadToEnd())!["definitionId"]; });
            Assert.Equal(remaining.Order(), ids.Order());
        }

        await list.BulkActionAsync(tag, rows, "Delete", confirm: "Delete");
        await EventuallyAsync(() => all("", HttpStatusCode.NotFound), "both bulk-deleted definitions to be gone");
        await StudioPage.AssertNoBlazorErrorAsync(page);
    });

    [Fact]
    public Task Instances_are_cancelled_and_deleted_one_by_one_in_bulk_and_per_definition() => StudioPage.RunAsync(fixture, async (page, _) =>
    {
        using var client = fixture.Server.CreateClient();
        var name = "Waiting " + Guid.NewGuid().ToString("N")[..6];
        var definitionId = (string)(await ApiScenarios.SaveAsync(client, WaitingModel(name), publish: true))["definitionId"]!;
        var ids = new List<string>();
        for (var i = 0; i < 6; i++) ids.Add(await ApiScenarios.ExecuteAsync(client, definitionId));
        foreach (var id in ids) Assert.Equal("Suspended", await SubStatus(client, id));

        var list = new InstanceList(page);
        await list.OpenAsync();

        await list.RowActionAsync(ids[0], "Cancel");
        await list.ConfirmAsync("Yes");
        await EventuallyAsync(async () => await SubStatus(client, ids[0]) == "Cancelled", "the instance to be cancelled");

        await list.RowActionAsync(ids[1], "Delete");
        await list.ConfirmAsync("Delete");
        await EventuallyAsync(async () => await StatusAsync(client, $"workflow-instances/{ids[1]}") == HttpStatusCode.NotFound, "the instance to be deleted");

        await list.BulkActionAsync([ids[2], ids[3]], "Cancel", confirm: "Yes");
        await EventuallyAsync(async () => await SubStatus(client, ids[2]) == "Cancelled" && await SubStatus(client, ids[3]) == "Cancelled", "both instances to be cancelled");

        // The definition list's row "Cancel": every running instance of the definition (here the last two).
        var definitions = new DefinitionList(page);
        await definitions.OpenAsync(name);
        await definitions.RowActionAsync(name, "Cancel");
        await definitions.ConfirmAsync("Yes");
        await EventuallyAsync(async () => await SubStatus(client, ids[4]) == "Cancelled" && await SubStatus(client, ids[5]) == "Cancelled", "the definition's running instances to be cancelled");

        await list.BulkActionAsync([ids[0], ids[2], ids[3]], "Delete", confirm: "Delete");
        await EventuallyAsync(async () =>
        {
            foreach (var id in new[] { ids[0], ids[2], ids[3] })
                if (await StatusAsync(client, $"workflow-instances/{id}") != HttpStatusCode.NotFound) return false;
            return true;
        }, "the bulk-deleted instances to be gone");
        await StudioPage.AssertNoBlazorErrorAsync(page);
    });

    /// <summary>Start → an Event that nobody publishes: each run stays suspended until cancelled.</summary>
    private static JsonObject WaitingModel(string name)
    {
        var model = ApiScenarios.HelloModel(name);
        var activities = model["root"]!["activities"]!.AsArray();
        activities[1] = new JsonObject
        {
            ["id"] = "Wait1", ["type"] = "Elsa.Event", ["version"] = 1, ["name"] = "Wait1",
            ["eventName"] = new JsonObject { ["typeName"] = "String", ["expression"] = new JsonObject { ["type"] = "Literal", ["value"] = "never-" + name } },
        };
        model["root"]!["connections"]![0]!["target"]!["activity"] = "Wait1";
        return model;
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient client, string apiPath)
    {
        using var response = await client.GetAsync("elsa/api/" + apiPath);
        return response.StatusCode;
    }

    private static async Task<string?> SubStatus(HttpClient client, string instanceId) =>
        (string?)JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-instances/{instanceId}/execution-state"))!["workflowSubStatus"];

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Timed out waiting for " + what);
            await Task.Delay(250);
        }
    }

    [GeneratedRegex("^export$", RegexOptions.IgnoreCase)]
    private static partial Regex ExportButton();

    /// <summary>A Studio list page (MudTable): rows, their "⋮" menu, row check boxes, the bulk-actions menu, message boxes.</summary>
    private abstract class StudioList(IPage page, string element)
    {
        protected IPage Page { get; } = page;

        protected ILocator Root => Page.Locator(element);

        public ILocator Row(string text) => Root.Locator("tr").Filter(new() { HasText = text }).First;

        /// <summary>
        /// Opens a row's "⋮" menu and clicks an item. The table reloads after each action and may re-render under the
        /// open menu (detaching it): then the menu is closed and opened again.
        /// </summary>
        public async Task RowActionAsync(string rowText, string action)
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    var row = Row(rowText);
                    await row.WaitForAsync();
                    await row.Locator("td").Last.Locator("button").ClickAsync(new() { Timeout = 10_000 });
                    await MenuItem(action).ClickAsync(new() { Timeout = 5_000 });
                    return;
                }
                catch (TimeoutException) when (attempt < 4)
                {
                    await Page.Keyboard.PressAsync("Escape");
                    await Page.WaitForTimeoutAsync(500);
                }
            }
        }

        private async Task SelectRowAsync(string rowText)
        {
            var row = Row(rowText);
            await row.WaitForAsync();
            await StudioPage.TickAsync(Page, row.Locator("input[type=checkbox]"));
        }

        /// <summary>Ticks the rows, picks a bulk action and, when it asks, confirms with the button named <paramref name="confirm"/>.</summary>
        protected async Task SelectAndBulkAsync(IEnumerable<string> rowTexts, string action, string? confirm)
        {
            foreach (var text in rowTexts) await SelectRowAsync(text);
            await Root.GetByRole(AriaRole.Button, new() { Name = "Bulk actions" }).ClickAsync();
            await MenuItem(action).ClickAsync();
            if (confirm is not null) await ConfirmAsync(confirm);
        }

        /// <summary>
        /// Clicks the button of the open dialog whose text matches <paramref name="buttonPattern"/> (a regex alternation).
        /// On a busy machine a click can land while the dialog is still opening and be lost (the dialog stays, no request
        /// is made; seen once in CI): the button is clicked again while the dialog is still there. Every confirmed action
        /// here is idempotent (cancel, delete), so a second click that did count is harmless.
        /// </summary>
        public async Task ConfirmAsync(string buttonPattern)
        {
            var dialogs = Page.Locator(".mud-dialog");
            await dialogs.Last.WaitForAsync();
            var button = dialogs.Last.GetByRole(AriaRole.Button, new() { NameRegex = new Regex($"^({buttonPattern})$", RegexOptions.IgnoreCase) }).First;
            for (var attempt = 1; attempt <= 4; attempt++)
            {
                try
                {
                    await button.ClickAsync(new() { Timeout = 10_000 });
                }
                catch (TimeoutException)
                {
                    if (await dialogs.CountAsync() == 0) return; // the previous click closed it while this one waited
                    if (attempt == 4) throw;
                    continue;
                }
                try
                {
                    await Assertions.Expect(dialogs).ToHaveCountAsync(0, new() { Timeout = 10_000 });
                    return;
                }
                catch (PlaywrightException) when (attempt < 4)
                {
                }
            }
        }

        private ILocator MenuItem(string text) =>
            Page.Locator(".mud-popover-open .mud-menu-item").Filter(new() { HasTextRegex = new Regex("^\\s*" + Regex.Escape(text) + "\\s*$") }).First;
    }

    private sealed class DefinitionList(IPage page) : StudioList(page, "elsa-workflow-definition-list")
    {
        /// <summary>Opens the list filtered by a search term (the search box debounces 1.5 s).</summary>
        public async Task OpenAsync(string searchTerm)
        {
            await Page.GotoAsync("studio/", new() { WaitUntil = WaitUntilState.NetworkIdle });
            var search = Root.GetByPlaceholder("Search");
            var searched = Page.WaitForResponseAsync(r => r.Url.Contains("/elsa/api/workflow-definitions?", StringComparison.Ordinal)
                                                          && r.Url.Contains("SearchTerm=", StringComparison.Ordinal) && !r.Url.Contains("SearchTerm=&", StringComparison.Ordinal));
            await search.FillAsync(searchTerm);
            await searched;
            await Row(searchTerm).WaitForAsync();
        }

        public async Task BulkActionAsync(string searchTerm, IEnumerable<string> rowTexts, string action, string? confirm)
        {
            await OpenAsync(searchTerm);
            await SelectAndBulkAsync(rowTexts, action, confirm);
        }
    }

    private sealed class InstanceList(IPage page) : StudioList(page, "elsa-workflow-instance-list")
    {
        public async Task OpenAsync()
        {
            await Page.GotoAsync("studio/workflows/instances", new() { WaitUntil = WaitUntilState.NetworkIdle });
            await Root.Locator("tr").Nth(1).WaitForAsync();
        }

        public async Task BulkActionAsync(IEnumerable<string> instanceIds, string action, string confirm)
        {
            await OpenAsync();
            await SelectAndBulkAsync(instanceIds, action, confirm);
        }
    }
}
