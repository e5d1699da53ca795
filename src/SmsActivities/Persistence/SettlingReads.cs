using System.Data.Common;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using SmsActivities.Routing;

namespace SmsActivities.Persistence;

/// <summary>
/// What a settle reads before it writes, in one command without EF's query pipeline: the records it settles and the
/// stored reports of the messages its outcomes carry (their insights cells depend on them). Two LINQ queries cost
/// more than every write of the settle together (seen as the largest part of a send's completion in a profile).
/// </summary>
/// <remarks>
/// The reports read are those of the outcomes that name their vendor: the caller holds those messages' locks before
/// it reads (see <see cref="InsightRollup.BeginAsync"/>). A report of any other message a settle touches is read by
/// <see cref="ReportsAsync"/> after the caller locked it.
/// </remarks>
internal sealed class SettlingReads
{
    private readonly Dictionary<(string Vendor, string MessageId), DeliveryReportEntity> reports;
    private readonly HashSet<(string Vendor, string MessageId)> read;

    private SettlingReads(List<SendRecordEntity> rows, Dictionary<(string, string), DeliveryReportEntity> reports, HashSet<(string, string)> read) =>
        (Rows, this.reports, this.read) = (rows, reports, read);

    /// <summary>The records to settle, untracked.</summary>
    public IReadOnlyList<SendRecordEntity> Rows { get; }

    /// <summary>Which records: given by id (a campaign batch, whose send has thousands of records under its key).</summary>
    public static Func<DbContext, StoreMap, DbCommand, string> ById(IReadOnlyCollection<long> ids) =>
        (db, map, command) => $"{map.Column(nameof(SendRecordEntity.Id))} {StoreMap.InList(db, command, "@ids", ids)}";

    /// <summary>No records: only the reports of the outcomes' messages (the records' state is known, see <see cref="WithRows"/>).</summary>
    public static Func<DbContext, StoreMap, DbCommand, string> NoRecords { get; } = (_, _, _) => "1 = 0";

    /// <summary>These reports with <paramref name="rows"/> as the records settled: records whose state the caller knows without reading them.</summary>
    public SettlingReads WithRows(List<SendRecordEntity> rows) => new(rows, reports, read);

    /// <summary>Which records: the send's, of these recipients.</summary>
    public static Func<DbContext, StoreMap, DbCommand, string> ByKey(string idempotencyKey, IReadOnlyCollection<string> mobiles) =>
        (db, map, command) =>
        {
            command.Parameters.Add(map.Parameter(command, nameof(SendRecordEntity.IdempotencyKey), "@key", idempotencyKey));
            return $"{map.Column(nameof(SendRecordEntity.IdempotencyKey))} = @key AND {map.Column(nameof(SendRecordEntity.Mobile))} {StoreMap.InList(db, command, "@mobiles", mobiles)}";
        };

