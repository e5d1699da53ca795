using System.Globalization;
using Microsoft.Data.Sqlite;
using SmsActivities.Sandbox;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Server.Tests.Parity;
using Xunit.Abstractions;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// The send window end to end on the real server process and the real clock: a SendSms held by its window survives a
/// SIGKILL, and the next server process sends it once the window opens.
/// </summary>
public sealed class QuietHoursCrashTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_held_send_survives_a_kill_and_goes_out_when_its_window_opens()
    {
        var folder = Directory.CreateTempSubdirectory("smsactivities-quiet-hours-").FullName;
        var workflows = Directory.CreateDirectory(Path.Combine(folder, "workflows")).FullName;
        var data = Path.Combine(folder, "data");
        var database = Path.Combine(data, "smsactivities.db");
        try
        {
            string instanceId;
            DateTimeOffset opens;
            using (var first = ServerProcess.Start(ServerProcess.FreePort(), data, workflows))
            {
                using var http = await first.ClientWhenReadyAsync();
                // A window (in UTC) that opens 40 s from now: the send is held across the kill and released by the next server.
                opens = WholeSecond(DateTimeOffset.UtcNow.AddSeconds(40));
                var window = $"{opens:HH:mm:ss}-{opens.AddHours(2):HH:mm:ss}";
                await PublishAsync(http, SendWindowTests.Flow("quiet-hours-e2e", "+8613800138001", window, "UTC"));
                instanceId = await ExecuteAsync(http, "quiet-hours-e2e");
                var held = await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId);
                Assert.True(held is "Suspended", $"with the window {window} opening at {opens:O} the send should be held; the instance is {held} at {DateTimeOffset.UtcNow:O}");
                first.Kill();
            }

            using var second = ServerProcess.Start(ServerProcess.FreePort(), data, workflows);
            using var secondHttp = await second.ClientWhenReadyAsync();
            await ServerProcess.EventuallyAsync(async () => (string?)await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId) == "Finished",
                TimeSpan.FromSeconds(120), "the second server to send the held SMS when its window opens");
            var finishedAt = DateTimeOffset.FromUnixTimeMilliseconds((long)(await ScalarAsync(database, "SELECT FinishedAt FROM WorkflowInstances WHERE Id = $id", instanceId))!);
            output.WriteLine($"window opened {opens:O}, instance finished {finishedAt:O}");
            Assert.True(finishedAt >= opens, $"sent at {finishedAt:O}, before the window opened at {opens:O}");
            var outcome = (await InstanceAsync(secondHttp, instanceId))["workflowState"]!["variables"]?["Outcome"]?.ToString();
            Assert.True(outcome?.StartsWith("sent 1 held until " + opens.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), StringComparison.Ordinal) == true, "outcome: " + outcome);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task A_send_split_by_zone_killed_between_its_groups_sends_each_recipient_once()
    {
        // The vendors run in the test process, so what each handset got is counted across the kill.
        await using var vendors = await SandboxVendors.StartAsync();
        var settings = new Dictionary<string, string?>(vendors.Settings) { ["Server:Sandbox"] = "false", ["Server:ApiKey"] = ApiKey };
        var folder = Directory.CreateTempSubdirectory("smsactivities-quiet-hours-split-").FullName;
        var workflows = Directory.CreateDirectory(Path.Combine(folder, "workflows")).FullName;
        var data = Path.Combine(folder, "data");
        var database = Path.Combine(data, "smsactivities.db");
        const string tokyo = "+819012345678", shanghai = "+8613800138006";
        try
        {
            string instanceId;
            DateTimeOffset opens;
            using (var first = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, settings))
            {
                using var http = await first.ClientWhenReadyAsync(ApiKey);
                vendors.ConnectTo(first.BaseAddress);
                // A window that opens in Shanghai 60 s from now; Tokyo's clock is an hour ahead, so it is open there already.
                opens = WholeSecond(DateTimeOffset.UtcNow.AddSeconds(60));
                var local = opens.ToOffset(TimeSpan.FromHours(8));
                var window = $"{local:HH:mm:ss}-{local.AddHours(2):HH:mm:ss}";
                await PublishAsync(http, SendWindowTests.Flow("quiet-hours-split", [shanghai, tokyo], window, ""));
                instanceId = await ExecuteAsync(http, "quiet-hours-split");
                var held = await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId);
                Assert.True(held is "Suspended", $"with the window {window} (Shanghai) opening at {opens:O} the Shanghai group should be held; the instance is {held} at {DateTimeOffset.UtcNow:O}");
                Assert.True(vendors.HandsetInbox(tokyo).Count == 1 && vendors.HandsetInbox(shanghai).Count == 0,
                    $"before the kill Tokyo has {vendors.HandsetInbox(tokyo).Count} message(s), Shanghai {vendors.HandsetInbox(shanghai).Count} (expected 1 and 0)");
                first.Kill();
            }

            using var second = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, settings);
            using var secondHttp = await second.ClientWhenReadyAsync(ApiKey);
            vendors.ConnectTo(second.BaseAddress);
            await ServerProcess.EventuallyAsync(async () => (string?)await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId) == "Finished",
                TimeSpan.FromSeconds(150), "the second server to send the held Shanghai group when its window opens");
            Assert.True(vendors.HandsetInbox(tokyo).Count == 1 && vendors.HandsetInbox(shanghai).Count == 1,
                $"after the restart Tokyo has {vendors.HandsetInbox(tokyo).Count} message(s), Shanghai {vendors.HandsetInbox(shanghai).Count} (expected 1 each: nothing resent, nothing skipped)");
            var outcome = (await InstanceAsync(secondHttp, instanceId))["workflowState"]!["variables"]?["Outcome"]?.ToString();
            Assert.True(outcome?.StartsWith("sent 2 held until " + opens.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), StringComparison.Ordinal) == true, "outcome: " + outcome);
            var finishedAt = DateTimeOffset.FromUnixTimeMilliseconds((long)(await ScalarAsync(database, "SELECT FinishedAt FROM WorkflowInstances WHERE Id = $id", instanceId))!);
            output.WriteLine($"window opened {opens:O}, instance finished {finishedAt:O}");
            Assert.True(finishedAt >= opens, $"finished at {finishedAt:O}, before the Shanghai window opened at {opens:O}");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    private const string ApiKey = "quiet-hours-split-test-api-key";

    /// <summary>The window is written to the second, so it opens at the whole second, not at the moment the test computed.</summary>
    private static DateTimeOffset WholeSecond(DateTimeOffset at) => at.AddTicks(-(at.Ticks % TimeSpan.TicksPerSecond));

    private static async Task<object?> ScalarAsync(string database, string sql, string instanceId)
    {
        await using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", instanceId);
        return await command.ExecuteScalarAsync();
    }
}
