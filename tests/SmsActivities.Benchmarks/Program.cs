using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Hosting;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Runtime;

// Plain harness for the runtime and SMS benchmarks (docs/benchmarks.md). Usage:
//   dotnet run -c Release --project tests/SmsActivities.Benchmarks [-- --max-suspended 1000000]
//   dotnet run -c Release --project tests/SmsActivities.Benchmarks -- --sms [--reports 1000] [--sends 500] [--recipients 100000] [--vendor-concurrency 4]
//     (SMS_BENCH_JIT_LOG=file: the methods JIT-compiled during the first workflow after start, one a line;
//      SMS_BENCH_REPORT_JIT_LOG=file: those JIT-compiled during the report measurement;
//      SMS_BENCH_REPORT_ALLOC_LOG=file: the types the report measurement allocates most)
//   dotnet run -c Release --project tests/SmsActivities.Benchmarks -- --insights [--messages 100000] [--postgres "Host=…"]
//   dotnet run -c Release --project tests/SmsActivities.Benchmarks -- --fuzz 100000 [--callers 8] [--url http://host:port/ --token T] [--in-process]
//   dotnet run -c Release --project tests/SmsActivities.Benchmarks -- --pg-resume [--suspended 1000,100000] [--probes 300] [--postgres "Host=…;Username=postgres"]
//   dotnet run -c Release --project tests/SmsActivities.Benchmarks -- --pg-reports [--reports 1000] [--push-batch 100] [--callers 4] [--postgres "Host=…;Username=postgres"]
//   dotnet run -c Release --project tests/SmsActivities.Benchmarks -- --chaos [--scale 0.05] [--otp N] [--surveys N] [--recipients N] [--pushes N] [--fault-rate 0.2] [--callers 8] [--keep]
if (args.Contains("--pg-resume"))
{
    await SmsActivities.Benchmarks.PostgresResumeBenchmark.RunAsync(args);
    return;
}
if (args.Contains("--pg-reports"))
{
    await SmsActivities.Benchmarks.PostgresReportsBenchmark.RunAsync(args);
    return;
}
if (args.Contains("--chaos"))
{
    Environment.ExitCode = await SmsActivities.Benchmarks.ChaosRun.RunAsync(args);
    return;
}
if (args.Contains("--fuzz"))
{
    await SmsActivities.Benchmarks.WebhookFuzzBenchmark.RunAsync(args);
    return;
}
if (args.Contains("--insights"))
{
    await SmsActivities.Benchmarks.InsightsBenchmark.RunAsync(args);
    return;
}
if (args.Contains("--sms"))
{
    await SmsActivities.Benchmarks.SmsBenchmarks.RunAsync(args);
    return;
}
var processStart = Process.GetCurrentProcess().StartTime.ToUniversalTime();
var maxSuspended = args.SkipWhile(a => a != "--max-suspended").Skip(1).Select(int.Parse).FirstOrDefault(1_000_000);
var folder = Directory.CreateTempSubdirectory("wf-bench-").FullName;
var dbPath = Path.Combine(folder, "bench.db");
Console.WriteLine($"database: {dbPath}");

using var host = Host.CreateDefaultBuilder()
    .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning))
    .ConfigureServices(s =>
    {
        s.AddSingleton(new WorkflowConsole(TextWriter.Null));
        s.AddWorkflowRuntime(o =>
        {
            o.UseSqlite(dbPath);
            o.RunBackgroundService = false; // measure the runtime itself, without the poller competing for the file
        });
    })
    .Build();
await host.StartAsync();
var definitions = host.Services.GetRequiredService<WorkflowDefinitionService>();
var runtime = host.Services.GetRequiredService<WorkflowRuntime>();

// 3-activity flowchart: Start -> WriteLine -> Finish
await Publish("three", """
    [{"id":"Start1","type":"Elsa.Start"},
     {"id":"Write1","type":"Elsa.WriteLine","text":{"typeName":"String","expression":{"type":"Literal","value":"hi"}}},
     {"id":"Finish1","type":"Elsa.Finish"}]
    """, """[{"source":{"activity":"Start1","port":"Done"},"target":{"activity":"Write1","port":"In"}},{"source":{"activity":"Write1","port":"Done"},"target":{"activity":"Finish1","port":"In"}}]""");
