using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using SmsActivities.Sandbox;
using SmsActivities.Server.Tests.Infrastructure;
using Xunit.Abstractions;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// A send's completion (its records settled, its outputs kept) rides the commit of the run that sent it: one write after
/// the vendor call, not two. The server kills itself (SIGKILL, through the runtime's crash point) inside that commit,
/// once with every statement written but not committed and once just after it. Either the state that says the send is
/// done and the settled records are both on disk or neither is: a kill before the commit leaves the record Pending and
/// the instance where it was, and the next server finds the send interrupted and ends it in doubt; a kill after leaves
/// both, and nothing runs again. Either way the handset gets the message once.
/// </summary>
public sealed class SendCommitCrashTests(ITestOutputHelper output)
{
    private const string ApiKey = "send-commit-crash-test-api-key";
    private const string Mobile = "+8613800138031";

    /// <summary>Start → Delay 1 s → SendSms: the send runs in a resumed run, whose instance and timer are on disk when the kill comes.</summary>
    private static JsonObject Flow() => Flowchart("send-after-delay",
        [
            Act("Start1", "Elsa.Start"),
            Act("Delay1", "Elsa.Delay", new JsonObject { ["timeSpan"] = Lit("00:00:01") }),
            Act("Send", "SmsActivities.SendSms", new JsonObject { ["recipients"] = Expr("Object", $"[\"{Mobile}\"]"), ["text"] = Lit("Your parcel is on its way") }),
        ],
        [Conn("Start1", "Delay1"), Conn("Delay1", "Send")]);

    [Theory]
    [InlineData("activity-write-written")]
    [InlineData("activity-write-committed")]
    public async Task A_send_killed_inside_its_runs_commit_is_settled_with_the_state_or_not_at_all_and_sent_once(string crashPoint)
    {
        // The vendors run in the test process, so what the handset got is counted across the kill.
        await using var vendors = await SandboxVendors.StartAsync();
        var settings = new Dictionary<string, string?>(vendors.Settings)
        {
            ["Server:Sandbox"] = "false", ["Server:ApiKey"] = ApiKey,
            // The dead server's lease on the instance runs out soon, so the next one takes it over within the test.
            ["Workflows:Runtime:LeaseDuration"] = "00:00:05",
        };
        var armed = new Dictionary<string, string?>(settings) { ["SMSACTIVITIES_CRASH_AT"] = crashPoint };
        var folder = Directory.CreateTempSubdirectory("smsactivities-send-commit-crash-").FullName;
        var workflows = Directory.CreateDirectory(Path.Combine(folder, "workflows")).FullName;
        var data = Path.Combine(folder, "data");
        var database = Path.Combine(data, "smsactivities.db");
        try
        {
            string instanceId;
            using (var first = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, armed))
            {
                using var http = await first.ClientWhenReadyAsync(ApiKey);
                vendors.ConnectTo(first.BaseAddress);
                await PublishAsync(http, Flow());
                instanceId = await ExecuteAsync(http, "send-after-delay");
                Assert.True(await first.ExitedWithinAsync(TimeSpan.FromSeconds(60)),
                    $"the server never reached the crash point {crashPoint}; its output:{Environment.NewLine}{first.RecentOutput}");
                Assert.Contains($"crash point {crashPoint} reached", first.RecentOutput, StringComparison.Ordinal);
            }
            Assert.Single(vendors.HandsetInbox(Mobile));

            // What the kill left on disk: the record settled and the outputs kept exactly when the run's state was committed.
            var status = await ScalarAsync(database, "SELECT Status FROM sms_send_records WHERE InstanceId = $id", instanceId);
            var kept = await ScalarAsync(database, "SELECT COUNT(*) FROM sms_send_outcomes WHERE IdempotencyKey IN (SELECT IdempotencyKey FROM sms_send_records WHERE InstanceId = $id)", instanceId);
            var subStatus = await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId);
            output.WriteLine($"after the kill: record {status}, {kept} kept outputs, instance {subStatus}");
            if (crashPoint == "activity-write-written")
            {
                Assert.True(status is "Pending" && kept is 0L && subStatus is not "Finished",
                    $"a commit killed before it committed left record {status}, {kept} kept outputs, instance {subStatus}: the send's completion was written without the run's state");
            }
            else
            {
                Assert.True(status is "Accepted" && kept is 1L && subStatus is "Finished",
                    $"a committed run left record {status}, {kept} kept outputs, instance {subStatus}: expected Accepted, 1, Finished");
            }

            using var second = ServerProcess.Start(ServerProcess.FreePort(), data, workflows, settings);
            using var secondHttp = await second.ClientWhenReadyAsync(ApiKey);
            vendors.ConnectTo(second.BaseAddress);
            await ServerProcess.EventuallyAsync(async () => (string?)await ScalarAsync(database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", instanceId) == "Finished",
                TimeSpan.FromSeconds(90), "the second server to finish the instance");
            // A moment for anything that would send again (a timer, a recovered delivery) to have run.
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.True(vendors.HandsetInbox(Mobile).Count == 1, $"the handset got {vendors.HandsetInbox(Mobile).Count} messages across the kill; one was sent");
            var completions = await ScalarAsync(database,
                "SELECT group_concat(Json, ' | ') FROM WorkflowExecutionLog WHERE InstanceId = $id AND EventName = 'Completed' AND ActivityType = 'SmsActivities.SendSms'", instanceId) as string;
            var record = await ScalarAsync(database, "SELECT Status FROM sms_send_records WHERE InstanceId = $id", instanceId);
            output.WriteLine($"after the restart: record {record}, SendSms completed {completions}");
            // Before the commit: the send is interrupted, so in doubt; unless the vendor's delivery report reached the
            // second server before the instance's lease ran out, settling the record (by number and time) first: then
            // the re-run finds the recipient answered and completes Sent with the reported message. Never sent again.
            var allowed = crashPoint == "activity-write-written" ? new[] { ("Unknown", "InDoubt"), ("Sent", "Accepted") } : [("Sent", "Accepted")];
            Assert.True(allowed.Any(a => completions?.Contains($"\"outcomes\":[\"{a.Item1}\"]", StringComparison.Ordinal) == true && Equals(record, a.Item2)),
                $"SendSms completed {completions ?? "(never)"} with its record {record}; expected one of {string.Join(", ", allowed)}");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    private static Task<object?> ScalarAsync(string database, string sql, string id) => SqliteFile.ScalarAsync(database, sql, id);
}
