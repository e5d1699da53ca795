using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using SmsActivities.Sandbox;
using SmsActivities.Vendors;
using SmsActivities.Vendors.Yunpian;
using SmsActivities.Webhooks;

namespace SmsActivities.Benchmarks;

/// <summary>
/// Delivery reports end to end on PostgreSQL, one node and then two nodes side by side in the same run: real server
/// processes on a new database each, the vendor emulators in this process with their own pushes off. <c>--reports</c>
/// instances each send one SMS through Yunpian and wait for its report; then the reports are pushed as Yunpian does
/// (<c>sms_status</c> form posts of up to <c>--push-batch</c> records), spread over the nodes in turn, and the clock runs
/// until every instance has finished.
/// </summary>
internal static class PostgresReportsBenchmark
{
    private const string ApiKey = "pg-reports-bench-api-key";

    /// <summary>Start → SendSms (Yunpian, to the input's mobile) → WaitForDeliveryReport of that send.</summary>
    private const string SendAndWait = """
    {
      "definitionId": "send-and-wait", "name": "send-and-wait", "version": 1, "isPublished": true, "isLatest": true,
      "root": {
        "id": "Flowchart1", "type": "Elsa.Flowchart", "version": 1,
        "activities": [
          { "id": "Start1", "type": "Elsa.Start", "version": 1 },
          { "id": "Send1", "type": "SmsActivities.SendSms", "version": 1,
            "vendor": { "typeName": "String", "expression": { "type": "Literal", "value": "yunpian" } },
            "recipients": { "typeName": "Object", "expression": { "type": "JavaScript", "value": "getInput('mobile')" } },
            "text": { "typeName": "String", "expression": { "type": "Literal", "value": "Your parcel is on its way" } } },
          { "id": "Wait1", "type": "SmsActivities.WaitForDeliveryReport", "version": 1,
            "sendSmsActivityId": { "typeName": "String", "expression": { "type": "Literal", "value": "Send1" } },
            "timeout": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "01:00:00" } } }
        ],
        "connections": [
          { "source": { "activity": "Start1", "port": "Done" }, "target": { "activity": "Send1", "port": "In" } },
          { "source": { "activity": "Send1", "port": "Sent" }, "target": { "activity": "Wait1", "port": "In" } }
        ]
      }
    }
    """;