var first = await runtime.StartAsync("three");
var firstCompleted = DateTime.UtcNow - processStart;
if (first.SubStatus != WorkflowSubStatus.Finished) throw new InvalidOperationException("first run did not finish");
Report("time to first completed workflow after process start", $"{firstCompleted.TotalMilliseconds:F0} ms");

// Throughput: start + complete, sequential and with 4 concurrent callers.
await Measure("3-activity flowchart started+completed per second (1 caller)", 2000, 1, _ => runtime.StartAsync("three"));
await Measure("3-activity flowchart started+completed per second (4 callers)", 2000, 4, _ => runtime.StartAsync("three"));

// Waiting workflow: Event(name from input) -> WriteLine
await Publish("wait", """
    [{"id":"Wait1","type":"Elsa.Event","eventName":{"typeName":"String","expression":{"type":"JavaScript","value":"getInput('key')"}}},
     {"id":"Write1","type":"Elsa.WriteLine","text":{"typeName":"String","expression":{"type":"Literal","value":"resumed"}}}]
    """, """[{"source":{"activity":"Wait1","port":"Done"},"target":{"activity":"Write1","port":"In"}}]""");

// Memory per suspended instance: the runtime must keep nothing for them.
var before = Heap();
const int memoryInstances = 3000;
for (var i = 0; i < memoryInstances; i++) await StartWaiting($"mem-{i}");
var after = Heap();
Report("memory held per suspended instance", $"{Math.Max(0, after - before) / (double)memoryInstances:F1} bytes ({memoryInstances} instances, managed heap after full GC)");

// Resumes per second by stimulus.
const int resumeCount = 2000;
for (var i = 0; i < resumeCount; i++) await StartWaiting($"r-{i}");
await Measure("resumes per second by stimulus (1 caller)", resumeCount, 1, i => Resume($"r-{i}"));

// Resume cost as the number of suspended instances grows (bulk-filled with copies of a real suspended instance).
var template = ReadTemplate();
long filled = memoryInstances; // suspended instances already present
foreach (var target in new[] { 1_000, 100_000, 1_000_000 }.Where(t => t <= maxSuspended))
{
    if (filled < target)
    {
        var sw = Stopwatch.StartNew();
        BulkFill(template, filled, target - filled);
        Console.WriteLine($"  (filled {target - filled:N0} suspended instances in {sw.Elapsed.TotalSeconds:F1} s)");
        filled = target;
    }
    // Median and p90 rather than the mean: the machine is shared, and a mean follows its load spikes.
    const int probes = 300;
    for (var i = 0; i < probes; i++) await StartWaiting($"p{target}-{i}");
    var latencies = new List<double>(probes);
    for (var i = 0; i < probes; i++)
    {
        var one = Stopwatch.StartNew();
        await Resume($"p{target}-{i}");
        latencies.Add(one.Elapsed.TotalMilliseconds);
    }
    latencies.Sort();
    Report($"resume cost with {target:N0} suspended instances",
        $"median {latencies[probes / 2]:F2} ms, p90 {latencies[probes * 9 / 10]:F2} ms, mean {latencies.Average():F2} ms");
}

await host.StopAsync();
SqliteConnection.ClearAllPools();
Directory.Delete(folder, recursive: true);
return;

async Task Publish(string id, string activities, string connections)
{
    var root = new JsonObject { ["id"] = "Flowchart1", ["type"] = "Elsa.Flowchart", ["activities"] = JsonNode.Parse(activities), ["connections"] = JsonNode.Parse(connections) };
    var model = WorkflowJson.Deserialize(new JsonObject { ["definitionId"] = id, ["name"] = id, ["root"] = root }.ToJsonString());
    var result = await definitions.SaveAsync(model, publish: true);
    if (result.ValidationErrors.Count > 0) throw new InvalidOperationException(string.Join(" ", result.ValidationErrors));
}

