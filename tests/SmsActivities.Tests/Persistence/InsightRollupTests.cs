using Microsoft.EntityFrameworkCore;
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

        // A report for a message whose send has not settled yet counts nowhere until it does.
        _time.Advance(TimeSpan.FromSeconds(1));
        await store.RecordReportsAsync([Report(VendorNames.Yunpian, "m1", DeliveryStatus.Delivered)], _time.GetUtcNow(), default);
        await AssertCellsAsync(db, "report before its send settled");

        await store.StartBatchAsync("campaign", batch1, default);
        await store.SettleAsync("campaign", [
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

        await store.RecordRepliesAsync([(batch1[0], false), (batch1[0], true), (batch1[1], true), ("+8613999999999", false)], _time.GetUtcNow(), default);
        await AssertCellsAsync(db, "replies and opt-outs");

        // The whole send completes: the second batch with it, in doubt and accepted; settled rows settle again unchanged.
        await store.StartBatchAsync("campaign", batch2, default);
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
        await new SmsRetention(db.Factory, Microsoft.Extensions.Options.Options.Create(new SmsRetentionOptions()), _time).PurgeAsync();
        await AssertCellsAsync(db, "purged");
        await using var context = await db.Factory.CreateDbContextAsync();
        Assert.Equal(0, await context.InsightCells.CountAsync());
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
        _time.Advance(TimeSpan.FromSeconds(2));

        // Each batch's settle and its reports (in two pushes) start together: whichever commits first, each message counts once.
        var work = mobiles.Chunk(size).Select((batch, b) =>
        {
            var outcomes = batch.Select((m, i) => new SmsRecipientOutcome(m, VendorNames.Yunpian, true, $"r{b}-{i}", "0", null, 0.05m, 1)).ToArray();
            var reports = outcomes.Select((o, i) => Report(VendorNames.Yunpian, o.MessageId!, i % 5 == 0 ? DeliveryStatus.Failed : DeliveryStatus.Delivered, "E1")).ToArray();
            return new[]
            {
                Task.Run(async () => { await store.StartBatchAsync("race", batch, default); await store.SettleAsync("race", outcomes, default); }),
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
        var actual = cells.Where(c => c.Count > 0)
            .GroupBy(c => $"{c.InstanceId}/{c.ActivityId}/{c.Vendor}/{c.Status}/{c.DeliveryStatus}/{c.Code}/{c.LatencyBucket}")
            .Select(g => $"{g.Key}: {g.Sum(c => c.Count)} replies {g.Sum(c => c.Replies)} opt-outs {g.Sum(c => c.OptOuts)} failovers {g.Sum(c => c.Failovers)} fees {g.Sum(c => c.FeeUnits) / InsightCellEntity.FeeScale:0.########}")
            .Order(StringComparer.Ordinal).ToArray();
        Assert.True(expected.SequenceEqual(actual), $"{when}:\nrecords say\n  {string.Join("\n  ", expected)}\ncells say\n  {string.Join("\n  ", actual)}");
    }
}