    public static async Task RunAsync(string[] args)
    {
        string? Text(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        int Number(string name, int fallback) => Text(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var reports = Number("--reports", 1000);
        var pushBatch = Number("--push-batch", 100);
        var callers = Number("--callers", 4);
        Console.WriteLine($"delivery reports on PostgreSQL: {reports} per run (pushes of up to {pushBatch}, {callers} pushers), 1 node then 2 nodes, "
            + $"{Environment.ProcessorCount} cores, load average {PostgresBench.LoadAverage()}");
        var rates = new List<double>();
        foreach (var nodes in new[] { 1, 2 })
        {
            var rate = await RunOnceAsync(Text("--postgres"), nodes, reports, pushBatch, callers);
            rates.Add(rate);
        }
        Report("ratio 2 nodes : 1 node (reports/s)", $"{rates[1] / rates[0]:F2}x (both nodes share this machine's {Environment.ProcessorCount} cores and the one database)");
    }

    private static async Task<double> RunOnceAsync(string? server, int nodeCount, int reports, int pushBatch, int callers)
    {
        var database = await PostgresBench.CreateDatabaseAsync(server, $"reports{nodeCount}");
        var folder = Directory.CreateTempSubdirectory("pg-reports-bench-").FullName;
        var workflows = Directory.CreateDirectory(Path.Combine(folder, "workflows")).FullName;
        await File.WriteAllTextAsync(Path.Combine(workflows, "send-and-wait.json"), SendAndWait);
        // No push address: the emulator keeps its reports, and this benchmark pushes them when it measures.
        await using var vendors = await SandboxVendors.StartAsync(timeScale: 0.001);
        var nodes = new List<ChaosServer>();
        var clients = new List<HttpClient>();
        try
        {
            for (var i = 0; i < nodeCount; i++)
            {
                var settings = new Dictionary<string, string?>(vendors.Settings)
                {
                    ["Server:Sandbox"] = "false",
                    ["Server:ApiKey"] = ApiKey,
                    ["Server:DataDirectory"] = Path.Combine(folder, $"data-{i}"),
                    ["Server:WorkflowsFolder"] = workflows,
                    ["ConnectionStrings:Workflows"] = database,
                };
                // One after the other: the first applies the migrations.
                var node = ChaosServer.Start(ChaosServer.FreePort(), settings);
                nodes.Add(node);
                var client = new HttpClient { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
                client.DefaultRequestHeaders.Add("Authorization", "ApiKey " + ApiKey);
                clients.Add(client);
                await node.WaitUntilHealthyAsync(client, TimeSpan.FromMinutes(3));
            }

            var setup = Stopwatch.StartNew();
            await SmsBenchmarks.Parallel(reports, callers, async i =>
            {
                using var started = await clients[i % nodeCount].PostAsJsonAsync("elsa/api/workflow-definitions/send-and-wait/execute",
                    new JsonObject { ["input"] = new JsonObject { ["mobile"] = $"+86137{i:D8}" } });
                if (!started.IsSuccessStatusCode) throw new InvalidOperationException($"start {i} answered {(int)started.StatusCode}: {await started.Content.ReadAsStringAsync()}");
            });
            await WaitAsync(database, "Suspended", reports, TimeSpan.FromMinutes(10));
            var sent = vendors.Emulators.Yunpian.Sent;
            if (sent.Count != reports) throw new InvalidOperationException($"Yunpian sent {sent.Count} messages for {reports} instances");
            Console.WriteLine($"  ({nodeCount} node{(nodeCount > 1 ? "s" : "")}: {reports} instances started and waiting in {setup.Elapsed.TotalSeconds:F1} s)");

            var now = YunpianFormat.FormatTime(DateTimeOffset.UtcNow);
            var bodies = sent.Chunk(pushBatch).Select(chunk => "sms_status=" + Uri.EscapeDataString(JsonSerializer.Serialize(
                chunk.Select(m => new YunpianStatusRecord(m.Sid, m.Uid, now, "", m.Mobile, "SUCCESS")).ToArray(), YunpianFormat.Json))).ToArray();
            var path = SmsWebhookEndpoints.PathFor(VendorNames.Yunpian, "status", vendors.WebhookToken).TrimStart('/');
            var clock = Stopwatch.StartNew();
            await SmsBenchmarks.Parallel(bodies.Length, callers, async i =>
            {
                using var content = new StringContent(bodies[i], System.Text.Encoding.UTF8, "application/x-www-form-urlencoded");
                using var response = await clients[i % nodeCount].PostAsync(path, content);
                if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"push {i} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            });
            var acknowledged = clock.Elapsed;
            await WaitAsync(database, "Finished", reports, TimeSpan.FromMinutes(10));
            var rate = reports / clock.Elapsed.TotalSeconds;
            Report($"delivery reports end to end on PostgreSQL, {nodeCount} node{(nodeCount > 1 ? "s" : "")} (push → resumed → finished)",
                $"{rate:F0}/s ({reports} in {clock.Elapsed.TotalSeconds:F2} s, all acknowledged at {acknowledged.TotalSeconds:F2} s)");
            return rate;
        }
        catch (Exception) when (nodes.Count > 0)
        {
            foreach (var node in nodes) Console.Error.WriteLine($"node {node.BaseAddress} wrote:{Environment.NewLine}{node.Tail}");
            throw;
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
            foreach (var node in nodes) node.Dispose();
            NpgsqlConnection.ClearAllPools();
            await PostgresBench.DropDatabaseAsync(database);
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Polls until <paramref name="count"/> send-and-wait instances have the sub-status.</summary>
    private static async Task WaitAsync(string database, string subStatus, int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand("""SELECT COUNT(*) FROM workflows."WorkflowInstances" WHERE "DefinitionId" = 'send-and-wait' AND "SubStatus" = @s""", connection);
        query.Parameters.AddWithValue("s", subStatus);
        while (true)
        {
            var seen = Convert.ToInt64(await query.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
            if (seen >= count) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"only {seen} of {count} instances became {subStatus}");
            await Task.Delay(20);
        }
    }

    private static void Report(string name, string value) => Console.WriteLine($"{name,-78} {value}");
}