    /// <param name="which">The records' condition (<see cref="ById"/>, <see cref="ByKey"/>), adding its parameters to the command.</param>
    public static async Task<SettlingReads> ReadAsync(SmsActivitiesDbContext db, Func<DbContext, StoreMap, DbCommand, string> which,
        IReadOnlyList<SmsRecipientOutcome> outcomes, CancellationToken cancellationToken)
    {
        var (records, kept) = (StoreMap.For<SendRecordEntity>(db), StoreMap.For<DeliveryReportEntity>(db));
        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
            string R(string property) => records.Column(property);
            var sql = new StringBuilder("SELECT ")
                .AppendJoin(", ", RecordColumns.Select(R)).Append(" FROM ").Append(records.Table).Append(" WHERE ").Append(which(db, records, command)).Append(';');
            // By vendor, so each lookup goes through the reports' key (vendor, message id).
            var wanted = outcomes.Where(o => o is { Vendor: not null, MessageId: not null }).Select(o => (Vendor: o.Vendor!, MessageId: o.MessageId!)).ToHashSet();
            var vendors = wanted.GroupBy(w => w.Vendor, StringComparer.Ordinal).ToArray();
            for (var v = 0; v < vendors.Length; v++)
            {
                var vendor = "@v" + v.ToString(System.Globalization.CultureInfo.InvariantCulture);
                command.Parameters.Add(kept.Parameter(command, nameof(DeliveryReportEntity.Vendor), vendor, vendors[v].Key));
                sql.Append("\nSELECT ").AppendJoin(", ", ReportColumns.Select(kept.Column)).Append(" FROM ").Append(kept.Table)
                    .Append(" WHERE ").Append(kept.Column(nameof(DeliveryReportEntity.Vendor))).Append(" = ").Append(vendor)
                    .Append(" AND ").Append(kept.Column(nameof(DeliveryReportEntity.MessageId))).Append(' ')
                    .Append(StoreMap.InList(db, command, vendor + "ids", vendors[v].Select(w => w.MessageId).ToArray())).Append(';');
            }
            command.CommandText = sql.ToString();

            var rows = new List<SendRecordEntity>();
            var found = new Dictionary<(string, string), DeliveryReportEntity>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) rows.Add(Record(reader));
            while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var report = new DeliveryReportEntity
                    {
                        Vendor = reader.GetString(0), MessageId = reader.GetString(1), Status = reader.GetString(2), Code = Text(reader, 3), ReceivedAtTicks = reader.GetInt64(4),
                    };
                    found[(report.Vendor, report.MessageId)] = report;
                }
            return new SettlingReads(rows, found, wanted);
        }
        finally
        {
            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The stored reports of these records' messages: those read with the records, the others read now (the caller locked them).</summary>
    public async Task<Dictionary<(string Vendor, string MessageId), DeliveryReportEntity>> ReportsAsync(SmsActivitiesDbContext db, IEnumerable<SendRecordEntity> records,
        CancellationToken cancellationToken)
    {
        var others = records.Where(r => r.MessageId is not null && !read.Contains((r.Vendor, r.MessageId))).ToArray();
        if (others.Length == 0) return reports;
        var more = await InsightRollup.ReportsAsync(db, others, cancellationToken).ConfigureAwait(false);
        foreach (var (key, report) in more) reports[key] = report;
        return reports;
    }

    private static readonly string[] RecordColumns =
    [
        nameof(SendRecordEntity.Id), nameof(SendRecordEntity.Vendor), nameof(SendRecordEntity.MessageId), nameof(SendRecordEntity.Mobile),
        nameof(SendRecordEntity.InstanceId), nameof(SendRecordEntity.ActivityId), nameof(SendRecordEntity.IdempotencyKey), nameof(SendRecordEntity.Accepted),
        nameof(SendRecordEntity.Status), nameof(SendRecordEntity.Error), nameof(SendRecordEntity.CreatedAtTicks), nameof(SendRecordEntity.DefinitionId),
        nameof(SendRecordEntity.VendorCode), nameof(SendRecordEntity.Fee), nameof(SendRecordEntity.Attempts), nameof(SendRecordEntity.RepliedAtTicks),
        nameof(SendRecordEntity.OptedOut),
    ];

    private static readonly string[] ReportColumns =
    [
        nameof(DeliveryReportEntity.Vendor), nameof(DeliveryReportEntity.MessageId), nameof(DeliveryReportEntity.Status), nameof(DeliveryReportEntity.Code),
        nameof(DeliveryReportEntity.ReceivedAtTicks),
    ];

    /// <summary>A row of <see cref="RecordColumns"/>, in that order.</summary>
    private static SendRecordEntity Record(DbDataReader reader) => new()
    {
        Id = reader.GetInt64(0), Vendor = reader.GetString(1), MessageId = Text(reader, 2), Mobile = reader.GetString(3), InstanceId = Text(reader, 4),
        ActivityId = Text(reader, 5), IdempotencyKey = Text(reader, 6), Accepted = reader.GetBoolean(7), Status = reader.GetString(8), Error = Text(reader, 9),
        CreatedAtTicks = reader.GetInt64(10), DefinitionId = Text(reader, 11), VendorCode = Text(reader, 12),
        Fee = reader.IsDBNull(13) ? null : reader.GetFieldValue<decimal>(13), Attempts = reader.GetInt32(14),
        RepliedAtTicks = reader.IsDBNull(15) ? null : reader.GetInt64(15), OptedOut = reader.GetBoolean(16),
    };

    private static string? Text(DbDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
}
