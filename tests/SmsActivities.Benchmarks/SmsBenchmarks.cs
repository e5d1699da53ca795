using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Activities;
using SmsActivities.Emulators;
using SmsActivities.Emulators.Tencent;
using SmsActivities.Hosting;
using SmsActivities.Persistence;
using SmsActivities.Telemetry;
using SmsActivities.Vendors;
using SmsActivities.Vendors.Tencent;
using SmsActivities.Webhooks;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Builder;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Hosting;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Benchmarks;

/// <summary>
/// The SMS benchmark: one run, loopback only, temporary SQLite files: the runtime + plug-in + SMS webhooks on one port,
/// the four vendor emulators on another (Tencent is the vendor measured), and a trivial endpoint for the baseline.
/// </summary>
internal static class SmsBenchmarks
{
    private const string Token = "bench-webhook-token-0123456789abcdef";

    public static async Task RunAsync(string[] args)
    {
        int Arg(string name, int fallback) => args.SkipWhile(a => a != name).Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).FirstOrDefault(fallback);
        var reportCount = Arg("--reports", 1000);
        var pushBatch = Arg("--push-batch", 100);
        var sendCount = Arg("--sends", 300);
        // Sends of each kind made, untimed, before the timed ones: a fresh process spends its first thousands of sends
        // mostly in the JIT's tiering (about 4,000 methods on the workflow path, each compiled up to three times), which
        // says how long warm-up lasts, not what a send costs. "--send-warmup 0" measures the cold process.
        var sendWarmup = Arg("--send-warmup", 2000);
        // Reports ingested, untimed, after the counted ones and before the timed burst: the first bursts after a start
        // spend a quarter to a half of their CPU in the JIT's tier-1 recompiles, which says how long warm-up lasts, not
        // what a report costs. The default 0 times the burst as the first after start.
        var reportWarmup = Arg("--report-warmup", 0);
        var campaignSize = Arg("--recipients", 100_000);
        // Untimed campaigns of the full size, each kind, before the timed pair: the 2,000-recipient counted one is only
        // 10 batches, so the code run once per batch is still being compiled at tier 1 during the timed campaign (a
        // quarter of the CPU samples of a profiled campaign of 20,000 were the JIT's). "--campaign-warmup 0" times it so.
        var campaignWarmup = Arg("--campaign-warmup", 1);
        // Timed rounds of the campaign (each kind once a round); the medians are printed.
        var campaignRounds = Math.Max(1, Arg("--campaign-rounds", 3));
        var callers = Arg("--callers", 4);
        // Batch calls of the campaign in flight at once (Tencent's MaxConcurrentCalls; 1 sends the batches one after another).
        var vendorConcurrency = Arg("--vendor-concurrency", VendorHttpOptions.DefaultMaxConcurrentCalls);
        // Sizes whose waiting campaign's stored state is printed ("--state-sizes 0" for none).
        var stateSizes = (args.SkipWhile(a => a != "--state-sizes").Skip(1).FirstOrDefault() ?? "20000,100000")
            .Split(',').Select(a => int.Parse(a, CultureInfo.InvariantCulture)).Where(n => n > 0).ToArray();

        var folder = Directory.CreateTempSubdirectory("sms-bench-").FullName;
        Console.WriteLine($"databases in: {folder}");
        Console.WriteLine($"reports {reportCount} (push batches of {pushBatch}, {callers} pushers), sends {sendCount}, campaign {campaignSize:N0} recipients ({vendorConcurrency} batch calls at once)");

