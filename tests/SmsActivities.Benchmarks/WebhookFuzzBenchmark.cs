using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Emulators;
using SmsActivities.Emulators.SendCloud;
using SmsActivities.Emulators.Tencent;
using SmsActivities.Emulators.Yaningai;
using SmsActivities.Emulators.Yunpian;
using SmsActivities.Hosting;
using SmsActivities.Vendors;
using SmsActivities.Webhooks;
using SmsActivities.Workflows.Hosting;

namespace SmsActivities.Benchmarks;

/// <summary>
/// <c>--fuzz N</c>: N generated hostile pushes over HTTP, counted by answer; the figure that matters is the number of
/// 5xx (target 0). Against <c>--url</c> (with <c>--token</c>) when given, else against a server started here with all
/// four vendors on their sandbox keys. <c>--in-process</c> instead times generation and the readers alone.
/// </summary>
internal static class WebhookFuzzBenchmark
{
    private const string Token = "fuzz-webhook-token-0123456789abcdef";

    public static async Task RunAsync(string[] args)
    {
        string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var count = int.Parse(Arg("--fuzz") ?? "100000", CultureInfo.InvariantCulture);
        var concurrency = int.Parse(Arg("--callers") ?? "8", CultureInfo.InvariantCulture);
        var fuzzer = WebhookFuzzer.ForSandbox();

        if (args.Contains("--in-process"))
        {
            var sw = Stopwatch.StartNew();
            var cases = fuzzer.Sample(count);
            var generated = sw.Elapsed;
            await using var services = new ServiceCollection().AddLogging().AddSmsActivities(Configuration(null, "Data Source=:memory:")).BuildServiceProvider();
            var readers = services.GetServices<IWebhookReader>().ToDictionary(r => (r.Vendor, r.Kind));
            sw.Restart();
            var results = cases.Select(c => (Case: c, Read: readers[(c.Vendor, c.Kind)].Read(WebhookFuzzer.ToRequest(c)))).ToArray();
            var read = sw.Elapsed;
            Console.WriteLine($"{count} cases generated in {generated.TotalSeconds:F1} s, read in {read.TotalSeconds:F1} s");
            foreach (var route in results.GroupBy(r => $"{r.Case.Vendor}/{r.Case.Kind}").OrderBy(g => g.Key))
            {
                Console.WriteLine($"  {route.Key}: {route.Count(r => r.Read.IsValid)} read as events, {route.Count(r => !r.Read.IsValid)} refused; most common reasons:");
                foreach (var reason in route.Where(r => !r.Read.IsValid).GroupBy(r => r.Read.Error).OrderByDescending(g => g.Count()).Take(4))
                    Console.WriteLine($"    {reason.Count()} × {reason.Key}");
            }
            return;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        if (Arg("--url") is { } url)
        {
            Print(await fuzzer.RunOverHttpAsync(http, new Uri(url), Arg("--token") ?? throw new ArgumentException("--token is required with --url"), count, concurrency));
            return;
        }

        await using var emulators = await EmulatorHost.StartAsync();
        var folder = Directory.CreateTempSubdirectory("sms-fuzz-").FullName;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Critical);
        builder.Services.AddWorkflowRuntime(o => o.UseSqlite(Path.Combine(folder, "workflows.db")));
        builder.Services.AddSmsActivities(Configuration(emulators, $"Data Source={Path.Combine(folder, "sms.db")}"));
        await using var app = builder.Build();
        app.MapSmsWebhooks();
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/");
        Console.WriteLine($"server {address}, databases in {folder}");
        Print(await fuzzer.RunOverHttpAsync(http, address, Token, count, concurrency));
        await app.StopAsync();
    }

    private static void Print(WebhookFuzzSummary summary)
    {
        Console.WriteLine(summary);
        foreach (var sample in summary.ServerErrorSamples) Console.WriteLine("  " + sample);
        Console.WriteLine($"5xx answers: {summary.ServerErrors}");
    }

    /// <summary>All four vendors on the emulators' sandbox keys (no emulators: the readers need the keys only).</summary>
    private static IConfiguration Configuration(EmulatorHost? emulators, string connectionString)
    {
        string Url(string vendor) => emulators?.BaseUrlFor(vendor).ToString() ?? "http://127.0.0.1:9/";
        return new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Vendors:Tencent:BaseUrl"] = Url(VendorNames.Tencent),
            ["Vendors:Tencent:SdkAppId"] = TencentEmulator.SandboxSdkAppId,
            ["Vendors:Tencent:AppKey"] = TencentEmulator.SandboxAppKey,
            ["Vendors:Yunpian:BaseUrl"] = Url(VendorNames.Yunpian),
            ["Vendors:Yunpian:ApiKey"] = YunpianEmulator.SandboxApiKey,
            ["Vendors:SendCloud:BaseUrl"] = Url(VendorNames.SendCloud),
            ["Vendors:SendCloud:SmsUser"] = SendCloudEmulator.SandboxSmsUser,
            ["Vendors:SendCloud:SmsKey"] = SendCloudEmulator.SandboxSmsKey,
            ["Vendors:SendCloud:AppKey"] = SendCloudEmulator.SandboxAppKey,
            ["Vendors:Yaningai:BaseUrl"] = Url(VendorNames.Yaningai),
            ["Vendors:Yaningai:Account"] = YaningaiEmulator.SandboxAccount,
            ["Vendors:Yaningai:ApiKey"] = YaningaiEmulator.SandboxApiKey,
            ["SmsActivities:ConnectionString"] = connectionString,
            ["SmsActivities:Webhooks:Token"] = Token,
        }).Build();
    }
}
