using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>
/// Drives Elsa Studio's UI the way a designer does: the create dialog, the toolbox (HTML5 drag and drop onto the
/// X6 canvas), port-to-port connections, the input panel, the publish and run buttons.
/// Selectors are Studio 3.8.2's markup (MudBlazor + AntV X6).
/// </summary>
public sealed partial class StudioDriver(IPage page)
{
    public IPage Page { get; } = page;

    public ILocator Canvas => Page.Locator(".x6-graph-svg").First;

    public ILocator Nodes => Page.Locator(".x6-node");

    /// <summary>Opens the definition list, creates a flowchart workflow and waits for its editor. Returns the definition id.</summary>
    public async Task<string> CreateWorkflowAsync(string name)
    {
        // Let the list finish loading first: its late re-render can drop the create dialog (then try again).
        await Page.GotoAsync("studio/", new() { WaitUntil = WaitUntilState.NetworkIdle });
        var dialog = Page.Locator(".mud-dialog").Filter(new() { HasText = "New workflow" });
        var nameBox = dialog.GetByLabel("Name");
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (!await dialog.IsVisibleAsync())
                    await Page.GetByRole(AriaRole.Button, new() { Name = "Create workflow" }).ClickAsync();
                await nameBox.FillAsync(name, new() { Timeout = 10_000 });
                await nameBox.PressAsync("Tab", new() { Timeout = 10_000 });
                await Page.WaitForTimeoutAsync(1000); // the name is checked with the server while typing
                if (await nameBox.InputValueAsync(new() { Timeout = 5_000 }) == name) break;
            }
            catch (TimeoutException) when (attempt < 4)
            {
            }
        }
        var created = Page.WaitForResponseAsync(r => r.Request.Method == "POST" && r.Url.EndsWith("/elsa/api/workflow-definitions", StringComparison.Ordinal));
        await dialog.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^ok$", RegexOptions.IgnoreCase) }).ClickAsync();
        Assert.True((await created).Ok, "creating the workflow failed");
        await Page.WaitForURLAsync(EditorUrl());
        await Canvas.WaitForAsync();
        return EditorUrl().Match(Page.Url).Groups[1].Value;
    }

    public async Task OpenEditorAsync(string definitionId)
    {
        await Page.GotoAsync($"studio/workflows/definitions/{Uri.EscapeDataString(definitionId)}/edit", new() { WaitUntil = WaitUntilState.NetworkIdle });
        await Canvas.WaitForAsync();
    }

    /// <summary>Expands a toolbox category and drags an activity (by its display name) onto the canvas.</summary>
    public async Task DragFromToolboxAsync(string category, string activityDisplayName, float x, float y)
    {
        var item = ToolboxItem(activityDisplayName);
        if (!await item.IsVisibleAsync())
        {
            await Page.Locator(".mud-expand-panel-header").Filter(new() { HasTextRegex = new Regex("^\\s*" + Regex.Escape(category) + "\\s*$") }).First.ClickAsync();
            await item.WaitForAsync();
            await Page.WaitForTimeoutAsync(800); // the panel's expand animation moves the items
        }
        await item.ScrollIntoViewIfNeededAsync();
        var before = await Nodes.CountAsync();
        await item.DragToAsync(Canvas, new() { TargetPosition = new() { X = x, Y = y } });
        await Assertions.Expect(Nodes).ToHaveCountAsync(before + 1);
    }

    public ILocator ToolboxItem(string activityDisplayName) =>
        Page.Locator("div[draggable=true]").Filter(new() { HasTextRegex = new Regex("^\\s*" + Regex.Escape(activityDisplayName) + "\\s*$") });

    public ILocator Node(string textInNode) => Nodes.Filter(new() { HasText = textInNode }).First;

    /// <summary>Drags from an out-port of one node to the in-port of another.</summary>
    public async Task ConnectAsync(ILocator source, string outcome, ILocator target)
    {
        var edges = Page.Locator(".x6-edge");
        var before = await edges.CountAsync();
        var from = await source.Locator($".x6-port-body[port=\"{outcome}\"]").BoundingBoxAsync() ?? throw new InvalidOperationException($"no port {outcome}");
        var to = await target.Locator(".x6-port-body[port=\"In\"]").BoundingBoxAsync() ?? throw new InvalidOperationException("no In port");
        await Page.Mouse.MoveAsync(from.X + from.Width / 2, from.Y + from.Height / 2);
        await Page.Mouse.DownAsync();
        await Page.Mouse.MoveAsync(to.X + to.Width / 2, to.Y + to.Height / 2, new() { Steps = 12 });
        await Page.Mouse.UpAsync();
        await Assertions.Expect(edges).ToHaveCountAsync(before + 1);
    }

    /// <summary>The canvas toolbar's first button, "Zoom to fit": brings every node of a wide flowchart into view.</summary>
    public async Task ZoomToFitAsync()
    {
        await Page.Locator(".mud-tooltip-root > button").Filter(new() { Visible = true }).First.ClickAsync();
        await Page.WaitForTimeoutAsync(500);
    }

    /// <summary>Selects a node so that its inputs show in the panel below the canvas.</summary>
    public async Task SelectAsync(ILocator node)
    {
        await node.ClickAsync(new() { Force = true });
    }

    /// <summary>An input's editor in the activity panel, found by its label (the whole control: chips, check boxes, …).</summary>
    public ILocator Field(string label) =>
        Page.Locator(".mud-input-control").Filter(new() { Has = Page.Locator($"legend:text-is(\"{label}\")") }).First;

    /// <summary>The text box of an input editor in the activity panel (singleline, multiline, multitext, …).</summary>
    public ILocator InputField(string label) => Field(label).Locator("input:visible, textarea:visible").First;

    /// <summary>Imports a definition file through the definition list's Import item (next to "Create workflow": a file upload).</summary>
    public async Task ImportDefinitionAsync(string fileName, string json)
    {
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create workflow" }).Locator("xpath=following-sibling::*[1]").Locator("button").First.ClickAsync();
        var chooser = await Page.RunAndWaitForFileChooserAsync(() => Page.Locator(".mud-popover-open").GetByText("Import", new() { Exact = true }).ClickAsync());
        await chooser.SetFilesAsync(new FilePayload { Name = fileName, MimeType = "application/json", Buffer = System.Text.Encoding.UTF8.GetBytes(json) });
    }

    /// <summary>Types into an input and waits for Studio's auto-save of the change to reach the server.</summary>
    public async Task FillInputAsync(string label, string value)
    {
        var field = InputField(label);
        var saved = Page.WaitForResponseAsync(IsSave(value));
        await field.FillAsync(value);
        await field.PressAsync("Tab");
        var response = await saved;
        Assert.True(response.Ok, $"auto-save answered {response.Status}");
    }

    private static Func<IResponse, bool> IsSave(string containing) => r =>
        r.Request.Method == "POST" && r.Url.EndsWith("/elsa/api/workflow-definitions", StringComparison.Ordinal)
        && JsonContains(r.Request.PostData, containing);

    /// <summary>
    /// Whether a JSON text holds <paramref name="value"/> in one of its strings, also inside strings that are JSON
    /// themselves: Studio's multitext editor saves an Object expression whose value is a JSON array as text, with
    /// characters such as <c>+</c> escaped (<c>"[\"\\u002B86…\"]"</c>).
    /// </summary>
    public static bool JsonContains(string? json, string value)
    {
        if (string.IsNullOrEmpty(json)) return false;
        try
        {
            return Strings(JsonNode.Parse(json)).Any(s => s.Contains(value, StringComparison.Ordinal) || (s.StartsWith('[') || s.StartsWith('{')) && JsonContains(s, value));
        }
        catch (JsonException)
        {
            return false;
        }

        static IEnumerable<string> Strings(JsonNode? node) => node switch
        {
            JsonObject o => o.SelectMany(p => Strings(p.Value)),
            JsonArray a => a.SelectMany(Strings),
            JsonValue v when v.TryGetValue<string>(out var s) => [s],
            _ => [],
        };
    }

    /// <summary>Text that is shown (Studio keeps hidden copies of many labels).</summary>
    public static ILocator Visible(ILocator scope, string text) =>
        scope.GetByText(text, new() { Exact = true }).Filter(new() { Visible = true }).First;

    /// <summary>
    /// A multitext (chips) editor (Studio's <c>MultiText</c>: a CodeBeam <c>MudChipField</c>). Like a user: each value
    /// is typed key by key (the field binds on key events; a programmatic fill leaves its bound value empty) and
    /// confirmed with Enter, which turns it into a chip and makes Studio save the list as an Object expression
    /// (a JSON array as text). Waits for the auto-save that carries the last value.
    /// </summary>
    public async Task AddChipsAsync(string label, params string[] values)
    {
        var field = InputField(label);
        foreach (var value in values)
        {
            var saved = Page.WaitForResponseAsync(IsSave(value));
            await field.ClickAsync();
            await field.PressSequentiallyAsync(value, new() { Delay = 20 });
            await field.PressAsync("Enter");
            var response = await saved;
            Assert.True(response.Ok, $"auto-save answered {response.Status}");
        }
    }

    /// <summary>Clicks the toolbar's publish button and waits for the server to confirm the published save.</summary>
    public async Task PublishAsync()
    {
        var response = await Page.RunAndWaitForResponseAsync(
            () => Page.Locator(".mud-button-group-root button.mud-primary-text").First.ClickAsync(),
            r => r.Request.Method == "POST" && r.Url.EndsWith("/elsa/api/workflow-definitions", StringComparison.Ordinal)
                 && (r.Request.PostData ?? "").Contains("\"publish\":true", StringComparison.Ordinal));
        Assert.True(response.Ok, $"publish answered {response.Status}: {await response.TextAsync()}");
    }

    /// <summary>Clicks Run; Studio navigates to the instance viewer (the host page follows). Returns the instance id.</summary>
    public async Task<string> RunAsync()
    {
        await Page.Locator("button.mud-success-text").First.ClickAsync();
        await Page.WaitForURLAsync(ViewerUrl());
        await Page.Locator("elsa-workflow-instance-viewer").WaitForAsync();
        return ViewerUrl().Match(Page.Url).Groups[1].Value;
    }

    [GeneratedRegex("/studio/workflows/definitions/([^/]+)/edit$")]
    public static partial Regex EditorUrl();

    [GeneratedRegex("/studio/workflows/instances/([^/]+)/view$")]
    public static partial Regex ViewerUrl();
}
