using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Hosting;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Benchmarks;

/// <summary>
/// Resume cost on PostgreSQL as the number of suspended instances grows: the runtime on a new database, a real
/// suspended instance (Event → WriteLine) copied in bulk by one <c>INSERT … SELECT</c> per table (the same row with a
/// fresh id, and its bookmark with that id's own hash, as the runtime would have stored them), then a few hundred
/// instances started and resumed one by one at each size. The tables are analysed after each fill, as autovacuum
/// would on a live database.
/// </summary>
internal static class PostgresResumeBenchmark
{
    private const string Definition = "wait";

    public static async Task RunAsync(string[] args)
    {
        string? Text(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var sizes = (Text("--suspended") ?? "1000,100000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).Order().ToArray();
        var probes = int.Parse(Text("--probes") ?? "300", CultureInfo.InvariantCulture);
        var database = await PostgresBench.CreateDatabaseAsync(Text("--postgres"), "resume_bench");
        Console.WriteLine($"resume on PostgreSQL: {string.Join(" vs ", sizes.Select(s => s.ToString("N0", CultureInfo.InvariantCulture)))} suspended instances, {probes} probes each, "
            + $"{Environment.ProcessorCount} cores, load average {PostgresBench.LoadAverage()}");

        using var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning))
            .ConfigureServices(s =>
            {
                s.AddSingleton(new WorkflowConsole(TextWriter.Null));
                s.AddWorkflowRuntime(o =>
                {
                    o.UseDatabase(new DatabaseSettings(DatabaseProvider.PostgreSql, database));
                    o.RunBackgroundService = false; // the runtime itself, without the poller's queries in between
                });
            })
            .Build();
        try
        {
            await host.StartAsync();
            var runtime = host.Services.GetRequiredService<WorkflowRuntime>();
            var definitions = host.Services.GetRequiredService<WorkflowDefinitionService>();
            await PublishAsync(definitions);
            var template = await StartWaitingAsync(runtime, "template");

            var medians = new List<(int Size, double Median)>();
            long present = 1;
            foreach (var size in sizes)
            {
                if (present < size)
                {
                    var fill = Stopwatch.StartNew();
                    await FillAsync(database, template, present, size - present);
                    Console.WriteLine($"  (filled {size - present:N0} suspended instances in {fill.Elapsed.TotalSeconds:F1} s)");
                    present = size;
                }
                // Warm-up at this size, then the probes: the median and p90, not the mean, on a shared machine.
                for (var i = 0; i < 20; i++) await ResumeAsync(runtime, await StartWaitingAsync(runtime, $"w{size}-{i}"), $"w{size}-{i}");
                var keys = Enumerable.Range(0, probes).Select(i => $"p{size}-{i}").ToList();
                foreach (var key in keys) await StartWaitingAsync(runtime, key);
                var latencies = new List<double>(probes);
                foreach (var key in keys)
                {
                    var one = Stopwatch.StartNew();
                    await ResumeAsync(runtime, null, key);
                    latencies.Add(one.Elapsed.TotalMilliseconds);
                }
                latencies.Sort();
                var median = latencies[probes / 2];
                medians.Add((size, median));
                Report($"resume cost on PostgreSQL with {size:N0} suspended instances",
                    $"median {median:F2} ms, p90 {latencies[probes * 9 / 10]:F2} ms, mean {latencies.Average():F2} ms");
            }
            if (medians.Count > 1)
                Report($"ratio resume median {medians[^1].Size:N0} : {medians[0].Size:N0} suspended on PostgreSQL", $"{medians[^1].Median / medians[0].Median:F2}x (target <= 1.5x)");
            await host.StopAsync();
        }
        finally
        {
            await PostgresBench.DropDatabaseAsync(database);
        }
    }

