using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// The server as a real process, killed with SIGKILL while it runs a workflow; a second process on the same data folder
/// must take the instance over within seconds (its owner stopped renewing the lease), not after minutes.
/// </summary>
public sealed class CrashTakeoverTests(ITestOutputHelper output)
{
    /// <summary>Start → Delay 1 s → two script steps of 3 s each: long enough to be killed in the middle of.</summary>
    private const string SlowWorkflow = """
    {
      "definitionId": "slow-job", "name": "slow-job", "version": 1, "isPublished": true, "isLatest": true,
      "root": {
        "id": "Flowchart1", "type": "Elsa.Flowchart", "version": 1,
        "activities": [
          { "id": "Start1", "type": "Elsa.Start", "version": 1 },
          { "id": "Delay1", "type": "Elsa.Delay", "version": 1, "timeSpan": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "00:00:01" } } },
          { "id": "Busy1", "type": "Elsa.WriteLine", "version": 1, "text": { "typeName": "String", "expression": { "type": "JavaScript", "value": "(function () { var end = new Date().getTime() + 3000; while (new Date().getTime() < end) {} return 'one'; })()" } } },
          { "id": "Busy2", "type": "Elsa.WriteLine", "version": 1, "text": { "typeName": "String", "expression": { "type": "JavaScript", "value": "(function () { var end = new Date().getTime() + 3000; while (new Date().getTime() < end) {} return 'two'; })()" } } }
        ],
        "connections": [
          { "source": { "activity": "Start1", "port": "Done" }, "target": { "activity": "Delay1", "port": "In" } },
          { "source": { "activity": "Delay1", "port": "Done" }, "target": { "activity": "Busy1", "port": "In" } },
          { "source": { "activity": "Busy1", "port": "Done" }, "target": { "activity": "Busy2", "port": "In" } }
        ]
      }
    }
    """;

    /// <summary>The slow steps are 3-second busy loops (millions of statements, a Date object each): the script limits, which are not under test here, are lifted.</summary>
    private static readonly Dictionary<string, string> ScriptLimitsLifted = new()
    {
        ["Workflows__Scripts__MaxStatements"] = int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Workflows__Scripts__MaxMemoryBytes"] = long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Workflows__Scripts__Timeout"] = "00:01:00",
    };

    [Fact]
    public async Task An_instance_whose_server_was_killed_mid_run_is_taken_over_within_seconds()
    {
        var folder = Directory.CreateTempSubdirectory("smsactivities-crash-").FullName;
        var workflows = Directory.CreateDirectory(Path.Combine(folder, "workflows")).FullName;
        var data = Path.Combine(folder, "data");
        await File.WriteAllTextAsync(Path.Combine(workflows, "slow-job.json"), SlowWorkflow);
        var database = Path.Combine(data, "smsactivities.db");
        try
        {
            // Two servers on one database, both up before anything runs, so start-up time is no part of the measure.
            using var a = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, ScriptLimitsLifted);
            using var http = await a.ClientWhenReadyAsync();
            using var b = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, ScriptLimitsLifted);
            (await b.ClientWhenReadyAsync()).Dispose();
            using var started = await http.PostAsync("elsa/api/workflow-definitions/slow-job/execute", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
            Assert.True(started.IsSuccessStatusCode, await started.Content.ReadAsStringAsync());
            var instanceId = started.Headers.GetValues("x-elsa-workflow-instance-id").Single();

            // Whichever server resumed the delay is inside the script steps, holding the lease: that one dies.
            string? owner = null;
            await ServerProcess.EventuallyAsync(async () => (owner = await LeaseOwnerAsync(database, instanceId)) is not null, TimeSpan.FromSeconds(60), "the run to start");
            var (victim, survivor) = owner!.Contains($":{a.Id}:", StringComparison.Ordinal) ? (a, b) : (b, a);
            victim.Kill();
            var killedAt = Stopwatch.StartNew();

            await ServerProcess.EventuallyAsync(async () => (await LeaseOwnerAsync(database, instanceId))?.Contains($":{survivor.Id}:", StringComparison.Ordinal) == true
                || await SubStatusAsync(database, instanceId) == "Finished", TimeSpan.FromSeconds(100), "the surviving server to take the instance over");
            var takenOverAfter = killedAt.Elapsed;
            output.WriteLine($"taken over {takenOverAfter.TotalSeconds:0.0} s after kill -9");
            await ServerProcess.EventuallyAsync(async () => await SubStatusAsync(database, instanceId) == "Finished", TimeSpan.FromSeconds(120), "the surviving server to finish the instance");
            // One 10 s lease and a poll, with room for a loaded machine; a 2-minute lease cannot pass.
            Assert.True(takenOverAfter < TimeSpan.FromSeconds(100), $"taken over after {takenOverAfter}");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    private static Task<string?> SubStatusAsync(string database, string instanceId) => ReadAsync(database, instanceId, "SubStatus");

    /// <summary>The owner (<c>machine:pid:guid</c>) of the instance's unexpired lease while it is executing.</summary>
    private static Task<string?> LeaseOwnerAsync(string database, string instanceId) =>
        ReadAsync(database, instanceId, "CASE WHEN SubStatus = 'Executing' THEN LeaseOwner END");

    private static async Task<string?> ReadAsync(string database, string instanceId, string column)
    {
        if (!File.Exists(database)) return null;
        await using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {column} FROM WorkflowInstances WHERE Id = $id";
        command.Parameters.AddWithValue("$id", instanceId);
        try
        {
            return await command.ExecuteScalarAsync() as string;
        }
        catch (SqliteException)
        {
            return null; // busy or not created yet
        }
    }

}
