using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using SmsActivities.Server.Tests.Api;
using SmsActivities.Server.Tests.Infrastructure;

namespace SmsActivities.Server.Tests.Browser;

/// <summary>
/// Studio's tools on single activities and running instances, clicked in the browser: the editor's activity Test tab
/// (a WriteLine and, in sandbox mode, a SendSms), the instance list's bulk Cancel with "Apply to all matches"
/// (an alteration plan) and the viewer of a faulted instance (journal order, the root's status). The server's state is
/// checked through the API.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class InstanceToolsStudioTests(BrowserFixture fixture)
{
    [Fact]
    public Task Test_tab_runs_a_WriteLine_and_a_sandbox_SendSms_and_shows_their_outcomes_and_outputs() => StudioPage.RunAsync(fixture, async (page, _) =>
    {
        using var client = fixture.Server.CreateClient();
        var send = InstanceToolsApiTests.SendSms("+8613800138002", "Sent from the Test tab");
        send["id"] = "TextCustomer";
        send["name"] = "TextCustomer";
        var model = ApiScenarios.Chain("Test tab " + Guid.NewGuid().ToString("N")[..6], null,
            (new JsonObject
            {
                ["id"] = "SayHello", ["type"] = "Elsa.WriteLine", ["version"] = 1, ["name"] = "SayHello",
                ["text"] = ApiScenarios.Literal("String", "hello from the test tab"),
            }, "Done"),
            (send, "Done"));
        // Side by side on the canvas (without positions Studio stacks them at one spot).
        var x = 0;
        foreach (var activity in model["root"]!["activities"]!.AsArray())
            activity!["metadata"] = new JsonObject { ["designer"] = new JsonObject { ["position"] = new JsonObject { ["x"] = x += 260, ["y"] = 100 } } };
        var definitionId = (string)(await ApiScenarios.SaveAsync(client, model, publish: false))["definitionId"]!;
        var studio = new StudioDriver(page);
        await studio.OpenEditorAsync(definitionId);

        var writeLine = await RunTestTabAsync(studio, "SayHello");
        Assert.True((string?)writeLine["status"] == "Completed" && writeLine["activityState"]?["Text"]?.ToString() == "hello from the test tab", "WriteLine test: " + writeLine);
        await ExpectTestPanelAsync(page, "Completed", "hello from the test tab", "Started → Completed", "[\"Done\"]");

        var sms = await RunTestTabAsync(studio, "TextCustomer");
        Assert.True((string?)sms["status"] == "Completed" && (int?)sms["outputs"]!["SentCount"] == 1, "SendSms test: " + sms);
        await ExpectTestPanelAsync(page, "Completed", "[\"Sent\"]", "SentCount", "+8613800138002");
        await StudioPage.SaveDocScreenshotAsync(page, "studio-test-tab.png");

        // The vendor emulator was called for the tested recipient; no instance was stored.
        var requests = await client.GetStringAsync("_emulators/_requests");
        Assert.True(requests.Contains("13800138002", StringComparison.Ordinal), "emulator requests: " + requests[..Math.Min(requests.Length, 2000)]);
        using var instances = await client.PostAsync("elsa/api/workflow-instances",
            new StringContent(new JsonObject { ["definitionId"] = definitionId }.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(0, (int)JsonNode.Parse(await instances.Content.ReadAsStringAsync())!["totalCount"]!);
    });

    [Fact]
    public Task Bulk_cancel_with_apply_to_all_matches_cancels_every_matching_instance() => StudioPage.RunAsync(fixture, async (page, _) =>
    {
        using var client = fixture.Server.CreateClient();
        var name = "Apply all " + Guid.NewGuid().ToString("N")[..6];
        var definitionId = (string)(await ApiScenarios.SaveAsync(client, ApiScenarios.StartThen(name, InstanceToolsApiTests.Wait(name)), publish: true))["definitionId"]!;
        var matching = new List<string>();
        for (var i = 0; i < 3; i++) matching.Add(await ApiScenarios.ExecuteAsync(client, definitionId));
        var bystanderName = "Bystander " + Guid.NewGuid().ToString("N")[..6];
        var bystanderDefinition = (string)(await ApiScenarios.SaveAsync(client, ApiScenarios.StartThen(bystanderName, InstanceToolsApiTests.Wait(bystanderName)), publish: true))["definitionId"]!;
        var bystander = await ApiScenarios.ExecuteAsync(client, bystanderDefinition);

        var list = page.Locator("elsa-workflow-instance-list");
        await page.GotoAsync("studio/workflows/instances", new() { WaitUntil = WaitUntilState.NetworkIdle });
        await list.Locator("tr").Nth(1).WaitForAsync();
        var searched = page.WaitForResponseAsync(r => r.Request.Method == "POST" && r.Url.EndsWith("/elsa/api/workflow-instances", StringComparison.Ordinal)
                                                      && (r.Request.PostData ?? "").Contains(name, StringComparison.Ordinal));
        await list.GetByPlaceholder("Search on Id").FillAsync(name);
        await searched;
        var rows = list.Locator("tbody tr").Filter(new() { HasText = name });
        await Assertions.Expect(rows).ToHaveCountAsync(3);

        // Only the first row is ticked; "Apply to all matches" extends the cancel to everything the search matches.
        await StudioPage.TickAsync(page, rows.First.Locator("input[type=checkbox]"));
        await list.GetByRole(AriaRole.Button, new() { Name = "Bulk actions" }).ClickAsync();
        await page.Locator(".mud-popover-open .mud-menu-item").Filter(new() { HasTextRegex = new Regex("^\\s*Cancel\\s*$") }).First.ClickAsync();
        var dialog = page.Locator(".mud-dialog").Last;
        await dialog.GetByText("Apply to all matches").ClickAsync();
        var submitted = await page.RunAndWaitForResponseAsync(
            () => dialog.GetByRole(AriaRole.Button, new() { NameRegex = new Regex("^yes$", RegexOptions.IgnoreCase) }).ClickAsync(),
            r => r.Url.EndsWith("/elsa/api/alterations/submit", StringComparison.Ordinal));
        Assert.True(submitted.Ok, $"submit answered {submitted.Status}: {await submitted.TextAsync()}");
        Assert.Contains("\"type\":\"Cancel\"", submitted.Request.PostData ?? "", StringComparison.Ordinal);

        foreach (var id in matching) Assert.Equal("Cancelled", await SubStatusAsync(client, id));
        Assert.Equal("Suspended", await SubStatusAsync(client, bystander));
        await Assertions.Expect(page.GetByText("Workflow instances are being cancelled.")).ToBeVisibleAsync();
    });

    [Fact]
    public Task Viewer_of_a_faulted_instance_lists_Started_before_Faulted_and_shows_the_root_Faulted() => StudioPage.RunAsync(fixture, async (page, _) =>
    {
        using var client = fixture.Server.CreateClient();
        var model = ApiScenarios.StartThen("Faulted viewer " + Guid.NewGuid().ToString("N")[..6], new JsonObject
        {
            ["id"] = "Broken", ["type"] = "Elsa.WriteLine", ["version"] = 1, ["name"] = "Broken",
            ["text"] = new JsonObject { ["typeName"] = "String", ["expression"] = new JsonObject { ["type"] = "JavaScript", ["value"] = "throw new Error('boom')" } },
        });
        var x = 0;
        foreach (var activity in model["root"]!["activities"]!.AsArray())
            activity!["metadata"] = new JsonObject { ["designer"] = new JsonObject { ["position"] = new JsonObject { ["x"] = x += 300, ["y"] = 100 } } };
        var definitionId = (string)(await ApiScenarios.SaveAsync(client, model, publish: true))["definitionId"]!;
        var instanceId = await ApiScenarios.ExecuteAsync(client, definitionId);

        await page.GotoAsync($"studio/workflows/instances/{instanceId}/view", new() { WaitUntil = WaitUntilState.NetworkIdle });
        var viewer = page.Locator("elsa-workflow-instance-viewer");

        // The journal, top to bottom: the faulting activity's "Started" entry comes before its "Faulted" one.
        var started = StudioDriver.Visible(viewer, "Write Line - Started");
        var faulted = StudioDriver.Visible(viewer, "Write Line - Faulted");
        await Assertions.Expect(started).ToBeVisibleAsync();
        await Assertions.Expect(faulted).ToBeVisibleAsync();
        var startedBox = await started.BoundingBoxAsync();
        var faultedBox = await faulted.BoundingBoxAsync();
        Assert.True(startedBox!.Y < faultedBox!.Y, $"journal: 'Write Line - Started' at y={startedBox.Y}, 'Write Line - Faulted' at y={faultedBox.Y} (Started must come first)");

        // With nothing selected the Activity tab shows the root Flowchart: its execution ended Faulted, like the instance.
        var rootPanel = viewer.Locator("table").Filter(new() { HasText = "Node ID" }).Filter(new() { HasText = "Elsa.Flowchart" }).First;
        var statusRow = rootPanel.Locator("tr").Filter(new() { HasTextRegex = new Regex("^\\s*Status\\b") }).First;
        await Assertions.Expect(statusRow).ToContainTextAsync("Faulted");
        await Assertions.Expect(viewer.Locator("tr").Filter(new() { HasTextRegex = new Regex("^\\s*Sub\\s*status") }).First).ToContainTextAsync("Faulted");
        // The details offer no "Open filtered logs" link: it would lead to Elsa's structured logs module, a 404 here.
        await Assertions.Expect(viewer.GetByText("Open filtered logs").First).ToBeHiddenAsync();
        var brokenNode = viewer.Locator(".x6-node").Filter(new() { HasText = "Broken" }).First;
        await Assertions.Expect(brokenNode).ToBeVisibleAsync();
        await StudioPage.SaveDocScreenshotAsync(page, "studio-faulted-instance.png");

        // The faulted activity selected, the journal pane's call stack tab loads its execution's call stack.
        await brokenNode.ClickAsync(new() { Force = true });
        await Assertions.Expect(viewer.Locator("table").Filter(new() { HasText = "Workflow1:Flowchart1:Broken" }).First).ToBeVisibleAsync();
        var stacks = new List<(int Status, string Text)>();
        page.Response += async (_, response) =>
        {
            if (!response.Url.Contains("/call-stack", StringComparison.Ordinal)) return;
            var text = await response.TextAsync();
            lock (stacks) stacks.Add((response.Status, text));
        };
        // The tab sits half under the pane's scroll arrows: clicked as a script would. Studio can still hold the root's
        // execution as the selected one for a moment after the node click (CI once got the Flowchart's call stack), so
        // a stale answer is followed by selecting the node and opening the tab again.
        var callStackTab = viewer.Locator(".mud-tab").Filter(new() { HasTextRegex = new Regex("call stack", RegexOptions.IgnoreCase) }).First;
        bool HasBrokenStack() { lock (stacks) return stacks.Any(s => s.Status == 200 && s.Text.Contains("Workflow1:Flowchart1:Broken", StringComparison.Ordinal)); }
        for (var attempt = 1; attempt <= 4 && !HasBrokenStack(); attempt++)
        {
            if (attempt > 1) await brokenNode.ClickAsync(new() { Force = true });
            await callStackTab.EvaluateAsync("tab => tab.click()");
            for (var waited = 0; waited < 50 && !HasBrokenStack(); waited++) await page.WaitForTimeoutAsync(200);
        }
        lock (stacks) Assert.True(HasBrokenStack(), "call stacks answered: " + string.Join(" | ", stacks.Select(s => $"{s.Status} {s.Text}")));
    });

    [Fact]
    public Task Instance_list_offers_no_Import_and_the_route_says_why() => StudioPage.RunAsync(fixture, async (page, _) =>
    {
        using var client = fixture.Server.CreateClient();
        await ApiScenarios.RunHelloWorkflowAsync(client, "Import menu " + Guid.NewGuid().ToString("N")[..6]);
        var list = page.Locator("elsa-workflow-instance-list");
        await page.GotoAsync("studio/workflows/instances", new() { WaitUntil = WaitUntilState.NetworkIdle });
        await list.Locator("tr").Nth(1).WaitForAsync();
        await list.GetByRole(AriaRole.Button, new() { Name = "Actions", Exact = true }).ClickAsync();
        var items = page.Locator(".mud-popover-open .mud-menu-item");
        await Assertions.Expect(items.Filter(new() { HasText = "Refresh" }).First).ToBeVisibleAsync();
        await Assertions.Expect(items.Filter(new() { HasTextRegex = new Regex("^\\s*Import\\s*$") }).First).ToBeHiddenAsync();
        await page.Keyboard.PressAsync("Escape");

        using var import = await client.PostAsync("elsa/api/bulk-actions/import/workflow-instances", new MultipartFormDataContent());
        Assert.Equal(System.Net.HttpStatusCode.NotImplemented, import.StatusCode);
        Assert.Contains("not supported", await import.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    });

    /// <summary>Selects a node, opens its Test tab, clicks Start and returns the server's answer.</summary>
    private static async Task<JsonObject> RunTestTabAsync(StudioDriver studio, string nodeName)
    {
        var page = studio.Page;
        await studio.SelectAsync(studio.Node(nodeName));
        await page.Locator(".mud-tab").Filter(new() { HasTextRegex = new Regex("^\\s*Test\\s*$") }).First.ClickAsync();
        var response = await page.RunAndWaitForResponseAsync(
            () => page.GetByRole(AriaRole.Button, new() { Name = "Start", Exact = true }).Filter(new() { Visible = true }).First.ClickAsync(),
            r => r.Url.EndsWith("/elsa/api/tests/activities", StringComparison.Ordinal));
        var text = await response.TextAsync();
        Assert.True(response.Ok, $"test answered {response.Status}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>Waits until the Test tab's panels (status, state, outcomes, output) show every text.</summary>
    private static async Task ExpectTestPanelAsync(IPage page, params string[] texts)
    {
        var panel = page.Locator(".mud-tabs-panels").Filter(new() { HasText = "No state was recorded" }).Or(
            page.Locator(".mud-tabs-panels").Filter(new() { HasText = "Outcomes" })).Last;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var shown = "";
        while (DateTime.UtcNow < deadline)
        {
            shown = await panel.InnerTextAsync();
            if (texts.All(t => shown.Contains(t, StringComparison.Ordinal))) return;
            await Task.Delay(250);
        }
        Assert.Fail($"The Test tab shows none of [{string.Join(", ", texts.Where(t => !shown.Contains(t, StringComparison.Ordinal)))}]; it shows: {shown}");
    }

    private static async Task<string?> SubStatusAsync(HttpClient client, string instanceId) =>
        (string?)JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-instances/{instanceId}/execution-state"))!["workflowSubStatus"];
}
