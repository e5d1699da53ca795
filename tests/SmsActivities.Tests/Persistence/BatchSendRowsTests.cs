using System.Data.Common;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore.Diagnostics;
using SmsActivities.Persistence;
using SmsActivities.Routing;
using SmsActivities.Stimuli;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Tests.Persistence;

/// <summary>
/// The waits a dispatcher batch ends read their sends' rows once for the batch (<see cref="BatchSendRows"/>): each wait
/// gets exactly what its own read (<see cref="SendReportLedger.RowsAsync"/>) would give, and a run that wrote a send's
/// records after the batch read them reads them again.
/// </summary>
public sealed class BatchSendRowsTests
{
    private static readonly ManualTimeProvider Time = new(new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_wait_a_batch_ends_gets_from_the_one_read_of_the_batch_the_rows_its_own_read_would_give(bool postgres)
    {
        var statements = new RowReads();
        await using var database = await TestDatabase.CreateAsync(postgres, statements);
        var store = new SendRecordStore(database.Factory, Time);
        // Instance 1: an earlier attempt, then the latest sent as two time zone groups (one recipient in doubt, one refused),
        // and a group-like key of another SendSms of the instance. Instance 2: a plain send with an email recipient too.
        await SendAsync(store, "attempt-1", "instance-1", "send", ("+8613900000001", "old", null));
        await SendAsync(store, SendRecordStore.SendZoneKey("attempt-2", "aaaa0001"), "instance-1", "send", ("+447911123456", "uk-1", null), ("+447911123457", null, "refused"));
        await SendAsync(store, SendRecordStore.SendZoneKey("attempt-2", "bbbb0002"), "instance-1", "send", ("+8613900000002", "cn-2", null), ("+8613900000003", null, null));
        await SendAsync(store, SendRecordStore.SendZoneKey("attempt-2", "cccc0003"), "instance-1", "other", ("+8613900000009", "other-9", null));
        await SendAsync(store, "send-3", "instance-2", "send", ("+8613900000004", "s3-4", null), ("+8613900000005", "s3-5", null), ("a@example.com", "mail-1", null));
        await store.RecordReportsAsync([Report("uk-1", DeliveryStatus.Delivered), Report("cn-2", DeliveryStatus.Failed), Report("s3-4", DeliveryStatus.Delivered),
            Report("s3-5", DeliveryStatus.Delivered), Report("other-9", DeliveryStatus.Delivered)], Time.GetUtcNow(), default);
        var ledger = new SendReportLedger(database.Factory);
        var watch = new SendRecordWatch();
        var sends = new[]
        {
            new SendReference("attempt-2", "instance-1", "send", Zoned: true),
            new SendReference("send-3", "instance-2", "send", Zoned: true),
            // Resumed in the batch by a report, but not all reported yet: read alone.
            new SendReference("attempt-1", "instance-1", "send", Zoned: true),
        };
        await using var batch = new ResumeBatch([
            SendReport("instance-1", "attempt-2", new SendReportCounts(2, 2, 1, 1)),
            SendReport("instance-2", "send-3", new SendReportCounts(2, 2, 0, 0)),
            SendReport("instance-1", "attempt-1", new SendReportCounts(1, 0, 0, 0)),
        ]);

        var alone = new List<IReadOnlyList<SendReportRow>>();
        foreach (var send in sends)
        foreach (var includeInDoubt in new[] { true, false })
            alone.Add(await ledger.RowsAsync(send, includeInDoubt, default));
        statements.Count = 0;
        var batched = new List<IReadOnlyList<SendReportRow>>();
        foreach (var send in sends)
        foreach (var includeInDoubt in new[] { true, false })
            batched.Add(await BatchSendRows.RowsAsync(batch, ledger, watch, send, includeInDoubt, default));

        for (var i = 0; i < alone.Count; i++)
            Assert.True(batched[i].SequenceEqual(alone[i]), $"wait {i}: from the batch {Describe(batched[i])}; alone {Describe(alone[i])}");
        Assert.True(alone[0].Count == 3 && alone[1].Count == 2 && alone[2].Count == 2 && alone[4].Count == 1, $"the rows alone: {string.Join(" | ", alone.Select(Describe))}");
        // One read for the two sends all reported (four waits), then the two waits on the other each alone.
        Assert.True(statements.Count == 3, $"{statements.Count} reads of send rows for six waits, expected 3");
    }

    [Fact]
    public async Task A_run_that_wrote_a_sends_records_after_its_batch_read_them_reads_them_again()
    {
        await using var database = await TestDatabase.CreateAsync();
        var watch = new SendRecordWatch();
        var store = new SendRecordStore(database.Factory, Time, watch: watch);
        await SendAsync(store, "send-1", "instance-1", "send", ("+8613900000001", "id-1", null), ("+8613900000002", "id-2", null));
        await store.RecordReportsAsync([Report("id-1", DeliveryStatus.Failed), Report("id-2", DeliveryStatus.Delivered)], Time.GetUtcNow(), default);
        var ledger = new SendReportLedger(database.Factory);
        var send = new SendReference("send-1", "instance-1", "send", Zoned: true);
        await using var batch = new ResumeBatch([SendReport("instance-1", "send-1", new SendReportCounts(2, 2, 0, 0))]);
        var before = await BatchSendRows.RowsAsync(batch, ledger, watch, send, includeInDoubt: true, default);

        // The run fails the failed recipient over to another vendor (its record Pending again, no message), then its wait ends.
        await store.BeginFailoverAsync("send-1", "+8613900000001", "tencent", "yunpian", default);
        var after = await BatchSendRows.RowsAsync(batch, ledger, watch, send, includeInDoubt: true, default);

        Assert.True(before.Count == 2 && before[0] is { MessageId: "id-1", ReportStatus: "Failed" }, $"before the failover: {Describe(before)}");
        var alone = await ledger.RowsAsync(send, includeInDoubt: true, default);
        Assert.True(after.SequenceEqual(alone) && after[0] is { Vendor: "yunpian", RecordStatus: SendRecordStatus.Pending, MessageId: null },
            $"after the failover, from the batch: {Describe(after)}; alone: {Describe(alone)}");
    }

    /// <summary>A send: its records begun, then each recipient accepted with a message id, refused (an error) or left in doubt (neither).</summary>
    private static async Task SendAsync(SendRecordStore store, string key, string instanceId, string activityId, params (string Mobile, string? MessageId, string? Error)[] recipients)
    {
        await store.BeginAsync(key, instanceId, activityId, "tencent", recipients.Select(r => r.Mobile).ToArray(), default);
        await store.CompleteAsync(key, recipients.Select(r => r.MessageId is not null
            ? new SmsRecipientOutcome(r.Mobile, "tencent", true, r.MessageId, "0", null, null, 1)
            : new SmsRecipientOutcome(r.Mobile, "tencent", false, null, null, r.Error ?? "timeout", null, 1, InDoubt: r.Error is null)).ToArray(), new { }, default);
    }

    private static DeliveryReport Report(string messageId, DeliveryStatus status) => new("tencent", messageId, "+8613900000000", status, status == DeliveryStatus.Failed ? "UNDELIV" : null, null, Time.GetUtcNow());

    /// <summary>The resumption a report of the send gives a wait on it, with the counts the publisher read after storing it.</summary>
    private static BatchResumption SendReport(string instanceId, string sendKey, SendReportCounts counts)
    {
        var stimulus = SmsStimuli.ForSendReport(Report("any", DeliveryStatus.Delivered), sendKey, counts, Time.GetUtcNow());
        return new BatchResumption(instanceId, stimulus.Name, stimulus.Payload?.ToJsonString(), stimulus.Input?.ToJsonString());
    }

    private static string Describe(IReadOnlyList<SendReportRow> rows) => string.Join("; ", rows.Select(r => $"{r.Mobile} {r.Vendor} {r.MessageId} {r.RecordStatus} {r.ReportStatus}"));

    /// <summary>Counts the statements that read a send's rows with their reports (the send records joined to the reports, in record order).</summary>
    private sealed class RowReads : DbCommandInterceptor
    {
        public int Count;

        public override DbDataReader ReaderExecuted(DbCommand command, CommandExecutedEventData eventData, DbDataReader result)
        {
            Counted(command);
            return result;
        }

        public override ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
        {
            Counted(command);
            return ValueTask.FromResult(result);
        }

        private void Counted(DbCommand command)
        {
            var sql = command.CommandText;
            if (sql.Contains("sms_send_records", StringComparison.Ordinal) && sql.Contains("LEFT JOIN", StringComparison.Ordinal) && sql.Contains("ORDER BY", StringComparison.Ordinal)
                && !sql.Contains("GROUP BY", StringComparison.Ordinal))
                Interlocked.Increment(ref Count);
        }
    }
}