    private static async Task PublishAsync(WorkflowDefinitionService definitions)
    {
        var root = new JsonObject
        {
            ["id"] = "Flowchart1", ["type"] = "Elsa.Flowchart",
            ["activities"] = JsonNode.Parse("""
                [{"id":"Wait1","type":"Elsa.Event","eventName":{"typeName":"String","expression":{"type":"JavaScript","value":"getInput('key')"}}},
                 {"id":"Write1","type":"Elsa.WriteLine","text":{"typeName":"String","expression":{"type":"Literal","value":"resumed"}}}]
                """),
            ["connections"] = JsonNode.Parse("""[{"source":{"activity":"Wait1","port":"Done"},"target":{"activity":"Write1","port":"In"}}]"""),
        };
        var model = WorkflowJson.Deserialize(new JsonObject { ["definitionId"] = Definition, ["name"] = Definition, ["root"] = root }.ToJsonString());
        var result = await definitions.SaveAsync(model, publish: true);
        if (result.ValidationErrors.Count > 0) throw new InvalidOperationException(string.Join(" ", result.ValidationErrors));
    }

    private static async Task<string> StartWaitingAsync(WorkflowRuntime runtime, string key)
    {
        var r = await runtime.StartAsync(Definition, new StartWorkflowRequest { Input = new Dictionary<string, object?> { ["key"] = key } });
        return r.SubStatus == WorkflowSubStatus.Suspended ? r.InstanceId : throw new InvalidOperationException($"expected a suspension, got {r.SubStatus}");
    }

    private static async Task ResumeAsync(WorkflowRuntime runtime, string? instanceId, string key)
    {
        var r = await runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = key }) { KeepInInbox = false });
        if (r.Runs.Count != 1 || r.Runs[0].SubStatus != WorkflowSubStatus.Finished || (instanceId is not null && r.Runs[0].InstanceId != instanceId))
            throw new InvalidOperationException($"stimulus {key} did not resume exactly its one instance");
    }

    /// <summary>
    /// <paramref name="count"/> copies of the template instance and its bookmark: every column as the runtime wrote it,
    /// except the ids (<c>fill0000000001</c>…), no start key (it is unique), and the bookmark's hash made from the new id
    /// so that no two copies share a lookup key.
    /// </summary>
    private static async Task FillAsync(string database, string templateId, long offset, long count)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        const string id = "'fill' || lpad(g::text, 10, '0')";
        var instanceColumns = await ColumnsAsync(connection, "WorkflowInstances");
        var bookmarkColumns = await ColumnsAsync(connection, "Bookmarks");
        string Select(IEnumerable<string> columns, Func<string, string?> replaced) =>
            string.Join(", ", columns.Select(c => replaced(c) ?? $"t.\"{c}\""));
        var sql = $"""
            INSERT INTO workflows."WorkflowInstances" ({string.Join(", ", instanceColumns.Select(c => $"\"{c}\""))})
            SELECT {Select(instanceColumns, c => c switch { "Id" => id, "StartKey" => "NULL", _ => null })}
            FROM workflows."WorkflowInstances" t, generate_series(@from, @to) g WHERE t."Id" = @template;
            INSERT INTO workflows."Bookmarks" ({string.Join(", ", bookmarkColumns.Select(c => $"\"{c}\""))})
            SELECT {Select(bookmarkColumns, c => c switch { "Id" => "'b' || " + id, "InstanceId" => id, "Hash" => $"encode(sha256(convert_to({id}, 'UTF8')), 'hex')", _ => null })}
            FROM workflows."Bookmarks" t, generate_series(@from, @to) g WHERE t."InstanceId" = @template;
            ANALYZE workflows."WorkflowInstances";
            ANALYZE workflows."Bookmarks";
            """;
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        command.Parameters.AddWithValue("from", offset);
        command.Parameters.AddWithValue("to", offset + count - 1);
        command.Parameters.AddWithValue("template", templateId);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<string>> ColumnsAsync(NpgsqlConnection connection, string table)
    {
        await using var command = new NpgsqlCommand("SELECT column_name FROM information_schema.columns WHERE table_schema = 'workflows' AND table_name = @table ORDER BY ordinal_position", connection);
        command.Parameters.AddWithValue("table", table);
        var columns = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) columns.Add(reader.GetString(0));
        return columns;
    }

    private static void Report(string name, string value) => Console.WriteLine($"{name,-70} {value}");
}
