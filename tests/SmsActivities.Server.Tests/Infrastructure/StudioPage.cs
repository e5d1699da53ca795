using System.Runtime.CompilerServices;
using Microsoft.Playwright;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>
/// Runs a browser test in a fresh page; when it fails, saves a screenshot (and the browser console) under
/// <c>TestResults/screenshots/</c> next to the test assembly and names it in the failure.
/// </summary>
public static class StudioPage
{
    public static string ScreenshotDirectory => Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    public static async Task RunAsync(BrowserFixture fixture, Func<IPage, List<string>, Task> test, [CallerMemberName] string name = "")
    {
        // Studio boots a .NET WebAssembly runtime per page load; the shared CI cores make that take seconds.
        Assertions.SetDefaultExpectTimeout(60_000);
        await using var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = fixture.Server.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1600, Height = 1000 },
        }).ConfigureAwait(false);
        context.SetDefaultTimeout(60_000);
        var page = await context.NewPageAsync().ConfigureAwait(false);
        var console = new List<string>();
        page.Console += (_, message) => { lock (console) console.Add($"[{message.Type}] {message.Text}"); };
        page.PageError += (_, error) => { lock (console) console.Add($"[pageerror] {error}"); };
        var apiNotFound = new List<string>();
        page.Response += (_, response) =>
        {
            if (response.Status == 404 && response.Url.Contains("/elsa/api/", StringComparison.Ordinal))
                lock (apiNotFound) apiNotFound.Add($"{response.Request.Method} {response.Url}");
        };
        try
        {
            await test(page, console).ConfigureAwait(false);
            // Every test, whatever it drove: Studio met no route it needs missing and crashed nowhere.
            await AssertNoBlazorErrorAsync(page).ConfigureAwait(false);
            lock (apiNotFound) Assert.True(apiNotFound.Count == 0, "Studio got 404 from the API: " + string.Join(", ", apiNotFound));
        }
        catch (Exception e)
        {
            Directory.CreateDirectory(ScreenshotDirectory);
            var file = Path.Combine(ScreenshotDirectory, $"{name}-{DateTime.UtcNow:HHmmss}.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true }).ConfigureAwait(false);
            string log;
            lock (console) log = string.Join(Environment.NewLine, console.TakeLast(60));
            await File.WriteAllTextAsync(Path.ChangeExtension(file, ".console.txt"), log).ConfigureAwait(false);
            throw new InvalidOperationException($"{e.Message}{Environment.NewLine}Screenshot: {file}{Environment.NewLine}Console (last lines):{Environment.NewLine}{log}", e);
        }
    }

    /// <summary>
    /// Ticks a list row's checkbox until it reads checked. Studio's lists re-render their rows while they refresh, so a
    /// click can land on a row being replaced ("Element is not visible", seen in CI on both the definition and the
    /// instance list); the box is looked up again on each try.
    /// </summary>
    public static async Task TickAsync(IPage page, ILocator box)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await box.CheckAsync(new() { Force = true, Timeout = 10_000 }).ConfigureAwait(false);
                await Assertions.Expect(box).ToBeCheckedAsync(new() { Timeout = 5_000 }).ConfigureAwait(false);
                return;
            }
            catch (Exception) when (attempt < 5)
            {
                await page.WaitForTimeoutAsync(500).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Saves a screenshot for the README when <c>SMSACTIVITIES_DOC_SCREENSHOTS</c> names a folder (e.g. <c>docs</c>):
    /// <c>SMSACTIVITIES_DOC_SCREENSHOTS=$PWD/docs dotnet test … --filter FullyQualifiedName~SendSms_then</c>.
    /// </summary>
    public static async Task SaveDocScreenshotAsync(IPage page, string fileName)
    {
        if (Environment.GetEnvironmentVariable("SMSACTIVITIES_DOC_SCREENSHOTS") is not { Length: > 0 } folder) return;
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, fileName) }).ConfigureAwait(false);
    }

    /// <summary>Blazor's error bar ("An unhandled error has occurred") is shown when a component crashes.</summary>
    public static async Task AssertNoBlazorErrorAsync(IPage page)
    {
        var visible = await page.Locator("#blazor-error-ui").IsVisibleAsync().ConfigureAwait(false);
        Assert.False(visible, "Blazor reported an unhandled error (red bar)");
    }
}
