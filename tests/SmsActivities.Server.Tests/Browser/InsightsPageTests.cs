using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using SmsActivities.Emulators;
using SmsActivities.Persistence;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Server.Tests.Samples;
using Xunit.Abstractions;

namespace SmsActivities.Server.Tests.Browser;

/// <summary>
/// The insights page in headless Chromium: the campaign sample sent to 1,000 sandbox handsets, with scripted failures
/// and late reports, watched filling in; and a seeded 100,000-message campaign, timed.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class InsightsPageTests(BrowserFixture fixture, ITestOutputHelper output)
{
    private static readonly string[] Tiles = ["messages", "sent", "accepted", "rejected", "indoubt", "delivered", "failed", "awaiting", "replies", "optouts"];

    [Fact]
    public Task Campaign_funnel_fills_in_while_it_runs_and_matches_the_records() => StudioPage.RunAsync(fixture, async (page, console) =>
    {
        var failures = WatchFailures(page);
        var yunpian = fixture.Server.Services.GetRequiredService<EmulatorSet>().Yunpian;
        var recipients = Enumerable.Range(0, 1000).Select(i => $"+86137{Random.Shared.Next(100, 999)}{i:D5}").ToArray();
        // Reports come 5 to 20 s after the send (40 failed, 30 failed with another code), the last 200 from 40 s on: the
        // page is open before any report and must be seen to change. Spread out (about 50 pushes a second, one report
        // each), as a vendor's reports come, rather than a thousand pushes at one instant.
        TimeSpan Spread(int i, double from) => TimeSpan.FromSeconds(from + i % 800 * 0.02);
        for (var i = 0; i < recipients.Length; i++)
        {
            var plan = i switch
            {
                < 40 => DeliveryPlan.Fail("UNDELIV", Spread(i, 5)),
                < 70 => DeliveryPlan.Fail("MK:0005", Spread(i, 5)),
                < 800 => DeliveryPlan.Deliver(Spread(i, 5)),
                _ => DeliveryPlan.Deliver(Spread(i, 40)),
            };
            yunpian.Script.For(recipients[i], plan);
        }

        // The sample answers once its SendSms is done; the page is opened as soon as the send records exist.
        using var client = fixture.Server.CreateClient(withApiKey: false);
        client.Timeout = TimeSpan.FromMinutes(5);
        var posting = client.PostAsJsonAsync("workflows/campaign", new { recipients, text = "Spring sale: 20% off this weekend." });
        var firstRecord = await SandboxServer.EventuallyAsync("the campaign's send records", async () =>
            (await ExpectedFunnel.RowsAsync(fixture.Server.Services, r => r.Mobile == recipients[0])).Rows.FirstOrDefault(), TimeSpan.FromSeconds(120));
        var instanceId = firstRecord.InstanceId!;

        await page.GotoAsync($"insights?campaign={instanceId}");
        await page.GetByTestId("campaign").WaitForAsync();
        var early = await WaitForTilesAsync(page, t => t["messages"] >= 1000, "the campaign's 1,000 messages");
        await WaitForTilesAsync(page, t => t["delivered"] > 0 && t["awaiting"] > 0, "some reports in and some awaited");
        var running = await page.GetByTestId("progress").TextContentAsync();
        Assert.True(running!.Contains("ETA", StringComparison.Ordinal), "progress while running: " + running);

        // Later, more reports are in: the page has moved on by itself.
        var later = await WaitForTilesAsync(page, t => t["delivered"] + t["failed"] > early["delivered"] + early["failed"], "more reports than at first", TimeSpan.FromMinutes(3));
        Assert.True(later["delivered"] + later["failed"] > early["delivered"] + early["failed"], $"reports at first {early["delivered"] + early["failed"]}, later {later["delivered"] + later["failed"]}");

        // The page's numbers are the records' numbers: read the records, let the page refresh twice, read the tiles and
        // the records again; while reports still arrive, try again until the records held still around a refresh.
        var (shown, expected) = await MatchedAsync(page, instanceId);
        Assert.True(shown == expected, $"page: {shown}{Environment.NewLine}records: {expected}");
        Assert.True(expected.Messages >= 1000 && expected.Delivered + expected.Failed > 0, "records: " + expected);

        using (var started = await posting)
        {
            var body = await started.Content.ReadAsStringAsync();
            Assert.True(started.StatusCode == HttpStatusCode.Accepted, $"campaign start answered {(int)started.StatusCode}: {body}");
        }
        await page.GetByTestId("campaign-codes").GetByText("UNDELIV").WaitForAsync(new() { Timeout = 180_000 });
        Assert.Equal($"/studio/workflows/instances/{instanceId}/view", await page.GetByTestId("studio-link").GetAttributeAsync("href"));
        await StudioPage.SaveDocScreenshotAsync(page, "insights.png");

        // A failed recipient leads to its send record.
        await page.GetByTestId("record-link").First.ClickAsync();
        var record = page.GetByTestId("record");
        await record.WaitForAsync();
        var text = await record.InnerTextAsync();
        Assert.True(text.Contains("Failed", StringComparison.Ordinal) && recipients.Take(70).Any(m => text.Contains(m, StringComparison.Ordinal)), "record dialog: " + text);

        AssertClean(console, failures);
    });

    /// <summary>
    /// A seeded campaign's page, timed (printed, not asserted: speed is not a pass/fail matter on a shared machine).
    /// 10,000 messages in the suite; <c>SMSACTIVITIES_INSIGHTS_RECORDS=100000</c> for the figure in the README.
    /// </summary>
    [Fact]
    public Task A_large_seeded_campaign_renders_with_the_right_numbers() => StudioPage.RunAsync(fixture, async (page, console) =>
    {
        var failures = WatchFailures(page);
        var size = int.TryParse(Environment.GetEnvironmentVariable("SMSACTIVITIES_INSIGHTS_RECORDS"), out var n) && n > 0 ? n : 10_000;
        var instanceId = "seeded-" + Guid.NewGuid().ToString("N");
        var seeding = Stopwatch.StartNew();
        var seeded = await SeedAsync(instanceId, size);
        output.WriteLine($"seeded {size:N0} send records in {seeding.ElapsedMilliseconds} ms");

        var timings = new List<string>();
        for (var load = 1; load <= 3; load++)
        {
            var clock = Stopwatch.StartNew();
            await page.GotoAsync($"insights?campaign={instanceId}");
            await page.WaitForFunctionAsync("() => Number(document.body.dataset.rendered) >= 1");
            var wall = clock.ElapsedMilliseconds;
            var inPage = await page.EvaluateAsync<string>("() => document.body.dataset.renderMs");
            timings.Add($"load {load}: {wall} ms from navigation to the drawn page (data requests and charts {inPage} ms)");
        }
        foreach (var line in timings) output.WriteLine($"{size:N0}-message campaign page, " + line);

        var tiles = await ReadTilesAsync(page);
        var shown = $"messages {tiles["messages"]}, delivered {tiles["delivered"]}, failed {tiles["failed"]}, refused {tiles["rejected"]}, in doubt {tiles["indoubt"]}, awaiting {tiles["awaiting"]}, replies {tiles["replies"]}, opt-outs {tiles["optouts"]}";
        var expected = $"messages {seeded.Messages}, delivered {seeded.Delivered}, failed {seeded.Failed}, refused {seeded.Rejected}, in doubt {seeded.InDoubt}, awaiting {seeded.AwaitingReport}, replies {seeded.Replies}, opt-outs {seeded.OptOuts}";
        Assert.Equal(expected, shown);
        AssertClean(console, failures);
    });

    /// <summary>Writes a campaign's records the way the plug-in leaves them, spread over vendors, outcomes, codes and latencies.</summary>
    private async Task<ExpectedFunnel> SeedAsync(string instanceId, int count)
    {
        var factory = fixture.Server.Services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>();
        var start = DateTimeOffset.UtcNow.AddMinutes(-20).UtcTicks;
        var random = new Random(7);
        var rows = new List<SendRecordEntity>(count);
        var reports = new List<DeliveryReportEntity>(count);
        for (var i = 0; i < count; i++)
        {
            var roll = random.Next(1000);
            var created = start + i * TimeSpan.TicksPerMillisecond * 10;
            var row = new SendRecordEntity
            {
                Vendor = i % 10 < 7 ? "yunpian" : "tencent", Mobile = $"+8615{i:D9}", InstanceId = instanceId, ActivityId = "Send1", DefinitionId = "campaign",
                IdempotencyKey = instanceId + "-send", CreatedAtTicks = created, Attempts = 1,
                Status = roll < 10 ? SendRecordStatus.Rejected : roll < 15 ? SendRecordStatus.InDoubt : SendRecordStatus.Accepted,
            };
            if (row.Status == SendRecordStatus.Rejected) row.VendorCode = roll % 2 == 0 ? "33" : "FailedOperation.PhoneNumberInBlacklist";
            if (row.Status == SendRecordStatus.Accepted)
            {
                row.MessageId = $"{instanceId}-{i}";
                row.Fee = 0.05m;
                if (roll < 950)
                    reports.Add(new DeliveryReportEntity
                    {
                        Vendor = row.Vendor, MessageId = row.MessageId, Status = roll < 45 ? "Failed" : "Delivered",
                        Code = roll < 45 ? (roll % 3 == 0 ? "UNDELIV" : "MK:0005") : null,
                        ReceivedAtTicks = created + TimeSpan.TicksPerMillisecond * random.Next(300, 30_000),
                    });
                if (roll % 50 == 0) row.RepliedAtTicks = created + TimeSpan.TicksPerMinute;
                row.OptedOut = roll % 500 == 0;
            }
            rows.Add(row);
        }
        var byMessage = reports.ToDictionary(d => (d.Vendor, d.MessageId));
        for (var i = 0; i < count; i += 20_000)
        {
            await using var db = await factory.CreateDbContextAsync();
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            var chunk = rows.Skip(i).Take(20_000).ToArray();
            db.SendRecords.AddRange(chunk);
            db.DeliveryReports.AddRange(reports.Skip(i).Take(20_000));
            await db.SaveChangesAsync();
            // The insights cells as the record store keeps them (seeding through it, step by step, would take minutes).
            var cells = new InsightDelta();
            foreach (var row in chunk) cells.Add(row, InsightRollup.ReportOf(byMessage, row));
            await cells.ApplyAsync(db, CancellationToken.None);
        }
        return ExpectedFunnel.Of(rows, byMessage);
    }

    private async Task<(ExpectedFunnel Shown, ExpectedFunnel Records)> MatchedAsync(IPage page, string instanceId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            var before = await ExpectedFunnel.ForInstanceAsync(fixture.Server.Services, instanceId);
            var rendered = await page.EvaluateAsync<int>("() => Number(document.body.dataset.rendered) || 0");
            await page.WaitForFunctionAsync($"() => Number(document.body.dataset.rendered) >= {rendered + 2}");
            var t = await ReadTilesAsync(page);
            var after = await ExpectedFunnel.ForInstanceAsync(fixture.Server.Services, instanceId);
            var shown = new ExpectedFunnel(t["messages"], t["sent"], t["accepted"], t["rejected"], t["indoubt"], t["delivered"], t["failed"],
                t["awaiting"], t["replies"], t["optouts"], after.Fees);
            if (before == after || DateTime.UtcNow > deadline) return (shown, after);
        }
    }

    private static async Task<Dictionary<string, int>> ReadTilesAsync(IPage page)
    {
        var tiles = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in Tiles)
            tiles[name] = int.Parse(await page.GetByTestId("funnel-" + name).Locator(".n").TextContentAsync() ?? "", System.Globalization.CultureInfo.InvariantCulture);
        return tiles;
    }

    /// <summary>Reads the funnel tiles until <paramref name="condition"/> holds (the page re-reads the numbers every two seconds).</summary>
    private static async Task<Dictionary<string, int>> WaitForTilesAsync(IPage page, Func<Dictionary<string, int>, bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        Dictionary<string, int>? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (await page.GetByTestId("funnel-messages").IsVisibleAsync())
            {
                last = await ReadTilesAsync(page);
                if (condition(last)) return last;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"The page never showed {what}; last seen: {(last is null ? "no funnel" : string.Join(", ", last.Select(t => $"{t.Key} {t.Value}")))}; status: {await page.GetByTestId("status").TextContentAsync()}");
    }

    /// <summary>Every answer of 400 and above the page got (a missing script, a refused API call).</summary>
    private static List<string> WatchFailures(IPage page)
    {
        var failures = new List<string>();
        page.Response += (_, response) =>
        {
            if (response.Status >= 400) lock (failures) failures.Add($"{response.Status} {response.Request.Method} {response.Url}");
        };
        return failures;
    }

    private static void AssertClean(List<string> console, List<string> failures)
    {
        lock (failures) Assert.True(failures.Count == 0, "The page got error answers: " + string.Join(", ", failures));
        lock (console)
        {
            var errors = console.Where(l => l.StartsWith("[error]", StringComparison.Ordinal) || l.StartsWith("[pageerror]", StringComparison.Ordinal)).ToArray();
            Assert.True(errors.Length == 0, "The page logged errors: " + string.Join(Environment.NewLine, errors));
        }
    }
}
