using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using SmsActivities.Persistence;
using SmsActivities.Routing;
using SmsActivities.Vendors;

namespace SmsActivities.Tests.Persistence;

/// <summary>
/// The insights cells must always equal the send records joined with their reports, summed here row by row: through
/// every write the record store makes, a report that comes before its send settled, repeated and upgraded reports,
/// replies, and reports racing the settles of their sends. On SQLite and on PostgreSQL.
/// </summary>
public sealed class InsightRollupTests
{
    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2026, 11, 21, 9, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Cells_equal_the_records_through_every_write(bool postgres)
    {
        await using var db = await TestDatabase.CreateAsync(postgres);
        var store = new SendRecordStore(db.Factory, _time);
        string[] batch1 = ["+8613800000001", "+8613800000002", "+8613800000003", "+8613800000004"];
        string[] batch2 = ["+8613800000005", "+8613800000006"];
        await store.BeginAsync("campaign", "i-1", "Send1", VendorNames.Yunpian, [.. batch1, .. batch2], default, batched: true, definitionId: "campaign");
        await AssertCellsAsync(db, "begun");
        var ids = await store.RecordIdsAsync("campaign", default);

        // A report for a message whose send has not settled yet counts nowhere until it does.
        _time.Advance(TimeSpan.FromSeconds(1));
        await store.RecordReportsAsync([Report(VendorNames.Yunpian, "m1", DeliveryStatus.Delivered)], _time.GetUtcNow(), default);
        await AssertCellsAsync(db, "report before its send settled");

        await store.StartBatchAsync(batch1.Select(m => ids[m]).ToArray(), default);
        await store.SettleAsync("campaign", ids, [
            new SmsRecipientOutcome(batch1[0], VendorNames.Yunpian, true, "m1", "0", null, 0.045m, 1),
            new SmsRecipientOutcome(batch1[1], VendorNames.Tencent, true, "m2", "0", null, 1m, 2),
            new SmsRecipientOutcome(batch1[2], VendorNames.Yunpian, false, null, "53", "blacklisted", null, 1),
            new SmsRecipientOutcome(batch1[3], VendorNames.Yunpian, true, "m4", "0", null, 0.045m, 1),
        ], default);
        await AssertCellsAsync(db, "first batch settled (its early report now counted)");

        _time.Advance(TimeSpan.FromSeconds(3.25));
        await store.RecordReportsAsync([
            Report(VendorNames.Tencent, "m2", DeliveryStatus.Unknown),
            Report(VendorNames.Yunpian, "m4", DeliveryStatus.Failed, "UNDELIV"),
            Report(VendorNames.Yunpian, "m1", DeliveryStatus.Failed, "LATE"), // a second final report: the first one stands
        ], _time.GetUtcNow(), default);
        await AssertCellsAsync(db, "reports, one Unknown");
        _time.Advance(TimeSpan.FromSeconds(10));
        await store.RecordReportsAsync([Report(VendorNames.Tencent, "m2", DeliveryStatus.Delivered)], _time.GetUtcNow(), default);
        await store.RecordReportsAsync([Report(VendorNames.Tencent, "m2", DeliveryStatus.Delivered)], _time.GetUtcNow(), default);
        await AssertCellsAsync(db, "Unknown upgraded to Delivered, then repeated");

        var at = _time.GetUtcNow();
        await store.RecordRepliesAsync([(batch1[0], false, at), (batch1[0], true, at), (batch1[1], true, at), ("+8613999999999", false, at)], default);
        await AssertCellsAsync(db, "replies and opt-outs");

        // The whole send completes: the second batch with it, in doubt and accepted; settled rows settle again unchanged.
        await store.StartBatchAsync(batch2.Select(m => ids[m]).ToArray(), default);
        await store.CompleteAsync("campaign", [
            new SmsRecipientOutcome(batch1[0], VendorNames.Yunpian, true, "m1", "0", null, 0.045m, 1),
            new SmsRecipientOutcome(batch1[1], VendorNames.Tencent, true, "m2", "0", null, 1m, 2),
            new SmsRecipientOutcome(batch1[2], VendorNames.Yunpian, false, null, "53", "blacklisted", null, 1),
            new SmsRecipientOutcome(batch1[3], VendorNames.Yunpian, true, "m4", "0", null, 0.045m, 1),
            new SmsRecipientOutcome(batch2[0], VendorNames.Yunpian, false, null, null, "timeout", null, 1, InDoubt: true),
            new SmsRecipientOutcome(batch2[1], VendorNames.Yunpian, true, "m6", "0", null, 0.045m, 1),
        ], new { done = true }, default);
        await AssertCellsAsync(db, "completed");

        // An interrupted single send: Pending, then surfaced in doubt; and an email send, which the page leaves out.
        await store.BeginAsync("otp", "i-2", "Send1", VendorNames.Tencent, ["+8613800000009"], default);
        await store.MarkInDoubtAsync("otp", default);
        await store.BeginAsync("mail", "i-2", "Mail1", "sendcloud", ["someone@example.com"], default);
        await store.CompleteAsync("mail", [new SmsRecipientOutcome("someone@example.com", "sendcloud", true, "e1", null, null, null, 1)], new { }, default);
        await AssertCellsAsync(db, "in doubt and email");

        // Retention takes the records and their cells together.
        _time.Advance(TimeSpan.FromDays(8));
        await new SmsRetention(db.Factory, db.DeadLetters, Microsoft.Extensions.Options.Options.Create(new SmsRetentionOptions()), _time).PurgeAsync();
        await AssertCellsAsync(db, "purged");
        await using var context = await db.Factory.CreateDbContextAsync();
        Assert.Equal(0, await context.InsightCells.CountAsync());
    }

