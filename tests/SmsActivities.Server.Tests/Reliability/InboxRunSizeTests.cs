using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Data.Sqlite;
using SmsActivities.Inbox;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Telemetry;
using SmsActivities.Vendors;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// The inbox processor claims pushes by count, but runs them in runs bounded by their events
/// (<c>SmsActivities:Inbox:MaxEventsPerRun</c>): a claim of many large pushes is not one accept transaction of all their
/// stimuli. Every push of the claim is still run, in order, and none is lost. The runs are told by their spans, which any
/// server in the process emits: the test runs alone.
/// </summary>
[Collection(Api.TelemetryCollection.Name)]
public sealed class InboxRunSizeTests
{
    [Fact]
    public async Task A_claim_of_pushes_with_more_events_than_a_run_takes_is_run_in_several_runs_and_every_report_is_stored()
    {
        var runs = new ConcurrentBag<int>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == SmsTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.OperationName == "sms.inbox" && activity.GetTagItem("sms.pushes") is int pushes) runs.Add(pushes);
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using var server = await ServerHost.StartAsync(new Dictionary<string, string?>
        {
            ["SmsActivities:Inbox:MaxEventsPerRun"] = "5",
            ["SmsActivities:Inbox:PollInterval"] = "00:00:00.100",
        });

        // Six pushes of two reports each, stored at once (one transaction), so one pass claims them all: three runs of two pushes.
        var inbox = Path.Combine(server.DataDirectory, "sms-inbox.db");
        await using (var connection = new SqliteConnection($"Data Source={inbox};Default Timeout=60;Pooling=False"))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            for (var push = 0; push < 6; push++)
            {
                var reports = Enumerable.Range(0, 2).Select(i => new DeliveryReport("tencent", $"run-size-{push}-{i}", "+8613800000000", DeliveryStatus.Delivered, null, null,
                    DateTimeOffset.UtcNow)).ToArray();
                await using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO sms_push_inbox (Events, ReceivedAtTicks, DueAtTicks, Attempts) VALUES ($events, 0, 0, 0)";
                insert.Parameters.AddWithValue("$events", new PushEvents(reports, [], []).ToJson());
                await insert.ExecuteNonQueryAsync();
            }
            await transaction.CommitAsync();
        }

        await ServerProcess.EventuallyAsync(async () => await CountAsync(inbox, "sms_push_inbox") == 0, TimeSpan.FromSeconds(60), "the inbox to be drained");
        Assert.Equal(12, await CountAsync(Path.Combine(server.DataDirectory, "smsactivities.db"), "sms_delivery_reports WHERE MessageId LIKE 'run-size-%'"));
        Assert.Equal([2, 2, 2], runs.Order().ToArray());
        SqliteConnection.ClearAllPools();
    }

    private static async Task<long> CountAsync(string file, string from)
    {
        await using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM " + from;
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
