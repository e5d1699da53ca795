using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Persistence;
using SmsActivities.Routing;
using SmsActivities.Server.Hosting;
using SmsActivities.Vendors;

namespace SmsActivities.Benchmarks;

/// <summary>
/// The insights page's answer time for a big campaign: the real server (sandbox mode, its own data folder, SQLite or
/// the PostgreSQL database given with <c>--postgres</c>), send records and reports written through the plug-in's
/// record store the way a campaign writes them (batches settled, reports pushed, some before their batch settled),
/// then the campaign, vendor and campaign-list API calls and the page itself timed over loopback HTTP.
/// </summary>
internal static class InsightsBenchmark
{
    private const int Batch = 1000;
    private const int Rounds = 7;

    public static async Task RunAsync(string[] args)
    {
        string? Text(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var messages = int.Parse(Text("--messages") ?? "100000", CultureInfo.InvariantCulture);
        var postgres = Text("--postgres") ?? Environment.GetEnvironmentVariable("SMS_TEST_POSTGRES");
        var folder = Directory.CreateTempSubdirectory("insights-bench-").FullName;
        Console.WriteLine($"insights: {messages:N0}-message campaign (+ a {messages / 10:N0}-message one), database {(postgres is null ? $"SQLite in {folder}" : "PostgreSQL")}, {Environment.ProcessorCount} cores, load average {LoadAverage()}");

        var settings = new Dictionary<string, string?>
        {
            ["Server:DataDirectory"] = folder,
            ["Server:Sandbox"] = "true",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (postgres is not null) settings["ConnectionStrings:Workflows"] = postgres;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Development", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSmsActivitiesServer(builder.Configuration, builder.Environment);
        await using var app = builder.Build();
        app.UseSmsActivitiesServer();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address.TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Add("Authorization", "ApiKey " + ServerOptions.SandboxApiKey);

        var store = app.Services.GetRequiredService<SendRecordStore>();
        var run = Guid.NewGuid().ToString("N")[..8];
        var seeding = Stopwatch.StartNew();
        var big = await SeedCampaignAsync(store, $"bench-{run}-big", messages, seed: 1);
        var writeRate = messages / seeding.Elapsed.TotalSeconds;
        await SeedCampaignAsync(store, $"bench-{run}-small", messages / 10, seed: 2);
        Report($"written through the record store ({messages:N0} records and their reports)", $"{writeRate:N0} records/s ({seeding.Elapsed.TotalSeconds:F1} s)");

        await TimeAsync($"GET /insights/api/campaigns/{{id}} ({messages:N0} messages)", http, $"insights/api/campaigns/{big}");
        await TimeAsync("GET /insights/api/vendors (last 24 hours)", http, "insights/api/vendors");
        await TimeAsync("GET /insights/api/campaigns (list, last 24 hours)", http, "insights/api/campaigns");
        await TimeAsync("GET /insights (the page)", http, "insights");
        await app.StopAsync();
        if (postgres is null) Directory.Delete(folder, recursive: true);
    }

    /// <summary>
    /// One campaign written as SendSms writes it: every recipient Queued, then per batch of 1,000 Pending and settled
    /// (2% refused with a code, 3% failed over to a second vendor, a fee each), then the reports pushed 100 at a time:
    /// 5% failed with one of three codes, latencies 0.5–30 s. Every tenth batch's reports come before it settles.
    /// </summary>
    private static async Task<string> SeedCampaignAsync(SendRecordStore store, string instanceId, int count, int seed)
    {
        var random = new Random(seed);
        var mobiles = Enumerable.Range(0, count).Select(i => $"+86{seed}{i:D9}").ToArray();
        var key = instanceId + ":SendSms1";
        await store.BeginAsync(key, instanceId, "SendSms1", VendorNames.Yunpian, mobiles, CancellationToken.None, batched: true, definitionId: "campaign");
        var ids = await store.RecordIdsAsync(key, CancellationToken.None);
        var start = DateTimeOffset.UtcNow;
        string[] codes = ["UNDELIV", "MK:0001", "DB:0141"];
        for (var b = 0; b * Batch < count; b++)
        {
            var batch = mobiles.Skip(b * Batch).Take(Batch).ToArray();
            var outcomes = batch.Select((m, i) =>
            {
                var roll = random.NextDouble();
                if (roll < 0.02) return new SmsRecipientOutcome(m, VendorNames.Yunpian, false, null, "53", "blacklisted number", null, 1);
                var vendor = roll < 0.05 ? VendorNames.Tencent : VendorNames.Yunpian;
                return new SmsRecipientOutcome(m, vendor, true, $"{instanceId}-{b}-{i}", "0", null, 0.045m, vendor == VendorNames.Tencent ? 2 : 1);
            }).ToArray();
            var reports = outcomes.Where(o => o.Accepted).Select(o => (Report: new DeliveryReport(o.Vendor!, o.MessageId!, o.Mobile,
                random.NextDouble() < 0.05 ? DeliveryStatus.Failed : DeliveryStatus.Delivered, codes[random.Next(codes.Length)], null, start),
                Latency: TimeSpan.FromMilliseconds(500 + random.Next(29_500)))).ToArray();
            var early = b % 10 == 9;
            if (early) await PushAsync(store, reports, start);
            await store.StartBatchAsync(batch.Select(m => ids[m]).ToArray(), CancellationToken.None);
            await store.SettleAsync(key, ids, outcomes, CancellationToken.None);
            if (!early) await PushAsync(store, reports, start);
        }
        return instanceId;
    }

    private static async Task PushAsync(SendRecordStore store, (DeliveryReport Report, TimeSpan Latency)[] reports, DateTimeOffset start)
    {
        foreach (var push in reports.Chunk(100))
            await store.RecordReportsAsync(push.Select(p => p.Report).ToArray(), start + push.Max(p => p.Latency), CancellationToken.None);
    }

    private static async Task TimeAsync(string name, HttpClient http, string path)
    {
        var times = new List<double>();
        long bytes = 0;
        for (var i = 0; i <= Rounds; i++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await http.GetAsync(path);
            var body = await response.Content.ReadAsByteArrayAsync();
            watch.Stop();
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{path} answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)}");
            bytes = body.Length;
            if (i > 0) times.Add(watch.Elapsed.TotalMilliseconds); // the first call warms the JIT and the database's cache
        }
        times.Sort();
        Report(name, $"median {times[times.Count / 2]:F0} ms, max {times[^1]:F0} ms ({Rounds} calls after one warm-up, {bytes:N0} bytes)");
    }

    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static void Report(string name, string value) => Console.WriteLine($"  {name,-62} {value}");
}