        var emulators = await EmulatorHost.StartAsync();
        emulators.Set.Clock.Scale = 0.001;
        // The emulator stands for a vendor across the network: what it keeps of each request is not the server's
        // memory, yet here it shares the server's heap. Kept, the report setup's 20,000 sends' requests (about 1 KB
        // each) were still young when the burst began: a gen1 collection in it kept 29.8 MB with them, 23-26 MB
        // without. Nothing here reads them.
        emulators.Set.Requests.Capacity = 0;
        var tencent = emulators.Set.Tencent;
        tencent.SeedTemplate("{1}");
        // No automatic pushes: the report measurement pushes the batches itself, at a moment it controls.
        tencent.StatusCallbackUrl = null;
        tencent.Script.Default = DeliveryPlan.NeverReport;
        // The emulator stands in for the vendor's servers but runs in this process: its own first request (Kestrel,
        // routing, its JSON) is paid here, before the host starts, so the first workflow's time is the server's alone.
        // An unsigned request: it is rejected, and no part of the server's vendor client runs.
        using (var warm = new HttpClient())
            await warm.PostAsync(new Uri(emulators.BaseUrlFor(VendorNames.Tencent), "v5/tlssmssvr/sendsms"), new StringContent("{}", Encoding.UTF8, "application/json"));

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Vendors:Tencent:BaseUrl"] = emulators.BaseUrlFor(VendorNames.Tencent).ToString(),
            ["Vendors:Tencent:SdkAppId"] = TencentEmulator.SandboxSdkAppId,
            ["Vendors:Tencent:AppKey"] = TencentEmulator.SandboxAppKey,
            ["Vendors:Tencent:DefaultSign"] = TencentEmulator.SandboxSign,
            ["Vendors:Tencent:MaxRetryAttempts"] = "0",
            ["Vendors:Tencent:AttemptTimeout"] = "00:00:30",
            ["Vendors:Tencent:MaxConcurrentCalls"] = vendorConcurrency.ToString(CultureInfo.InvariantCulture),
            ["SmsActivities:Webhooks:Token"] = Token,
            ["SmsActivities:MaxRecipientsPerSend"] = stateSizes.Append(campaignSize).Append(1).Max().ToString(CultureInfo.InvariantCulture),
        })
            // A setting tried without a rebuild, e.g. Workflows__Runtime__DispatchBatchSize=200 or SmsActivities__Inbox__BatchSize=5
            // (or SmsActivities__ConnectionString="Data Source=/tmp/sms.db" for the plug-in's tables in a file of their own).
            .AddEnvironmentVariables().Build();

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddWorkflowRuntime(o =>
        {
            o.UseSqlite(Path.Combine(folder, "workflows.db"));
            configuration.GetSection("Workflows:Runtime").Bind(o);
            o.AddWorkflow(new SendWorkflow("send-and-wait", waitForReport: true));
            o.AddWorkflow(new SendWorkflow("send-and-wait-counted", waitForReport: true));
            o.AddWorkflow(new SendWorkflow("send-and-wait-warm-up", waitForReport: true));
            o.AddWorkflow(new SendWorkflow("send", waitForReport: false));
        });
        builder.Services.AddSmsActivities(configuration);
        var app = builder.Build();
        app.MapSmsWebhooks();
        app.MapGet("/bench/ping", () => Results.Text("ok"));
        using var counter = new DatabaseCommandCounter();
        await app.StartAsync();
        var hostStarted = Stopwatch.StartNew();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/");
        var runtime = app.Services.GetRequiredService<WorkflowRuntime>();
        var sender = app.Services.GetServices<ISmsSender>().Single(s => s.Vendor == VendorNames.Tencent);
        using var http = new HttpClient { BaseAddress = address };

        try
        {
            // The first workflow after the host reported started (SendSms against the emulator, one recipient): what a
            // first request pays for whatever start-up left undone. Also the warm-up for what follows.
            // The methods JIT-compiled meanwhile tell what start-up left to the first run (SMS_BENCH_JIT_LOG=file lists them).
            using var firstProbes = new MeasurementProbes("SMS_BENCH_JIT_LOG");
            var first = await Start(runtime, "send", Mobile(9_999_000));
            var firstCompleted = hostStarted.Elapsed;
            var (jitMethods, jitTime) = await firstProbes.StopAsync();
            if (first.SubStatus != WorkflowSubStatus.Finished) throw new InvalidOperationException($"first send ended {first.SubStatus}");
            Report("first completed workflow after the host reported started (SendSms)",
                $"{firstCompleted.TotalMilliseconds:F0} ms (host started {(DateTime.Now - Process.GetCurrentProcess().StartTime).TotalMilliseconds - firstCompleted.TotalMilliseconds:F0} ms after process start; " +
                $"{jitMethods} methods JIT-compiled meanwhile, {jitTime.TotalMilliseconds:F0} ms of JIT)");
            await sender.SendSmsAsync(new SmsMessage { Recipients = [PhoneNumber.Parse(Mobile(9_999_001))], Text = "warm-up" });
            (await http.GetAsync(new Uri("bench/ping", UriKind.Relative))).EnsureSuccessStatusCode();

            var sw = new Stopwatch();
            // 1. Delivery reports end to end vs bare HTTP requests. The statements a report costs are counted on a pass of
            // reports of their own first (untimed: counting is not free), which also leaves the report path warm.
            if (reportCount > 0)
            {
                var countedReports = Math.Min(reportCount, 500);
                async Task<byte[][]> SuspendedSendsAsync(string definitionId, int count, int firstMobile)
                {
                    for (var i = 0; i < count; i++)
                    {
                        var r = await Start(runtime, definitionId, Mobile(firstMobile + i));
                        if (r.SubStatus != WorkflowSubStatus.Suspended) throw new InvalidOperationException($"{definitionId} ended {r.SubStatus}, expected Suspended");
                    }
                    // Read push by push: a list of all 20,000 (its array in the large-object heap, collected only with the
                    // oldest generation) kept every message it named alive through the young collections until the next
                    // full one, and the burst's first gen1 collection had to copy them.
                    var pushes = new List<byte[]>();
                    var sent = 0;
                    await using var db = await app.Services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>().CreateDbContextAsync();
                    await foreach (var chunk in SentMessages(db, definitionId).Chunk(pushBatch))
                    {
                        pushes.Add(VendorSide(JsonSerializer.SerializeToUtf8Bytes(chunk.Select(StatusRecord).ToArray(), TencentJson.Options)));
                        sent += chunk.Length;
                    }
                    if (sent != count) throw new InvalidOperationException($"{sent} messages recorded, expected {count}");
                    return [.. pushes];
                }
                var countedBodies = await SuspendedSendsAsync("send-and-wait-counted", countedReports, 30_000_000);
                var bodies = await SuspendedSendsAsync("send-and-wait", reportCount, 0);
                var warmUpBodies = reportWarmup > 0 ? await SuspendedSendsAsync("send-and-wait-warm-up", reportWarmup, 40_000_000) : [];
                var webhook = new Uri(SmsWebhookEndpoints.PathFor(VendorNames.Tencent, "status", Token).TrimStart('/'), UriKind.Relative);
                var pushedAt = new long[reportCount / Math.Max(pushBatch, 1) + 1];
                async Task PushAsync(byte[][] pushes, double[]? ackMs) => await Parallel(pushes.Length, callers, async i =>
                {
                    var posted = Stopwatch.GetTimestamp();
                    if (ackMs is not null) pushedAt[i] = posted;
                    using var content = new ByteArrayContent(pushes[i]);
                    content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                    using var response = await http.PostAsync(webhook, content);
                    response.EnsureSuccessStatusCode();
                    if (ackMs is not null) ackMs[i] = Stopwatch.GetElapsedTime(posted).TotalMilliseconds;
                });
                counter.Take();
                var countedFinishedBefore = await FinishedCountAsync(folder);
                await PushAsync(countedBodies, null);
                await WaitForFinishedAsync(folder, countedFinishedBefore, countedReports);
                var perReport = counter.Take();
                await counter.PauseAsync();
                if (reportWarmup > 0)
                {
                    var warmFinishedBefore = await FinishedCountAsync(folder);
                    await PushAsync(warmUpBodies, null);
                    await WaitForFinishedAsync(folder, warmFinishedBefore, reportWarmup);
                }
                await PauseForProfilerAsync("SMS_BENCH_PAUSE_BEFORE_REPORTS", "the reports");

                // Each push's acknowledgement latency: from the POST leaving to the vendor-facing answer read.
                var finishedBefore = await FinishedCountAsync(folder);
                var ackMs = new double[bodies.Length];
                // The process's CPU time over the measurement: unlike the rates, it says much the same on a loaded machine.
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                // The collections over the measurement and the time they paused every thread (a stall holds up all pushes at once).
                var (gcPausedBefore, gen0Before, gen1Before, gen2Before) = (GC.GetTotalPauseDuration(), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
                var allocatedBefore = GC.GetTotalAllocatedBytes();
                // The methods JIT-compiled over the measurement: what start-up left to the first reports (SMS_BENCH_REPORT_JIT_LOG=file lists them).
                // SMS_BENCH_REPORT_ALLOC_LOG=file: the types the report measurement allocates most (sampled by the runtime).
                using var reportProbes = new MeasurementProbes("SMS_BENCH_REPORT_JIT_LOG", "SMS_BENCH_REPORT_ALLOC_LOG");
                // The part of each acknowledgement spent storing the push (the write turn's wait and the commit), from the plug-in's own histogram.
                var storeMs = new System.Collections.Concurrent.ConcurrentBag<double>();
                using var storeListener = new System.Diagnostics.Metrics.MeterListener();
                storeListener.InstrumentPublished = (instrument, listener) =>
                {
                    if (instrument.Name == "sms.inbox.store_duration") listener.EnableMeasurementEvents(instrument);
                };
                storeListener.SetMeasurementEventCallback<double>((_, ms, _, _) => storeMs.Add(ms));
                storeListener.Start();
                // The collector's pauses while the pushes are acknowledged: a pause holds up every push in flight at once.
                using var gcPauses = new GcPauseProbe();
                gcPauses.Start();
                sw.Restart();
                await PushAsync(bodies, ackMs);
                var acknowledged = sw.Elapsed;
                var pausesDuringPushes = gcPauses.Stop();
                storeListener.Dispose();
                await WaitForFinishedAsync(folder, finishedBefore, reportCount);
                var ingest = sw.Elapsed;
                var cpuPerReport = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds / reportCount;
                var gcPaused = GC.GetTotalPauseDuration() - gcPausedBefore;
                var allocatedPerReport = (GC.GetTotalAllocatedBytes() - allocatedBefore) / 1024.0 / reportCount;
                var collections = $"{GC.CollectionCount(0) - gen0Before} gen0, {GC.CollectionCount(1) - gen1Before} gen1, {GC.CollectionCount(2) - gen2Before} gen2";
                var (reportJitMethods, reportJitTime) = await reportProbes.StopAsync();
                // Everything from the first push to the last completion (accept, claim, resume, commit, the plug-in's writes).
                foreach (var (context, counts) in perReport.OrderBy(c => c.Key, StringComparer.Ordinal))
                    Report($"per report ({countedReports} counted before the timed ones), {context}", counts.Describe(countedReports));

                sw.Restart();
                await Parallel(reportCount, callers, async _ =>
                {
                    using var response = await http.GetAsync(new Uri("bench/ping", UriKind.Relative));
                    response.EnsureSuccessStatusCode();
                });
                var bare = sw.Elapsed;
                var ingestRate = reportCount / ingest.TotalSeconds;
                var bareRate = reportCount / bare.TotalSeconds;
                Report($"delivery reports ingested end to end (push → inbox → resumed → completed{(reportWarmup > 0 ? $", after {reportWarmup} untimed" : "")})",
                    $"{ingestRate:F0}/s ({reportCount} in {ingest.TotalSeconds:F2} s, all acknowledged at {acknowledged.TotalSeconds:F2} s)");
                Report("CPU time of the process per report over that measurement (all threads)", $"{cpuPerReport:F2} ms");
                Report("methods JIT-compiled over the report measurement", $"{reportJitMethods} ({reportJitTime.TotalMilliseconds:F0} ms of JIT)");
                Report("garbage collections over the report measurement", $"{collections}; every thread paused {gcPaused.TotalMilliseconds:F0} ms in all; {allocatedPerReport:F0} KB allocated per report (the pushers' included)");
                // In the order the pushes were sent too: with few pushes the p99 is the slowest one, and which one that is tells why.
                var inOrder = string.Join(", ", ackMs.Select(ms => ms.ToString("F0", CultureInfo.InvariantCulture)));
                // With many, the slowest five and where they came in the order sent (1 = first): early ones point at warm-up.
                // And how much of each the collector's pauses took (the pauses that overlapped it).
                double PausedMs(int push)
                {
                    var (from, to) = (pushedAt[push], pushedAt[push] + (long)(ackMs[push] * Stopwatch.Frequency / 1000));
                    return pausesDuringPushes.Sum(p => Math.Max(0, Math.Min(to, p.End) - Math.Max(from, p.Start))) * 1000.0 / Stopwatch.Frequency;
                }
                var slowest = string.Join(", ", ackMs.Select((ms, i) => (Ms: ms, Index: i)).OrderByDescending(p => p.Ms).Take(5)
                    .Select(p => $"#{p.Index + 1} {p.Ms.ToString("F0", CultureInfo.InvariantCulture)} ({PausedMs(p.Index).ToString("F0", CultureInfo.InvariantCulture)} in GC pauses)"));
                var longest = pausesDuringPushes.OrderByDescending(p => p.End - p.Start).FirstOrDefault();
                Array.Sort(ackMs);
                Console.WriteLine($"webhook acknowledgement latency p50 {Percentile(ackMs, 0.50):F1} ms, p99 {Percentile(ackMs, 0.99):F1} ms ({bodies.Length} pushes of up to {pushBatch})");
                Console.WriteLine(bodies.Length <= 20 ? $"  each push in the order sent, ms: {inOrder}" : $"  the slowest pushes (place sent: ms): {slowest}");
                // Each pause with the generation it collected and the bytes it kept (what it marked and moved: the pause grows with them).
                var pauses = string.Join(", ", pausesDuringPushes.Select(p => string.Create(CultureInfo.InvariantCulture,
                    $"{p.Milliseconds:F1} ms (gen {(p.Generation >= 0 ? p.Generation.ToString(CultureInfo.InvariantCulture) : "?")}{(p.PromotedBytes >= 0 ? $", {p.PromotedBytes / 1048576.0:F1} MB kept" : "")}, {p.SuspendingMilliseconds:F1} ms of it stopping the threads)")));
                Console.WriteLine($"  garbage-collection pauses while the pushes were acknowledged: {pausesDuringPushes.Count}, the longest {longest.Milliseconds:F1} ms" +
                    (pausesDuringPushes.Count > 0 ? $"; each: {pauses}" : ""));
                var stores = storeMs.Order().ToArray();
                if (stores.Length > 0) Console.WriteLine($"  of which storing the push in the inbox p50 {Percentile(stores, 0.50):F1} ms, p99 {Percentile(stores, 0.99):F1} ms");
                Report($"bare HTTP GET to a trivial endpoint ({reportCount} requests, {callers} callers)", $"{bareRate:F0}/s ({bare.TotalSeconds:F2} s)");
                Report("ratio reports/s : bare requests/s", $"1 : {bareRate / ingestRate:F1} (reports at {100 * ingestRate / bareRate:F1}% of bare HTTP)");
            }

            // 2. SendSms through a workflow vs the bare vendor client, one recipient each, sequential.
            if (sendCount > 0)
            {
                // The process's CPU time beside the wall clock: on a loaded machine the wall clock mostly measures the wait for
                // a core, which grows with the work a send does; the CPU time is that work (the in-process emulator's included).
                for (var i = 0; i < sendWarmup; i++)
                {
                    await Start(runtime, "send", Mobile(4_000_000 + i));
                    await sender.SendSmsAsync(new SmsMessage { Recipients = [PhoneNumber.Parse(Mobile(5_000_000 + i))], Text = "warm-up" });
                }
                await PauseForProfilerAsync("SMS_BENCH_PAUSE_BEFORE_SENDS", "the timed sends");
                // The statements of a send, counted in a pass of their own: counting is not free, and the timed pass runs without it.
                var countedSends = Math.Min(sendCount, 100);
                await counter.ResumeAsync();
                counter.Take();
                for (var i = 0; i < countedSends; i++)
                    await Start(runtime, "send", Mobile(6_000_000 + i));
                var perSend = counter.Take();
                await counter.PauseAsync();
                var allocated = GC.GetTotalAllocatedBytes();
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                // The methods JIT-compiled over the sends (SMS_BENCH_SEND_JIT_LOG=file lists them): a count that grows with
                // the number of sends means code is generated per send.
                // SMS_BENCH_SEND_ALLOC_LOG=file: the types the sends through a workflow allocate most (sampled by the runtime).
                using var sendProbes = new MeasurementProbes("SMS_BENCH_SEND_JIT_LOG", "SMS_BENCH_SEND_ALLOC_LOG");
                sw.Restart();
                for (var i = 0; i < sendCount; i++)
                {
                    var r = await Start(runtime, "send", Mobile(1_000_000 + i));
                    if (r.SubStatus != WorkflowSubStatus.Finished) throw new InvalidOperationException($"send ended {r.SubStatus}");
                }
                var viaWorkflow = sw.Elapsed;
                var workflowCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                var workflowAllocated = GC.GetTotalAllocatedBytes() - allocated;
                var (sendJitMethods, sendJitTime) = await sendProbes.StopAsync();
                cpu = Process.GetCurrentProcess().TotalProcessorTime;
                allocated = GC.GetTotalAllocatedBytes();
                sw.Restart();
                for (var i = 0; i < sendCount; i++)
                {
                    var receipt = await sender.SendSmsAsync(new SmsMessage { Recipients = [PhoneNumber.Parse(Mobile(2_000_000 + i))], Text = "benchmark" });
                    if (!receipt.Results.All(x => x.Accepted)) throw new InvalidOperationException("bare send not accepted");
                }
                var viaClient = sw.Elapsed;
                var clientCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                var clientAllocated = GC.GetTotalAllocatedBytes() - allocated;
                // The bare client in a tight loop of nothing but calls finds the emulator's and its own threads awake and
                // their code in the CPU's caches. The same call made right after a workflow send (as a send through a
                // workflow makes it, after its own work) is timed here too.
                var afterWork = TimeSpan.Zero;
                for (var i = 0; i < sendCount; i++)
                {
                    await Start(runtime, "send", Mobile(8_000_000 + i));
                    sw.Restart();
                    await sender.SendSmsAsync(new SmsMessage { Recipients = [PhoneNumber.Parse(Mobile(2_500_000 + i))], Text = "benchmark" });
                    afterWork += sw.Elapsed;
                }
                // Where a send's time goes, from the spans of the run, of the SendSms and of its vendor call, in a pass of
                // its own after the timed ones (listening makes the spans be created, and code compiled for them then).
                var spannedSends = Math.Min(sendCount, 100);
                double spannedWall, runSpan, activitySpan, vendorSpan;
                using (var spans = new SpanTimes(WorkflowTelemetry.Name, SmsTelemetry.Name))
                {
                    sw.Restart();
                    for (var i = 0; i < spannedSends; i++)
                        await Start(runtime, "send", Mobile(7_000_000 + i));
                    spannedWall = sw.Elapsed.TotalMilliseconds / Math.Max(1, spannedSends);
                    (runSpan, activitySpan, vendorSpan) = (spans.Milliseconds("workflow.start", spannedSends), spans.Milliseconds("sms.send_activity", spannedSends),
                        spans.Milliseconds("sms.send", spannedSends));
                }
                Report($"SendSms through a workflow (1 recipient, {sendCount} sequential, after {sendWarmup} untimed)", $"{sendCount / viaWorkflow.TotalSeconds:F0}/s ({viaWorkflow.TotalMilliseconds / sendCount:F2} ms each)");
                Report("bare vendor client against the emulator (same)", $"{sendCount / viaClient.TotalSeconds:F0}/s ({viaClient.TotalMilliseconds / sendCount:F2} ms each)");
                Report("ratio workflow time : bare client time", $"{viaWorkflow.TotalSeconds / viaClient.TotalSeconds:F2}");
                Report("bare vendor client, each call right after a workflow send (same)",
                    $"{afterWork.TotalMilliseconds / sendCount:F2} ms each (ratio workflow time : this {viaWorkflow.TotalMilliseconds / afterWork.TotalMilliseconds:F2})");
                Report($"per SendSms through a workflow, where the time goes ({spannedSends} sends, spans on)",
                    $"{spannedWall:F2} ms: vendor call {vendorSpan:F2} ms, the plug-in's records around it {activitySpan - vendorSpan:F2} ms, " +
                    $"the rest of the run (earlier-attempt lookup, the workflow) and its commit {runSpan - activitySpan:F2} ms, outside the run {spannedWall - runSpan:F2} ms");
                Report("memory allocated per send, workflow / bare client (all threads, the emulator's included)",
                    $"{workflowAllocated / 1024.0 / sendCount:F0} KB / {clientAllocated / 1024.0 / sendCount:F0} KB");
                Report("methods JIT-compiled over the sends through a workflow", $"{sendJitMethods} ({sendJitTime.TotalMilliseconds:F0} ms of JIT)");
                Report("process CPU time per send, workflow / bare client", $"{workflowCpu.TotalMilliseconds / sendCount:F2} ms / {clientCpu.TotalMilliseconds / sendCount:F2} ms (ratio {workflowCpu / clientCpu:F2})");
                if (countedSends > 0)
                    foreach (var (context, counts) in perSend.OrderBy(c => c.Key, StringComparer.Ordinal))
                        Report($"per SendSms through a workflow, {context}", counts.Describe(countedSends));
            }
            await counter.ResumeAsync();

            // 3. Campaign: one SendSms to N recipients (batched to Tencent's 200 per call) vs the bare client sending the same N.
            if (campaignSize > 0)
            {
                // First a campaign of up to 2,000 of each kind: the workflow's with its statements counted, the bare
                // client's untimed, so the timed pair runs warm alike (timed cold, the one timed second won on JIT alone).
                var counted = Math.Min(campaignSize, 10 * TencentSmsClient.MaxMobilesPerMultiSend);
                counter.Take();
                await Start(runtime, "send", string.Join(',', Enumerable.Range(0, counted).Select(i => Mobile(7_000_000 + i))));
                var countedStatements = counter.Take();
                await sender.SendSmsAsync(new SmsMessage { Recipients = Enumerable.Range(0, counted).Select(i => PhoneNumber.Parse(Mobile(8_000_000 + i))).ToArray(), Text = "benchmark" });
                // Timed with the counter paused (it costs each statement something).
                await counter.PauseAsync();
                for (var round = 0; round < campaignWarmup; round++)
                {
                    var from = 50_000_000 + 2 * round * campaignSize;
                    var warm = await Start(runtime, "send", string.Join(',', Enumerable.Range(0, campaignSize).Select(i => Mobile(from + i))));
                    if (warm.SubStatus != WorkflowSubStatus.Finished) throw new InvalidOperationException($"warm-up campaign ended {warm.SubStatus}");
                    await sender.SendSmsAsync(new SmsMessage { Recipients = Enumerable.Range(0, campaignSize).Select(i => PhoneNumber.Parse(Mobile(from + campaignSize + i))).ToArray(), Text = "warm-up" });
                }
                await PauseForProfilerAsync("SMS_BENCH_PAUSE_BEFORE_CAMPAIGN", "the campaign");
                // Timed rounds, each the three kinds one after another, medians printed: the bare side alone moved by a
                // third between runs of the same build (0.24-0.33 s for 20,000), so one pair's ratio said more about the
                // machine's moment than about the workflow.
                var (workflowTimes, bareTimes, bareParsedTimes) = (new List<TimeSpan>(), new List<TimeSpan>(), new List<TimeSpan>());
                var (campaignCpu, bareCpu) = (TimeSpan.Zero, TimeSpan.Zero);
                WorkflowRunResult? run = null;
                // SMS_BENCH_CAMPAIGN_JIT_LOG=file lists the methods compiled over the timed rounds (bare campaigns included).
                using var campaignProbes = new MeasurementProbes("SMS_BENCH_CAMPAIGN_JIT_LOG");
                var campaignJit = (Methods: 0L, Time: TimeSpan.Zero);
                for (var round = 0; round < campaignRounds; round++)
                {
                    var from = 3_000_000 + 3 * round * campaignSize;
                    var input = string.Join(',', Enumerable.Range(0, campaignSize).Select(i => Mobile(from + i)));
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    var jit = (JitInfo.GetCompiledMethodCount(), JitInfo.GetCompilationTime());
                    sw.Restart();
                    run = await Start(runtime, "send", input);
                    workflowTimes.Add(sw.Elapsed);
                    campaignCpu += Process.GetCurrentProcess().TotalProcessorTime - cpu;
                    campaignJit = (campaignJit.Methods + JitInfo.GetCompiledMethodCount() - jit.Item1, campaignJit.Time + JitInfo.GetCompilationTime() - jit.Item2);
                    if (run.SubStatus != WorkflowSubStatus.Finished) throw new InvalidOperationException($"campaign ended {run.SubStatus}");
                    var recorded = await WithDbAsync(app.Services, db => db.SendRecords.CountAsync(r => r.InstanceId == run.InstanceId && r.Accepted));
                    if (recorded != campaignSize) throw new InvalidOperationException($"campaign recorded {recorded} accepted, expected {campaignSize}");

                    // The bare client as a developer would call it with the same list: its numbers parsed (with the
                    // same library, one by one) inside the timing, as the workflow parses its input inside its own.
                    var list = string.Join(',', Enumerable.Range(0, campaignSize).Select(i => Mobile(from + campaignSize + i)));
                    cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    sw.Restart();
                    var receipt = await sender.SendSmsAsync(new SmsMessage { Recipients = list.Split(',').Select(n => PhoneNumber.Parse(n)).ToArray(), Text = "benchmark" });
                    bareTimes.Add(sw.Elapsed);
                    bareCpu += Process.GetCurrentProcess().TotalProcessorTime - cpu;
                    if (receipt.Results.Count(x => x.Accepted) != campaignSize) throw new InvalidOperationException("bare campaign not fully accepted");

                    // And given numbers parsed beforehand (the comparison earlier figures were made against).
                    var numbers = Enumerable.Range(0, campaignSize).Select(i => PhoneNumber.Parse(Mobile(from + 2 * campaignSize + i))).ToArray();
                    sw.Restart();
                    receipt = await sender.SendSmsAsync(new SmsMessage { Recipients = numbers, Text = "benchmark" });
                    bareParsedTimes.Add(sw.Elapsed);
                    if (receipt.Results.Count(x => x.Accepted) != campaignSize) throw new InvalidOperationException("bare campaign (parsed beforehand) not fully accepted");
                }
                _ = await campaignProbes.StopAsync();
                static string Seconds(IEnumerable<TimeSpan> times) => string.Join(", ", times.Select(t => t.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture)));
                var (dispatched, bareCampaign, bareParsed) = (Median(workflowTimes), Median(bareTimes), Median(bareParsedTimes));
                var batches = (campaignSize + TencentSmsClient.MaxMobilesPerMultiSend - 1) / TencentSmsClient.MaxMobilesPerMultiSend;
                Report($"campaign of {campaignSize:N0} through a workflow: every batch dispatched (after {campaignWarmup} untimed of each kind), median of {campaignRounds}",
                    $"{dispatched.TotalSeconds:F2} s ({campaignSize / dispatched.TotalSeconds:F0} recipients/s, {batches} batches; rounds {Seconds(workflowTimes)} s)");
                Report("same recipients, bare vendor client, numbers parsed inside the timing", $"{bareCampaign.TotalSeconds:F2} s ({campaignSize / bareCampaign.TotalSeconds:F0} recipients/s; rounds {Seconds(bareTimes)} s)");
                Report("ratio workflow time : bare time", $"{dispatched.TotalSeconds / bareCampaign.TotalSeconds:F2}");
                Report("same recipients, bare vendor client given numbers parsed beforehand", $"{bareParsed.TotalSeconds:F2} s (rounds {Seconds(bareParsedTimes)} s; ratio {dispatched.TotalSeconds / bareParsed.TotalSeconds:F2})");
                Report("methods JIT-compiled over the campaigns through a workflow", $"{campaignJit.Methods} ({campaignJit.Time.TotalMilliseconds:F0} ms of JIT)");
                // Both include the emulator answering the calls (it runs in this process); two cores give at most 2 s of CPU a second.
                Report("process CPU time over the campaigns, workflow / bare client parsing", $"{campaignCpu.TotalSeconds:F2} s / {bareCpu.TotalSeconds:F2} s (ratio {campaignCpu / bareCpu:F2})");
                foreach (var (context, counts) in countedStatements.OrderBy(c => c.Key, StringComparer.Ordinal))
                    Report($"per batch of a campaign of {counted:N0} (run before), {context}", counts.Describe((counted + TencentSmsClient.MaxMobilesPerMultiSend - 1) / TencentSmsClient.MaxMobilesPerMultiSend));
                var (stateKb, inputKb, _) = await StoredSizesAsync(folder, run!.InstanceId);
                Report("campaign instance state as stored / the workflow's input (own column, written once)", $"{stateKb:F1} KB / {inputKb:F1} KB");
                Report("database file after the campaign (the runtime's and the plug-in's tables)", $"{Megabytes(folder, "workflows.db"):F1} MB");
            }

            // 4. The state of a campaign waiting for its reports, at each size asked for: send, then wait (suspended).
            foreach (var size in stateSizes)
            {
                var numbers = string.Join(',', Enumerable.Range(0, size).Select(i => Mobile(20_000_000 + size + i)));
                var run = await Start(runtime, "send-and-wait", numbers);
                if (run.SubStatus != WorkflowSubStatus.Suspended) throw new InvalidOperationException($"campaign of {size} ended {run.SubStatus}, expected Suspended in its wait");
                var (stateKb, inputKb, bookmarks) = await StoredSizesAsync(folder, run.InstanceId);
                Report($"campaign of {size:N0} waiting for its reports: state as stored / input / bookmarks", $"{stateKb:F1} KB / {inputKb:F1} KB / {bookmarks}");
            }
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            await emulators.DisposeAsync();
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// With <paramref name="variable"/>=file set, waits until that file exists, so a profiler attached meanwhile
    /// (dotnet-trace collect -p PID) sees the measurement that follows alone.
    /// </summary>
    private static async Task PauseForProfilerAsync(string variable, string what)
    {
        if (Environment.GetEnvironmentVariable(variable) is not { } file) return;
        Console.WriteLine($"paused before {what}, process {Environment.ProcessId}: create {file} to go on");
        while (!File.Exists(file)) await Task.Delay(100);
    }

    /// <summary>An instance's stored state and input (KB of JSON) and its bookmark rows, read from the runtime's file.</summary>
    private static async Task<(double StateKb, double InputKb, long Bookmarks)> StoredSizesAsync(string folder, string instanceId)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(folder, "workflows.db")};Mode=ReadOnly");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT length(CAST(StateJson AS BLOB)), COALESCE(length(CAST(InputJson AS BLOB)), 0), (SELECT COUNT(*) FROM Bookmarks WHERE InstanceId = $id) FROM WorkflowInstances WHERE Id = $id";
        command.Parameters.AddWithValue("$id", instanceId);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync()) throw new InvalidOperationException($"instance {instanceId} not stored");
        return (reader.GetInt64(0) / 1e3, reader.GetInt64(1) / 1e3, reader.GetInt64(2));
    }

    /// <summary>A SQLite file with its WAL and journal, in MB.</summary>
    private static double Megabytes(string folder, string name) =>
        new[] { name, name + "-wal", name + "-journal" }.Select(f => new FileInfo(Path.Combine(folder, f))).Where(f => f.Exists).Sum(f => f.Length) / 1e6;

    /// <summary>Distinct Chinese mobiles: +86 139 followed by eight digits.</summary>
    private static string Mobile(int i) => $"+86139{i:D8}";

    /// <summary>The middle of <paramref name="times"/> (the upper middle of an even count).</summary>
    private static TimeSpan Median(IReadOnlyCollection<TimeSpan> times) => times.Order().ElementAt(times.Count / 2);

    private static Task<WorkflowRunResult> Start(WorkflowRuntime runtime, string definitionId, string to) =>
        runtime.StartAsync(definitionId, new StartWorkflowRequest { Input = new Dictionary<string, object?> { ["to"] = to } });

    /// <summary>One accepted message of a benchmark send, as its send record knows it.</summary>
    private sealed record SentMessage(string Vendor, string MessageId, string Mobile);

    private static TencentStatusRecord StatusRecord(SentMessage message)
    {
        var tel = TencentTel.From(PhoneNumber.Parse(message.Mobile));
        return new TencentStatusRecord
        {
            UserReceiveTime = DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
            Nationcode = tel.Nationcode,
            Mobile = tel.Mobile,
            ReportStatus = "SUCCESS",
            Errmsg = "DELIVRD",
            Description = "user received the message",
            Sid = message.MessageId,
        };
    }

    /// <summary>The messages a definition's sends had accepted, in the order sent, streamed.</summary>
    private static IAsyncEnumerable<SentMessage> SentMessages(SmsActivitiesDbContext db, string definitionId) =>
        db.SendRecords.AsNoTracking().Where(r => r.DefinitionId == definitionId && r.Accepted && r.MessageId != null).OrderBy(r => r.Id)
            .Select(r => new SentMessage(r.Vendor, r.MessageId!, r.Mobile)).AsAsyncEnumerable();

    /// <summary>
    /// Waits until <paramref name="count"/> more instances have finished than <paramref name="before"/>. Polled every 10 ms
    /// with one count on the sub-status index over its own read-only connection: counted through the instance store (a
    /// query EF compiles each time, and the instance rows read), the polling took a sixth of the process's CPU while
    /// the reports it measures were running.
    /// </summary>
    private static async Task WaitForFinishedAsync(string folder, long before, int count)
    {
        DatabaseCommandCounter.IgnoreThisFlow();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
        while (true)
        {
            var finished = await FinishedCountAsync(folder) - before;
            if (finished >= count) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"only {finished} of {count} instances finished");
            await Task.Delay(10);
        }
    }

    private static async Task<long> FinishedCountAsync(string folder)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(folder, "workflows.db")};Mode=ReadOnly");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM WorkflowInstances WHERE SubStatus = 'Finished'";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<T> WithDbAsync<T>(IServiceProvider services, Func<SmsActivitiesDbContext, Task<T>> query)
    {
        await using var db = await services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>().CreateDbContextAsync();
        return await query(db);
    }

    internal static async Task Parallel(int count, int callers, Func<int, Task> action)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, callers).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count) await action(i);
        }));
    }

    /// <summary>
    /// A push body as the vendor holds it: UTF-8, in the pinned-object heap. The benchmark builds its 200 pushes of 100
    /// reports just before the burst; as strings (about 14 MB) in the young generations they were up to half of what
    /// the server's first gen1 collection during the acknowledgements kept (28–31 MB; 14–22 MB since). In production
    /// they are in the vendor's process, and here gen0 and gen1 collections do not copy them.
    /// </summary>
    private static byte[] VendorSide(byte[] body)
    {
        var pinned = GC.AllocateUninitializedArray<byte>(body.Length, pinned: true);
        body.CopyTo(pinned, 0);
        return pinned;
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static void Report(string name, string value) => Console.WriteLine($"{name,-78} {value}");

    /// <summary>SendSms to the input "to" through Tencent, then (optionally) WaitForDeliveryReport for all its messages.</summary>
    private sealed class SendWorkflow(string id, bool waitForReport) : IWorkflow
    {
        public void Build(WorkflowBuilder builder)
        {
            builder.WithDefinitionId(id).WithName(id);
            var flow = builder.Flowchart();
            var send = flow.Add(new SendSms
            {
                Id = "send",
                Vendor = new("tencent"),
                Recipients = new(c => c.GetWorkflowInput("to")?.GetValue<string>()),
                Text = new("benchmark"),
            });
            if (!waitForReport) return;
            var wait = flow.Add(new WaitForDeliveryReport { Id = "wait", SendSmsActivityId = new("send") });
            flow.Connect(send, wait, SendSms.Sent);
            flow.Connect(send, wait, SendSms.PartiallySent);
        }
    }
}
