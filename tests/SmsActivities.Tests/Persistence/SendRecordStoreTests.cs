using Microsoft.EntityFrameworkCore;
using SmsActivities.Persistence;
using SmsActivities.Routing;

namespace SmsActivities.Tests.Persistence;

/// <summary>
/// The send records' bulk writes (multi-row INSERT, UPDATE by id, outside change tracking) on both providers: what EF
/// reads back is what a tracked write would have stored, and an interrupted campaign is seen batch by batch.
/// </summary>
public sealed class SendRecordStoreTests
{
    private static readonly ManualTimeProvider Time = new(new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_batch_is_started_by_one_run_only_so_a_second_run_of_the_send_never_hands_it_to_a_vendor_again(bool postgres)
    {
        await using var database = await TestDatabase.CreateAsync(postgres);
        var store = new SendRecordStore(database.Factory, Time);
        var mobiles = Enumerable.Range(0, 300).Select(i => $"+86139{i:D8}").ToArray();
        await store.BeginAsync("campaign-twice", "instance-1", "send", "yunpian", mobiles, default, batched: true, definitionId: "def");
        var ids = await store.RecordIdsAsync("campaign-twice", default);
        var batch = mobiles[..100].Select(m => ids[m]).ToArray();

        // Two runs of the same send (a node that took the instance over while its owner still ran it) race for a batch.
        var started = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() => store.StartBatchAsync(batch, default))));
        Assert.Equal(1, started.Count(s => s));
        Assert.False(await store.StartBatchAsync(batch, default));
        Assert.True(await store.StartBatchAsync(mobiles[100..].Select(m => ids[m]).ToArray(), default));
    }

    /// <summary>
    /// A campaign's begin tells its record ids (SQLite) instead of the campaign reading 20,000 of them back; they must be
    /// exactly the ids stored, also when the table's newest records were deleted (its AUTOINCREMENT sequence then runs
    /// ahead of its largest id) and when a number is listed twice (its first record is its own).
    /// </summary>
    [Fact]
    public async Task The_ids_a_batched_begin_tells_are_the_records_ids_as_stored()
    {
        await using var database = await TestDatabase.CreateAsync(postgres: false);
        var store = new SendRecordStore(database.Factory, Time);
        var earlier = Enumerable.Range(0, 50).Select(i => $"+86138{i:D8}").ToArray();
        Assert.Null(await store.BeginAsync("one-by-one", "instance-0", "send", "tencent", earlier[..1], default));
        Assert.NotNull(await store.BeginAsync("earlier", "instance-0", "send", "tencent", earlier, default, batched: true));
        await using (var db = await database.Factory.CreateDbContextAsync())
            Assert.Equal(30, await db.SendRecords.Where(r => r.IdempotencyKey == "earlier" && r.Mobile.CompareTo("+8613800000020") >= 0).ExecuteDeleteAsync());

        var mobiles = Enumerable.Range(0, 500).Select(i => $"+86139{i:D8}").ToList();
        mobiles.Insert(250, mobiles[7]);
        var told = await store.BeginAsync("campaign-ids", "instance-1", "send", "tencent", mobiles, default, batched: true);

        Assert.NotNull(told);
        var stored = await store.RecordIdsAsync("campaign-ids", default);
        Assert.Equal(stored.OrderBy(p => p.Key, StringComparer.Ordinal), told.Ids.OrderBy(p => p.Key, StringComparer.Ordinal));
        await using (var db = await database.Factory.CreateDbContextAsync())
        {
            var first = await db.SendRecords.Where(r => r.IdempotencyKey == "campaign-ids").MinAsync(r => r.Id);
            var largestEarlier = await db.SendRecords.Where(r => r.IdempotencyKey == "earlier").MaxAsync(r => r.Id);
            // Past the deleted ids, not reusing them: the sequence, not the largest id left, is where the new ids begin.
            Assert.Equal(largestEarlier + 31, first);
        }

        // Records already under the key (not a new send): the ids are not told, the caller reads them.
        Assert.Null(await store.BeginAsync("campaign-ids", "instance-1", "send", "tencent", mobiles[..10], default, batched: true));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_batched_send_is_begun_in_bulk_settled_batch_by_batch_and_seen_as_such_after_an_interruption(bool postgres)
    {
        await using var database = await TestDatabase.CreateAsync(postgres);
        var store = new SendRecordStore(database.Factory, Time);
        // More than one INSERT's worth of rows, so the chunking is crossed.
        var mobiles = Enumerable.Range(0, 1_201).Select(i => $"+86139{i:D8}").ToArray();
        await store.BeginAsync("campaign-1", "instance-1", "send", "tencent", mobiles, default, batched: true, definitionId: "def");

        var ids = await store.RecordIdsAsync("campaign-1", default);
        Assert.Equal(1_201, ids.Count);
        await store.StartBatchAsync(mobiles[..200].Select(m => ids[m]).ToArray(), default);
        var first = mobiles[..200].Select((m, i) => i % 2 == 0
            ? new SmsRecipientOutcome(m, "yunpian", true, $"id-{i}", "0", null, 0.05m, 2)
            : new SmsRecipientOutcome(m, null, false, null, "1016", "bad number", null, 1)).ToArray();
        await store.SettleAsync("campaign-1", ids, first, default);
        await store.StartBatchAsync(mobiles[200..400].Select(m => ids[m]).ToArray(), default);
        // A batch settled again (a replay carrying less than the vendor's answer) leaves the answers as they were.
        await store.SettleAsync("campaign-1", ids, first.Select(o => o with { VendorCode = null, Fee = null }).ToArray(), default);

        await using (var db = await database.Factory.CreateDbContextAsync())
        {
            var rows = await db.SendRecords.AsNoTracking().Where(r => r.IdempotencyKey == "campaign-1").ToListAsync();
            Assert.Equal(1_201, rows.Count);
            Assert.All(rows, r => Assert.True(r is { InstanceId: "instance-1", ActivityId: "send", DefinitionId: "def" } && r.CreatedAtTicks == Time.GetUtcNow().UtcTicks,
                $"{r.Mobile}: instance {r.InstanceId}, activity {r.ActivityId}, definition {r.DefinitionId}, created {r.CreatedAtTicks}"));
            var byMobile = rows.ToDictionary(r => r.Mobile);
            var accepted = byMobile[mobiles[0]];
            Assert.True(accepted is { Status: SendRecordStatus.Accepted, Accepted: true, Vendor: "yunpian", MessageId: "id-0", VendorCode: "0", Fee: 0.05m, Attempts: 2, Error: null },
                $"accepted record: {accepted.Status} {accepted.Vendor} {accepted.MessageId} {accepted.VendorCode} {accepted.Fee} {accepted.Attempts}");
            var rejected = byMobile[mobiles[1]];
            // An outcome naming no vendor keeps the planned one.
            Assert.True(rejected is { Status: SendRecordStatus.Rejected, Accepted: false, Vendor: "tencent", MessageId: null, VendorCode: "1016", Error: "bad number", Fee: null },
                $"rejected record: {rejected.Status} {rejected.Vendor} {rejected.VendorCode} {rejected.Error} {rejected.Fee}");
            Assert.Equal(200, rows.Count(r => r.Status == SendRecordStatus.Pending));
            Assert.Equal(801, rows.Count(r => r.Status == SendRecordStatus.Queued));
        }

        // The process died inside the second batch's call: its recipients are in doubt, the rest never attempted.
        var prior = (await store.LookUpAsync<object>("campaign-1", [], default)).Prior;
        Assert.NotNull(prior);
        Assert.Null(prior.Completed);
        Assert.Equal(mobiles[200..400], prior.InDoubt.Order());
        Assert.Equal(mobiles[400..], prior.NeverAttempted.Order());
        Assert.Equal(200, prior.Settled.Count);
        Assert.Equal(100, prior.Settled.Count(s => s.Accepted));

        // Completing settles only what is not settled yet: an answered record keeps its vendor's code and fee.
        await store.MarkInDoubtAsync("campaign-1", default);
        var inDoubt = mobiles[200..400].Select(m => new SmsRecipientOutcome(m, "tencent", false, null, null, "interrupted", null, 1, InDoubt: true));
        var replayedFirst = first.Select(o => o with { VendorCode = null, Fee = null });
        await store.CompleteAsync("campaign-1", [.. replayedFirst, .. inDoubt], new { sent = 100 }, default);
        await using (var db = await database.Factory.CreateDbContextAsync())
        {
            var rows = await db.SendRecords.AsNoTracking().Where(r => r.IdempotencyKey == "campaign-1").ToDictionaryAsync(r => r.Mobile);
            Assert.Equal((decimal?)0.05m, rows[mobiles[0]].Fee);
            Assert.Equal("0", rows[mobiles[0]].VendorCode);
            Assert.True(rows[mobiles[200]] is { Status: SendRecordStatus.InDoubt, Error: "interrupted" }, $"in-doubt record: {rows[mobiles[200]].Status} {rows[mobiles[200]].Error}");
            Assert.Equal(1, await db.SendOutcomes.CountAsync(o => o.IdempotencyKey == "campaign-1"));
        }
        Assert.NotNull((await store.LookUpAsync<object>("campaign-1", [], default)).Prior?.Completed);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_lookup_before_a_send_finds_the_earlier_attempt_its_kept_outputs_and_the_opted_out_recipients(bool postgres)
    {
        await using var database = await TestDatabase.CreateAsync(postgres);
        var store = new SendRecordStore(database.Factory, Time);
        var optOuts = new OptOut.OptOutList(database.Factory, Time);
        // More numbers than one statement could take as parameters one by one (a campaign).
        var mobiles = Enumerable.Range(0, 40_000).Select(i => $"+86139{i:D8}").ToArray();
        await optOuts.AddAsync(mobiles[7], "STOP", "tencent");
        await optOuts.AddAsync(mobiles[39_999], "STOP", "tencent");
        await optOuts.AddAsync("+8613700000000", "STOP", "tencent");

        var fresh = await store.LookUpAsync<object>("send-1", mobiles, default);
        Assert.Null(fresh.Prior);
        Assert.Equal([mobiles[7], mobiles[39_999]], fresh.OptedOut.Order());

        // Begun and interrupted: the recipients in doubt, and the opt-outs still told.
        await store.BeginAsync("send-1", "instance-1", "send", "tencent", mobiles[..2], default);
        var interrupted = await store.LookUpAsync<object>("send-1", mobiles[..8], default);
        Assert.Equal(mobiles[..2], interrupted.Prior?.InDoubt.Order());
        Assert.Null(interrupted.Prior?.Completed);
        Assert.Equal([mobiles[7]], interrupted.OptedOut);

        // Completed: replayed from the kept outputs.
        await store.CompleteAsync("send-1", mobiles[..2].Select(m => new SmsRecipientOutcome(m, "tencent", true, "id-" + m, null, null, null, 1)).ToArray(), new { sent = 2 }, default);
        Assert.NotNull((await store.LookUpAsync<object>("send-1", [], default)).Prior?.Completed);

        // Outputs kept without records (a time zone group whose every recipient had opted out) are found as completed.
        await store.CompleteAsync("send-1-zdeadbeef", [], new { sent = 0 }, default);
        var refused = await store.LookUpAsync<object>("send-1-zdeadbeef", [mobiles[7]], default);
        Assert.NotNull(refused.Prior?.Completed);
        Assert.Empty(refused.Prior!.InDoubt);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_wait_on_a_send_split_by_time_zone_waits_for_every_group_of_its_latest_attempt(bool postgres)
    {
        await using var database = await TestDatabase.CreateAsync(postgres);
        var store = new SendRecordStore(database.Factory, Time);
        // An earlier attempt of the step (a loop's previous pass), then the latest one, sent as two time zone groups.
        await store.BeginAsync("attempt-1", "instance-1", "send", "yunpian", ["+8613900000001"], default);
        await store.CompleteAsync("attempt-1", [new SmsRecipientOutcome("+8613900000001", "yunpian", true, "old", "0", null, null, 1)], new { }, default);
        var london = SendRecordStore.SendZoneKey("attempt-2", "aaaa0001");
        var shanghai = SendRecordStore.SendZoneKey("attempt-2", "bbbb0002");
        await store.BeginAsync(london, "instance-1", "send", "yunpian", ["+447911123456"], default);
        await store.CompleteAsync(london, [new SmsRecipientOutcome("+447911123456", "yunpian", true, "uk-1", "0", null, null, 1)], new { }, default);
        await store.BeginAsync(shanghai, "instance-1", "send", "yunpian", ["+8613900000002", "+8613900000003"], default);
        await store.CompleteAsync(shanghai, [
            new SmsRecipientOutcome("+8613900000002", "yunpian", true, "cn-2", "0", null, null, 1),
            new SmsRecipientOutcome("+8613900000003", "yunpian", false, null, null, "timeout", null, 1, InDoubt: true)], new { }, default);

        var ledger = new SendReportLedger(database.Factory);
        var send = await ledger.LatestSendAsync("instance-1", "send", default);
        Assert.True(send is { Key: "attempt-2", Zoned: true }, $"the latest attempt stands for its groups: {send}");
        var targets = await ledger.RowsAsync(send!, includeInDoubt: true, default);
        var progress = await ledger.ProgressAsync(send!, includeInDoubt: true, default);

        var seen = string.Join("; ", targets.Select(t => $"{t.Mobile} {t.MessageId} {t.RecordStatus}"));
        Assert.True(targets.Count == 3 && progress.Targets == 3, $"the latest attempt's three recipients, not the earlier one's ({progress.Targets} counted): " + seen);
        Assert.Contains(targets, t => t is { Mobile: "+447911123456", MessageId: "uk-1" });
        Assert.Contains(targets, t => t is { Mobile: "+8613900000002", MessageId: "cn-2" });
        Assert.Contains(targets, t => t.Mobile == "+8613900000003" && t.RecordStatus == SendRecordStatus.InDoubt);

        // Counted for a batch of pushes together with the earlier attempt: the instance's records are summed by attempt, each once.
        var counts = await ledger.CountsAsync([send!, new SendReference("attempt-1", "instance-1", "send", Zoned: false)], default);
        Assert.True(counts["attempt-2"] == new SendReportCounts(2, 0, 1, 0) && counts["attempt-1"] == new SendReportCounts(1, 0, 0, 0),
            $"counts: {string.Join("; ", counts.Select(c => $"{c.Key} {c.Value}"))}");
    }

    [Fact]
    public async Task A_failover_after_a_failed_report_is_begun_once_and_a_settlement_of_the_old_vendor_leaves_it_alone()
    {
        await using var database = await TestDatabase.CreateAsync(false);
        var store = new SendRecordStore(database.Factory, Time);
        const string mobile = "+8613900000001";
        await store.BeginAsync("send-1", "instance-1", "send", "yunpian", [mobile], default);
        await store.CompleteAsync("send-1", [new SmsRecipientOutcome(mobile, "yunpian", false, null, "500", "lost", null, 1, InDoubt: true)], new { }, default);
        // The in-doubt record is found for Yunpian's report before the failover is begun, and settled after it.
        var late = await store.FindInDoubtAsync([new Vendors.DeliveryReport("yunpian", "sid-1", mobile, Vendors.DeliveryStatus.Failed, "UNDELIV", null, Time.GetUtcNow())],
            Time.GetUtcNow(), TimeSpan.FromDays(1), default);

        var begun = await store.BeginFailoverAsync("send-1", mobile, "yunpian", "tencent", default);
        var again = await store.BeginFailoverAsync("send-1", mobile, "yunpian", "tencent", default);
        await store.SettleInDoubtAsync(late, default);

        Assert.True(begun is { Begun: true, Vendor: "tencent", Status: SendRecordStatus.Pending, Attempts: 2 }, $"first: {begun}");
        Assert.True(again is { Begun: false, Vendor: "tencent", Status: SendRecordStatus.Pending, Attempts: 2 }, $"repeated: {again}");
        await using var db = await database.Factory.CreateDbContextAsync();
        var row = await db.SendRecords.AsNoTracking().SingleAsync();
        Assert.True(row is { Vendor: "tencent", Status: SendRecordStatus.Pending, MessageId: null }, $"the record after Yunpian's late settlement: {row.Vendor} {row.Status} {row.MessageId}");
    }

    [Fact]
    public async Task A_report_with_the_callers_reference_settles_the_send_it_names_and_no_other()
    {
        await using var database = await TestDatabase.CreateAsync(false);
        var store = new SendRecordStore(database.Factory, Time);
        const string mobile = "+8613900000002";
        foreach (var key in new[] { "send-a", "send-b", "send-c" })
        {
            await store.BeginAsync(key, "instance-" + key, "send", "yunpian", [mobile], default);
            await store.CompleteAsync(key, [new SmsRecipientOutcome(mobile, "yunpian", false, null, "500", "lost", null, 1, InDoubt: true)], new { }, default);
        }
        Vendors.DeliveryReport Report(string id, string? reference) =>
            new("yunpian", id, mobile, Vendors.DeliveryStatus.Delivered, null, null, Time.GetUtcNow()) { ClientReference = reference };

        // The oldest send by its own key, a batch of the middle one by its batch key; a report without one takes the newest left.
        var settled = await store.FindInDoubtAsync([Report("1", "send-a"), Report("2", "send-b-b0"), Report("3", "unknown-ref")], Time.GetUtcNow(), TimeSpan.FromDays(1), default);
        Assert.True(settled.Select(s => $"{s.Report.MessageId}->{s.IdempotencyKey}").SequenceEqual(["1->send-a", "2->send-b"]),
            $"settled: {string.Join(", ", settled.Select(s => $"{s.Report.MessageId}->{s.IdempotencyKey}"))}");
        var byNumber = await store.FindInDoubtAsync([Report("4", null)], Time.GetUtcNow(), TimeSpan.FromDays(1), default);
        Assert.True(byNumber.Single().IdempotencyKey == "send-c", $"by number: {byNumber.Single().IdempotencyKey}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_start_up_warm_up_runs_a_sends_writes_and_leaves_nothing_behind(bool postgres)
    {
        await using var database = await TestDatabase.CreateAsync(postgres);
        var store = new SendRecordStore(database.Factory, Time);
        await store.WarmAsync(default);

        await using var db = await database.Factory.CreateDbContextAsync();
        var left = (Records: await db.SendRecords.CountAsync(), Outcomes: await db.SendOutcomes.CountAsync(), Cells: await db.InsightCells.CountAsync());
        Assert.True(left == (0, 0, 0), $"left behind: {left.Records} records, {left.Outcomes} outcomes, {left.Cells} insight cells");
    }
}
