using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using SmsActivities.Persistence;
using SmsActivities.Routing;
using SmsActivities.Vendors;

namespace SmsActivities.Tests.Persistence;

/// <summary>
/// The send records' two partial indexes (records with a message id; refused and in-doubt records) are used by the
/// reads they serve. SQLite takes a partial index only when the query's condition implies the index's, so a query
/// written differently would silently read the whole table: here each read's plan is asked of SQLite itself.
/// </summary>
public sealed class SendRecordIndexTests
{
    private static readonly ManualTimeProvider Time = new(new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task Reports_find_their_records_and_the_insights_their_problems_through_the_partial_indexes()
    {
        var plans = new QueryPlans();
        await using var database = await TestDatabase.CreateAsync(postgres: false, plans);
        var store = new SendRecordStore(database.Factory, Time);
        var mobiles = Enumerable.Range(0, 400).Select(i => $"+86139{i:D8}").ToArray();
        await store.BeginAsync("campaign", "instance-1", "send", VendorNames.Tencent, mobiles, default, batched: true, definitionId: "def");
        var ids = await store.RecordIdsAsync("campaign", default);
        await store.StartBatchAsync(mobiles[..200].Select(m => ids[m]).ToArray(), default);
        await store.SettleAsync("campaign", ids, mobiles[..200].Select((m, i) => i % 10 == 0
            ? new SmsRecipientOutcome(m, VendorNames.Tencent, false, null, "1016", "bad number", null, 1)
            : new SmsRecipientOutcome(m, VendorNames.Tencent, true, $"id-{i}", "Ok", null, 0.05m, 1)).ToArray(), default);

        plans.Clear();
        // Several messages at once, as a push carries them (one message id is read with "=", several with "IN").
        DeliveryReport[] Reports(params int[] messages) =>
            messages.Select(i => new DeliveryReport(VendorNames.Tencent, $"id-{i}", mobiles[i], DeliveryStatus.Delivered, null, null, Time.GetUtcNow())).ToArray();
        Assert.Equal(3, (await store.RecordReportsAsync(Reports(1, 2, 3), Time.GetUtcNow(), default)).Count);
        Assert.Equal(3, (await new SendReportLedger(database.Factory).SendsOfAsync(Reports(4, 5, 6), default)).Count);
        var byMessage = plans.Of("\"MessageId\" IN");
        Assert.True(byMessage.Count >= 2, $"the reads by message id were not seen: {string.Join(" | ", plans.All)}");
        Assert.All(byMessage, plan => Assert.Contains("IX_sms_send_records_Vendor_MessageId", plan, StringComparison.Ordinal));

        // The insights page's refused and in-doubt recipients of a campaign (its ProblemsAsync filters the same way).
        plans.Clear();
        await using (var db = await database.Factory.CreateDbContextAsync())
        {
            var problems = await db.SendRecords.AsNoTracking().Where(r => r.InstanceId == "instance-1" && !r.Mobile.Contains("@"))
                .Where(SmsActivitiesDbContext.IsProblem)
                .OrderBy(r => r.Id).Take(20).Select(r => new { r.Id, r.Mobile }).ToListAsync();
            Assert.Equal(20, problems.Count);
        }
        var problemPlan = Assert.Single(plans.Of("\"Status\" IN"));
        Assert.Contains(SmsActivitiesDbContext.ProblemsIndex, problemPlan, StringComparison.Ordinal);
    }

    /// <summary>Asks SQLite for the plan of every query read from the send records, on the query's own connection and transaction.</summary>
    private sealed class QueryPlans : DbCommandInterceptor
    {
        private readonly List<(string Sql, string Plan)> _plans = [];

        public IReadOnlyList<string> All { get { lock (_plans) return _plans.Select(p => p.Sql + " => " + p.Plan).ToArray(); } }

        public IReadOnlyList<string> Of(string sqlPart)
        {
            lock (_plans) return _plans.Where(p => p.Sql.Contains(sqlPart, StringComparison.Ordinal)).Select(p => p.Plan).ToArray();
        }

        public void Clear()
        {
            lock (_plans) _plans.Clear();
        }

        public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
        {
            Explain(command);
            return result;
        }

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result,
            CancellationToken cancellationToken = default)
        {
            Explain(command);
            return ValueTask.FromResult(result);
        }

        private void Explain(DbCommand command)
        {
            if (command is not SqliteCommand sqlite || !sqlite.CommandText.Contains("sms_send_records", StringComparison.Ordinal)) return;
            using var explain = sqlite.Connection!.CreateCommand();
            explain.Transaction = sqlite.Transaction;
            explain.CommandText = "EXPLAIN QUERY PLAN " + sqlite.CommandText;
            foreach (SqliteParameter parameter in sqlite.Parameters) explain.Parameters.Add(new SqliteParameter(parameter.ParameterName, parameter.Value ?? DBNull.Value));
            using var reader = explain.ExecuteReader();
            var steps = new List<string>();
            while (reader.Read()) steps.Add(reader.GetString(3));
            lock (_plans) _plans.Add((sqlite.CommandText, string.Join("; ", steps)));
        }
    }
}
