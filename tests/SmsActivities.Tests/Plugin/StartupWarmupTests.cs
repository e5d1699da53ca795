using Microsoft.Data.Sqlite;
using SmsActivities.Activities;

namespace SmsActivities.Tests.Plugin;

/// <summary>
/// The runtime's and the plug-in's start-up warm-ups run in a real host before it reports started: every part runs
/// (none warns that it failed) and what they write is rolled back or never committed, so a fresh start stores nothing
/// more than a start without them; and the report path they rehearse still works once for real.
/// </summary>
public sealed class StartupWarmupTests
{
    private const string Mobile = "+8613800138001";

    private static CodeWorkflow SendAndWait() => new("send-and-wait", f =>
    {
        var send = f.Add(new SendSms { Id = "send", Vendor = new("tencent"), Recipients = new(Mobile), Text = new("Your parcel is ready") });
        var wait = f.Add(new WaitForDeliveryReport { Id = "wait", SendSmsActivityId = new("send"), Timeout = new(TimeSpan.FromMinutes(5)) });
        f.Connect(send, wait, SendSms.Sent);
    });

    [Fact]
    public async Task The_warm_ups_run_without_a_warning_and_leave_no_row_behind()
    {
        IReadOnlyDictionary<string, long> cold, warm;
        await using (var bed = await PluginTestBed.StartAsync([SendAndWait()], configureRuntime: o => o.WarmUpOnStart = false))
            cold = await RowsAsync(bed);
        await using (var bed = await PluginTestBed.StartAsync([SendAndWait()]))
        {
            warm = await RowsAsync(bed);
            Assert.DoesNotContain(bed.Logs.Lines, l => l.Contains("Warming", StringComparison.Ordinal));
            // The warm-up's ids and vendor are all "warm-up…": none of them reaches a log line at Information or above.
            Assert.DoesNotContain(bed.Logs.Lines, l => l.Contains("warm-up", StringComparison.OrdinalIgnoreCase));
        }

        Assert.Equal(cold, warm);
        // What a start is expected to store: the published workflow and its migrations, nothing of a send, report, run or push.
        Assert.All(warm.Where(t => t.Value > 0), t => Assert.Contains(t.Key, new[] { "__SmsMigrationsHistory", "__EFMigrationsHistory", "WorkflowDefinitions" }));
    }

    [Fact]
    public async Task After_the_warm_ups_a_real_report_resumes_its_wait_exactly_once()
    {
        await using var bed = await PluginTestBed.StartAsync([SendAndWait()]);

        var run = await bed.RunAsync("send-and-wait");
        var state = await bed.WaitForFinishAsync(run.InstanceId);

        Assert.Equal([WaitForDeliveryReport.Delivered], await bed.OutcomesAsync(run.InstanceId, "wait"));
        Assert.Equal(1, state.ActivityOutputs["wait"]["Tally"]!["delivered"]!.GetValue<int>());
        var journal = (await bed.Instances.GetJournalAsync(run.InstanceId, new SmsActivities.Workflows.Runtime.JournalQuery { Take = 1000 })).Items;
        Assert.Single(journal, r => r.ActivityId == "wait" && r.EventName == "Resumed");
        Assert.Single(journal, r => r.ActivityId == "wait" && r.EventName == "Completed");
        Assert.DoesNotContain(bed.Logs.Lines, l => l.Contains("Warming", StringComparison.Ordinal));
    }

    /// <summary>Every table's row count in the database (the runtime's file, which holds the plug-in's tables too).</summary>
    private static async Task<IReadOnlyDictionary<string, long>> RowsAsync(PluginTestBed bed)
    {
        var rows = new SortedDictionary<string, long>(StringComparer.Ordinal);
        await using var db = new SqliteConnection($"Data Source={bed.RuntimeDatabasePath};Pooling=False");
        await db.OpenAsync();
        var tables = new List<string>();
        await using (var list = db.CreateCommand())
        {
            list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'";
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        }
        foreach (var table in tables)
        {
            await using var count = db.CreateCommand();
            count.CommandText = $"SELECT COUNT(*) FROM \"{table}\"";
            rows[table] = (long)(await count.ExecuteScalarAsync())!;
        }
        return rows;
    }
}
