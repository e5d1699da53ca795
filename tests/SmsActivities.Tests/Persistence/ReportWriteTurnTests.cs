using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using SmsActivities.Persistence;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Tests.Persistence;

/// <summary>
/// On SQLite a webhook's acknowledgement (an urgent write of the plug-in's file) must not wait for a whole batch of
/// pushes' reports: the reports are written a slice per transaction, and the write turn is handed on between slices.
/// </summary>
public sealed class ReportWriteTurnTests
{
    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2026, 11, 21, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task An_acknowledgement_asking_during_a_large_batch_of_reports_gets_the_next_write_turn()
    {
        var gate = new SqliteWriteGate();
        var commits = new FirstCommit();
        await using var db = await TestDatabase.CreateAsync(false, commits);
        var store = new SendRecordStore(db.Factory, _time, gate);
        var size = SendRecordStore.ReportsPerSqliteTransaction * 5 / 2;
        var reports = Enumerable.Range(0, size)
            .Select(i => new DeliveryReport(VendorNames.Yunpian, $"a{i}", null, DeliveryStatus.Delivered, null, null, _time.GetUtcNow())).ToArray();

        await using var ack = await db.Factory.CreateDbContextAsync();
        // Asked while the batch's first commit holds the turn, as a push arriving then would ask.
        var storedWhenAcknowledged = commits.Arm(() => CountInTurnAsync(gate.EnterAsync(ack, urgent: true, default), ack));
        await store.RecordReportsAsync(reports, _time.GetUtcNow(), default);

        Assert.Equal(SendRecordStore.ReportsPerSqliteTransaction, await (await storedWhenAcknowledged).WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(size, await ack.DeliveryReports.CountAsync());
    }

    private static async Task<int> CountInTurnAsync(ValueTask<IDisposable> entering, SmsActivitiesDbContext db)
    {
        using (await entering) return await db.DeliveryReports.CountAsync();
    }

    /// <summary>Runs the armed action once, inside the next commit (the committer still holds its write turn).</summary>
    private sealed class FirstCommit : DbTransactionInterceptor
    {
        private readonly TaskCompletionSource<Task<int>> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Func<Task<int>>? _armed;

        public Task<Task<int>> Arm(Func<Task<int>> action)
        {
            _armed = action;
            return _started.Task;
        }

        public override Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _armed, null) is { } action) _started.SetResult(action());
            return Task.CompletedTask;
        }
    }
}