    /// <summary>
    /// A campaign batch this run began and started is settled without its records read back (their state assumed from
    /// the begin): the records and cells must come out as a settle that reads them leaves them, also when an early report
    /// is waiting, a number is listed twice, and when another run marked the batch in doubt between the start and the
    /// settle (the assumption is then wrong: the settle must notice and settle reading them, or the cells drift).
    /// </summary>
    [Fact]
    public async Task A_started_batch_settled_without_reading_its_records_leaves_them_and_their_cells_as_a_read_settle_does()
    {
        await using var db = await TestDatabase.CreateAsync(postgres: false);
        var store = new SendRecordStore(db.Factory, _time);
        var mobiles = Enumerable.Range(0, 8).Select(i => $"+86138000000{i:D2}").Append("+8613800000001").ToArray();
        var begun = await store.BeginAsync("campaign", "i-1", "Send1", VendorNames.Yunpian, mobiles, default, batched: true, definitionId: "campaign");
        Assert.NotNull(begun);
        _time.Advance(TimeSpan.FromSeconds(1));
        await store.RecordReportsAsync([Report(VendorNames.Yunpian, "m0", DeliveryStatus.Delivered)], _time.GetUtcNow(), default);

        // The first batch as a campaign runs it: started here, answered (one refused, one failed over to Tencent), settled.
        string[] first = [.. mobiles[..4], mobiles[^1]];
        Assert.True(await store.StartBatchAsync(first.Select(m => begun.Ids[m]).Distinct().ToArray(), default));
        await store.SettleStartedAsync(begun, [
            new SmsRecipientOutcome(first[0], VendorNames.Yunpian, true, "m0", "0", null, 0.045m, 1),
            new SmsRecipientOutcome(first[1], VendorNames.Tencent, true, "m1", "0", null, 1m, 2),
            new SmsRecipientOutcome(first[2], VendorNames.Yunpian, false, null, "53", "blacklisted", null, 1),
            new SmsRecipientOutcome(first[3], VendorNames.Yunpian, true, "m3", "0", null, 0.045m, 1),
            new SmsRecipientOutcome(first[4], VendorNames.Yunpian, true, "m1-again", "0", null, 0.045m, 1),
        ], default);
        await AssertCellsAsync(db, "first batch settled without reading");

        // The second batch is started, then another run of the send (a node that took the instance over) marks its
        // Pending records in doubt before this run's answer is settled.
        var second = mobiles[4..8];
        Assert.True(await store.StartBatchAsync(second.Select(m => begun.Ids[m]).ToArray(), default));
        await store.MarkInDoubtAsync("campaign", default);
        await AssertCellsAsync(db, "marked in doubt by another run");
        await store.SettleStartedAsync(begun, second.Select((m, i) => new SmsRecipientOutcome(m, VendorNames.Yunpian, true, $"n{i}", "0", null, 0.045m, 1)).ToArray(), default);
        await AssertCellsAsync(db, "second batch settled after the takeover");

        await using var context = await db.Factory.CreateDbContextAsync();
        var records = await context.SendRecords.AsNoTracking().OrderBy(r => r.Id).ToListAsync();
        Assert.Equal(["Accepted", "Accepted", "Rejected", "Accepted", "Accepted", "Accepted", "Accepted", "Accepted", "Queued"], records.Select(r => r.Status));
        Assert.Equal([VendorNames.Yunpian, VendorNames.Tencent], records.Take(2).Select(r => r.Vendor));
        Assert.Equal(["m0", "m1", null, "m3", "n0", "n1", "n2", "n3", null], records.Select(r => r.MessageId));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reports_racing_the_settles_of_their_sends_are_counted_once(bool postgres)
    {
        await using var db = await TestDatabase.CreateAsync(postgres);
        var store = new SendRecordStore(db.Factory, _time);
        const int batches = 12, size = 25;
        var mobiles = Enumerable.Range(0, batches * size).Select(i => $"+86139{i:D8}").ToArray();
        await store.BeginAsync("race", "i-race", "Send1", VendorNames.Yunpian, mobiles, default, batched: true);
        var ids = await store.RecordIdsAsync("race", default);
        _time.Advance(TimeSpan.FromSeconds(2));

        // Each batch's settle and its reports (in two pushes) start together: whichever commits first, each message counts once.
        var work = mobiles.Chunk(size).Select((batch, b) =>
        {
            var outcomes = batch.Select((m, i) => new SmsRecipientOutcome(m, VendorNames.Yunpian, true, $"r{b}-{i}", "0", null, 0.05m, 1)).ToArray();
            var reports = outcomes.Select((o, i) => Report(VendorNames.Yunpian, o.MessageId!, i % 5 == 0 ? DeliveryStatus.Failed : DeliveryStatus.Delivered, "E1")).ToArray();
            return new[]
            {
                Task.Run(async () => { await store.StartBatchAsync(batch.Select(m => ids[m]).ToArray(), default); await store.SettleAsync("race", ids, outcomes, default); }),
                Task.Run(() => store.RecordReportsAsync(reports[..(size / 2)], _time.GetUtcNow(), default)),
                Task.Run(() => store.RecordReportsAsync(reports[(size / 2)..], _time.GetUtcNow(), default)),
            };
        }).SelectMany(t => t).ToArray();
        await Task.WhenAll(work);

        await AssertCellsAsync(db, "after the race");
        await using var context = await db.Factory.CreateDbContextAsync();
        var delivered = await context.InsightCells.Where(c => c.DeliveryStatus == "Delivered").SumAsync(c => c.Count);
        var failed = await context.InsightCells.Where(c => c.DeliveryStatus == "Failed").SumAsync(c => c.Count);
        Assert.True(delivered == batches * size * 4 / 5 && failed == batches * size / 5, $"delivered {delivered}, failed {failed} of {batches * size}");
    }

    /// <summary>
    /// A batch of reports larger than one SQLite transaction is written slice by slice: each message still counts once,
    /// an Unknown report and the final one of the same message in different slices leave the final one, and every
    /// reported message's send is returned.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_batch_of_reports_written_in_several_transactions_counts_each_message_once(bool postgres)
    {
        await using var db = await TestDatabase.CreateAsync(postgres);
        var store = new SendRecordStore(db.Factory, _time);
        var size = SendRecordStore.ReportsPerSqliteTransaction * 5 / 2;
        var mobiles = Enumerable.Range(0, size).Select(i => $"+86137{i:D8}").ToArray();
        await store.BeginAsync("large", "i-large", "Send1", VendorNames.Yunpian, mobiles, default, batched: true);
        var ids = await store.RecordIdsAsync("large", default);
        await store.StartBatchAsync(ids.Values.ToArray(), default);
        await store.SettleAsync("large", ids, mobiles.Select((m, i) => new SmsRecipientOutcome(m, VendorNames.Yunpian, true, $"l{i}", "0", null, 0.05m, 1)).ToArray(), default);
        _time.Advance(TimeSpan.FromSeconds(2));

        // l0 is reported Unknown in the first slice and Delivered in the last; l1 Delivered, then a late Failed that must not stand.
        var reports = mobiles.Select((_, i) => Report(VendorNames.Yunpian, $"l{i}", i == 0 ? DeliveryStatus.Unknown : DeliveryStatus.Delivered))
            .Append(Report(VendorNames.Yunpian, "l0", DeliveryStatus.Delivered)).Append(Report(VendorNames.Yunpian, "l1", DeliveryStatus.Failed, "LATE")).ToArray();
        var sends = await store.RecordReportsAsync(reports, _time.GetUtcNow(), default);

        await AssertCellsAsync(db, "after a batch over several transactions");
        Assert.Equal(size, sends.Count);
        Assert.All(sends.Values, s => Assert.Equal("large", s.Key));
        await using var context = await db.Factory.CreateDbContextAsync();
        Assert.Equal(size, await context.DeliveryReports.CountAsync(d => d.Status == "Delivered"));
        Assert.Equal(size, await context.InsightCells.Where(c => c.DeliveryStatus == "Delivered").SumAsync(c => c.Count));
    }

    /// <summary>
    /// The interleaving that loses a report without the per-message lock, forced: the settle of a send is held just
    /// before it reads the reports, and the report's writer just before it reads the send records, until both are there
    /// or 5 s passed (how long one waits when the other is rightly locked out). Neither may then miss the other.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_report_and_the_settle_of_its_send_reading_at_the_same_time_count_it_once(bool postgres)
    {
        var reads = new CrossReads();
        await using var db = await TestDatabase.CreateAsync(postgres, reads);
        var store = new SendRecordStore(db.Factory, _time);
        const int rounds = 2;
        var met = 0;
        for (var round = 0; round < rounds; round++)
        {
            var (key, mobile) = ($"cross-{round}", $"+86138{round:D8}");
            await store.BeginAsync(key, "i-cross", "Send1", VendorNames.Yunpian, [mobile], default, batched: true);
            var ids = await store.RecordIdsAsync(key, default);
            await store.StartBatchAsync([ids[mobile]], default);
            var meeting = reads.Arm();
            var settle = Task.Run(async () =>
            {
                CrossReads.Role.Value = CrossReads.Settle;
                await store.SettleAsync(key, ids, [new SmsRecipientOutcome(mobile, VendorNames.Yunpian, true, $"x{round}", "0", null, 0.05m, 1)], default);
            });
            var report = Task.Run(async () =>
            {
                CrossReads.Role.Value = CrossReads.Report;
                await store.RecordReportsAsync([Report(VendorNames.Yunpian, $"x{round}", DeliveryStatus.Delivered)], _time.GetUtcNow(), default);
            });
            await Task.WhenAll(settle, report);
            if (await meeting) met++;
        }

        await AssertCellsAsync(db, $"after {rounds} forced races (both writers read before either committed in {met})");
        await using var context = await db.Factory.CreateDbContextAsync();
        var delivered = await context.InsightCells.Where(c => c.DeliveryStatus == "Delivered").SumAsync(c => c.Count);
        Assert.True(delivered == rounds, $"{delivered} of {rounds} reports counted; both writers read before either committed in {met} round(s)");
    }

    /// <summary>
    /// On PostgreSQL a writer of send records or reports waits only for writers of the same send or message: a
    /// transaction holding one message's lock holds up that message's report, not another message's report nor a new send.
    /// </summary>
    [Fact]
    public async Task On_postgres_a_writer_waits_only_for_writers_of_the_same_message()
    {
        await using var db = await TestDatabase.CreateAsync(postgres: true);
        var store = new SendRecordStore(db.Factory, _time);
        await using var holder = await db.Factory.CreateDbContextAsync();
        var held = await InsightRollup.BeginAsync(holder, [InsightRollup.MessageLock(VendorNames.Yunpian, "held")], default);
        var same = store.RecordReportsAsync([Report(VendorNames.Yunpian, "held", DeliveryStatus.Delivered)], _time.GetUtcNow(), default);
        var others = Task.WhenAll(
            store.RecordReportsAsync([Report(VendorNames.Yunpian, "other", DeliveryStatus.Delivered)], _time.GetUtcNow(), default),
            store.BeginAsync("another-send", "i-other", "Send1", VendorNames.Yunpian, ["+8613700000001"], default));
        var first = await Task.WhenAny(others, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(first == others, "a report of another message and a new send were still waiting after 60 s behind a transaction holding one message's lock");
        await others;
        Assert.False(same.IsCompleted, $"the report of the locked message was written while another transaction held its lock ({same.Status})");
        await held.DisposeAsync();
        await same.WaitAsync(TimeSpan.FromSeconds(60));
        await using var context = await db.Factory.CreateDbContextAsync();
        Assert.Equal(2, await context.DeliveryReports.CountAsync());
    }

    /// <summary>
    /// Holds the settle (<see cref="Settle"/>, as its transaction begins: its reads go in one raw command EF does not
    /// intercept, right after its locks) and the report's writer (<see cref="Report"/>, as it reads the send records,
    /// after its locks) until both are there, once per <see cref="Arm"/>; a writer that waited alone for 5 s goes on.
    /// The armed round's task says whether they met.
    /// </summary>
    private sealed class CrossReads : DbCommandInterceptor, IDbTransactionInterceptor
    {
        public const string Settle = "settle", Report = "report";
        public static readonly AsyncLocal<string?> Role = new();
        private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);
        private volatile Round? _round;

        public Task<bool> Arm()
        {
            var round = new Round();
            _round = round;
            return round.Met;
        }

        public async ValueTask<DbTransaction> TransactionStartedAsync(DbConnection connection, TransactionEndEventData eventData, DbTransaction result,
            CancellationToken cancellationToken = default)
        {
            if (_round is { } round && Role.Value == Settle)
                await round.ArriveAsync(round.SettleThere, round.ReportThere).ConfigureAwait(false);
            return result;
        }

        public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            if (_round is { } round && Role.Value == Report && command.CommandText.Contains("sms_send_records", StringComparison.Ordinal))
                await round.ArriveAsync(round.ReportThere, round.SettleThere).ConfigureAwait(false);
            return result;
        }

        private sealed class Round
        {
            private readonly TaskCompletionSource<bool> _met = new(TaskCreationOptions.RunContinuationsAsynchronously);
            private int _waits;
            public readonly TaskCompletionSource SettleThere = new(TaskCreationOptions.RunContinuationsAsynchronously);
            public readonly TaskCompletionSource ReportThere = new(TaskCreationOptions.RunContinuationsAsynchronously);
            public Task<bool> Met => _met.Task;

            public async Task ArriveAsync(TaskCompletionSource mine, TaskCompletionSource theirs)
            {
                if (!mine.TrySetResult()) return; // once per writer and round
                bool met;
                try
                {
                    await theirs.Task.WaitAsync(Patience).ConfigureAwait(false);
                    met = true;
                }
                catch (TimeoutException)
                {
                    met = false;
                }
                if (!met) _met.TrySetResult(false);
                else if (Interlocked.Increment(ref _waits) == 2) _met.TrySetResult(true);
            }
        }
    }

