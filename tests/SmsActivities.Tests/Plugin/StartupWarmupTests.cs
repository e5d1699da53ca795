using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Persistence;

namespace SmsActivities.Tests.Plugin;

/// <summary>
/// The runtime's and the plug-in's start-up warm-ups run in a real host before it reports started: every part runs
/// (none warns that it failed) and what they write is rolled back or never committed, so a fresh start stores nothing.
/// </summary>
public sealed class StartupWarmupTests
{
    [Fact]
    public async Task The_warm_ups_run_without_a_warning_and_leave_no_row_behind()
    {
        await using var bed = await PluginTestBed.StartAsync();

        Assert.DoesNotContain(bed.Logs.Lines, l => l.Contains("Warming", StringComparison.Ordinal));
        await using (var db = await bed.Services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>().CreateDbContextAsync())
        {
            var left = (Records: await db.SendRecords.CountAsync(), Outcomes: await db.SendOutcomes.CountAsync(), Cells: await db.InsightCells.CountAsync(),
                Inbox: await db.PushInbox.CountAsync());
            Assert.True(left == (0, 0, 0, 0), $"plug-in rows left: {left}");
        }
        await using var runtime = new SqliteConnection($"Data Source={bed.RuntimeDatabasePath}");
        await runtime.OpenAsync();
        foreach (var table in new[] { "WorkflowInstances", "Bookmarks", "WorkflowExecutionLog", "ActivityExecutions", "Stimuli", "StimulusDeliveries" })
        {
            await using var count = runtime.CreateCommand();
            count.CommandText = $"SELECT COUNT(*) FROM \"{table}\"";
            Assert.True((long)(await count.ExecuteScalarAsync())! == 0, $"runtime rows left in {table}");
        }
    }
}