async Task StartWaiting(string key)
{
    var r = await runtime.StartAsync("wait", new StartWorkflowRequest { Input = new Dictionary<string, object?> { ["key"] = key } });
    if (r.SubStatus != WorkflowSubStatus.Suspended) throw new InvalidOperationException("expected a suspension");
}

async Task Resume(string key)
{
    var r = await runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = key }) { KeepInInbox = false });
    if (r.Runs.Count != 1 || r.Runs[0].SubStatus != WorkflowSubStatus.Finished) throw new InvalidOperationException($"stimulus {key} did not resume exactly one instance");
}

async Task Measure(string name, int count, int callers, Func<int, Task> action)
{
    var next = -1;
    var sw = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, callers).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < count) await action(i);
    }));
    Report(name, $"{count / sw.Elapsed.TotalSeconds:F0}/s ({count} in {sw.Elapsed.TotalSeconds:F2} s)");
}

static long Heap()
{
    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    GC.WaitForPendingFinalizers();
    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    return GC.GetTotalMemory(forceFullCollection: true);
}

static void Report(string name, string value) => Console.WriteLine($"{name,-70} {value}");

(Dictionary<string, object?> Instance, Dictionary<string, object?> Bookmark) ReadTemplate()
{
    using var connection = new SqliteConnection($"Data Source={dbPath}");
    connection.Open();
    return (ReadRow(connection, "SELECT * FROM WorkflowInstances WHERE SubStatus = 'Suspended' LIMIT 1"),
            ReadRow(connection, "SELECT * FROM Bookmarks LIMIT 1"));
}

static Dictionary<string, object?> ReadRow(SqliteConnection connection, string sql)
{
    using var command = connection.CreateCommand();
    command.CommandText = sql;
    using var reader = command.ExecuteReader();
    reader.Read();
    return Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => reader.IsDBNull(i) ? null : reader.GetValue(i));
}

// Copies of a real suspended instance and its bookmark with fresh ids and unique hashes, inserted in
// large transactions with prepared statements: only way to reach 1M rows in minutes.
void BulkFill((Dictionary<string, object?> Instance, Dictionary<string, object?> Bookmark) template, long offset, long count)
{
    using var connection = new SqliteConnection($"Data Source={dbPath}");
    connection.Open();
    using (var pragma = connection.CreateCommand())
    {
        pragma.CommandText = "PRAGMA synchronous=OFF;";
        pragma.ExecuteNonQuery();
    }
    var instance = Prepare(connection, "WorkflowInstances", template.Instance);
    var bookmark = Prepare(connection, "Bookmarks", template.Bookmark);
    const int batch = 50_000;
    for (long done = 0; done < count; done += batch)
    {
        using var tx = connection.BeginTransaction();
        instance.Transaction = tx;
        bookmark.Transaction = tx;
        for (long i = done; i < Math.Min(count, done + batch); i++)
        {
            var id = $"fill{offset + i:D10}";
            instance.Parameters["$Id"].Value = id;
            instance.Parameters["$StartKey"].Value = DBNull.Value;
            instance.ExecuteNonQuery();
            bookmark.Parameters["$Id"].Value = "b" + id;
            bookmark.Parameters["$InstanceId"].Value = id;
            bookmark.Parameters["$Hash"].Value = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id)));
            bookmark.ExecuteNonQuery();
        }
        tx.Commit();
    }
}

static SqliteCommand Prepare(SqliteConnection connection, string table, Dictionary<string, object?> row)
{
    var command = connection.CreateCommand();
    command.CommandText = $"INSERT INTO {table} ({string.Join(",", row.Keys.Select(k => $"\"{k}\""))}) VALUES ({string.Join(",", row.Keys.Select(k => "$" + k))})";
    foreach (var (key, value) in row) command.Parameters.AddWithValue("$" + key, value ?? DBNull.Value);
    return command;
}