    private static DeliveryReport Report(string vendor, string messageId, DeliveryStatus status, string? code = null) =>
        new(vendor, messageId, null, status, code, null, DateTimeOffset.UnixEpoch);

    /// <summary>The cells summed per (instance, step, vendor, stage, report, code, latency) against the same sums counted from the records.</summary>
    private static async Task AssertCellsAsync(TestDatabase db, string when)
    {
        await using var context = await db.Factory.CreateDbContextAsync();
        var records = await context.SendRecords.AsNoTracking().ToListAsync();
        var reports = (await context.DeliveryReports.AsNoTracking().ToListAsync()).ToDictionary(d => (d.Vendor, d.MessageId));
        var expected = records.Where(r => !r.Mobile.Contains('@', StringComparison.Ordinal)).Select(r =>
            {
                var d = r.MessageId is not null && reports.TryGetValue((r.Vendor, r.MessageId), out var found) ? found : null;
                var stage = r.Status is SendRecordStatus.Pending ? SendRecordStatus.Queued : r.Status;
                var code = r.Status == SendRecordStatus.Rejected ? r.VendorCode : d?.Status == "Failed" ? d.Code : null;
                var latency = r.Status == SendRecordStatus.Accepted && d is not null ? Math.Max(0, (d.ReceivedAtTicks - r.CreatedAtTicks) / TimeSpan.TicksPerMillisecond / 100) : -1;
                return (Key: $"{r.InstanceId}/{r.ActivityId}/{r.Vendor}/{stage}/{d?.Status}/{code}/{latency}", r);
            })
            .GroupBy(x => x.Key)
            .Select(g => $"{g.Key}: {g.Count()} replies {g.Count(x => x.r.RepliedAtTicks != null)} opt-outs {g.Count(x => x.r.OptedOut)} failovers {g.Count(x => x.r.Attempts > 1)} fees {g.Sum(x => x.r.Fee ?? 0m):0.########}")
            .Order(StringComparer.Ordinal).ToArray();
        var cells = await context.InsightCells.AsNoTracking().ToListAsync();
        Assert.True(cells.All(c => c.Count >= 0 && c.Replies >= 0 && c.OptOuts >= 0 && c.FeeUnits >= 0), $"{when}: a cell went negative");
        // Every send's Queued cell empties when it settles: an emptied cell is deleted, not left as a row per send.
        var emptied = cells.Where(c => c is { Count: 0, Replies: 0, OptOuts: 0, Failovers: 0, FeeUnits: 0 }).Select(c => $"{c.InstanceId}/{c.ActivityId}/{c.Vendor}/{c.Status}").ToArray();
        Assert.True(emptied.Length == 0, $"{when}: emptied cells left: {string.Join(", ", emptied)}");
        var actual = cells.Where(c => c.Count > 0)
            .GroupBy(c => $"{c.InstanceId}/{c.ActivityId}/{c.Vendor}/{c.Status}/{c.DeliveryStatus}/{c.Code}/{c.LatencyBucket}")
            .Select(g => $"{g.Key}: {g.Sum(c => c.Count)} replies {g.Sum(c => c.Replies)} opt-outs {g.Sum(c => c.OptOuts)} failovers {g.Sum(c => c.Failovers)} fees {g.Sum(c => c.FeeUnits) / InsightCellEntity.FeeScale:0.########}")
            .Order(StringComparer.Ordinal).ToArray();
        Assert.True(expected.SequenceEqual(actual), $"{when}:\nrecords say\n  {string.Join("\n  ", expected)}\ncells say\n  {string.Join("\n  ", actual)}");
    }
}
