using System.Data.Common;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using SmsActivities.Routing;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Persistence;

/// <summary>
/// What a settle reads before it writes, without EF's query pipeline: the records it settles and the stored reports of
/// the messages its outcomes carry (their insights cells depend on them). Two LINQ queries cost more than every write
/// of the settle together (seen as the largest part of a send's completion in a profile); on SQLite the statements
/// are kept prepared too (a single send's reads were then a tenth of its time, mostly SQLite preparing them).
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
    public static Func<StoreMap, ReadParameters, string> ById(IReadOnlyCollection<long> ids) =>
        (map, parameters) => $"{map.Column(nameof(SendRecordEntity.Id))} {parameters.InList(ids)}";

    /// <summary>No records: only the reports of the outcomes' messages (the records' state is known, see <see cref="WithRows"/>).</summary>
    public static Func<StoreMap, ReadParameters, string> NoRecords { get; } = (_, _) => "1 = 0";

    /// <summary>These reports with <paramref name="rows"/> as the records settled: records whose state the caller knows without reading them.</summary>
    public SettlingReads WithRows(List<SendRecordEntity> rows) => new(rows, reports, read);

    /// <summary>Which records: the send's, of these recipients.</summary>
    public static Func<StoreMap, ReadParameters, string> ByKey(string idempotencyKey, IReadOnlyCollection<string> mobiles) =>
        (map, parameters) =>
            $"{map.Column(nameof(SendRecordEntity.IdempotencyKey))} = {parameters.Value(map, nameof(SendRecordEntity.IdempotencyKey), idempotencyKey)}"
            + $" AND {map.Column(nameof(SendRecordEntity.Mobile))} {parameters.InList(mobiles)}";

    /// <param name="which">The records' condition (<see cref="ById"/>, <see cref="ByKey"/>), binding its values through the parameters it is given.</param>
    /// <remarks>
    /// On SQLite each statement is kept prepared (<see cref="SqlitePreparedCommand"/>): the records' and, per vendor, the
    /// reports'. Elsewhere they go as one command.
    /// </remarks>
    public static async Task<SettlingReads> ReadAsync(SmsActivitiesDbContext db, Func<StoreMap, ReadParameters, string> which,
        IReadOnlyList<SmsRecipientOutcome> outcomes, CancellationToken cancellationToken)
    {
        var (records, kept) = (StoreMap.For<SendRecordEntity>(db), StoreMap.For<DeliveryReportEntity>(db));
        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = db.Database.GetDbConnection();
            var sqlite = DatabaseEngine.IsSqlite(db.Database);
            await using var command = sqlite ? null : connection.CreateCommand();
            if (command is not null) command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
            var shared = command is null ? null : new ReadParameters(db, command);
            var statements = new List<(string Sql, ReadParameters Parameters)>();
            ReadParameters Parameters() => shared ?? new ReadParameters(db, null);

            var recordParameters = Parameters();
            statements.Add((new StringBuilder("SELECT ").AppendJoin(", ", RecordColumns.Select(records.Column)).Append(" FROM ").Append(records.Table)
                .Append(" WHERE ").Append(which(records, recordParameters)).ToString(), recordParameters));
            // By vendor, so each lookup goes through the reports' key (vendor, message id).
            var wanted = outcomes.Where(o => o is { Vendor: not null, MessageId: not null }).Select(o => (Vendor: o.Vendor!, MessageId: o.MessageId!)).ToHashSet();
            foreach (var vendor in wanted.GroupBy(w => w.Vendor, StringComparer.Ordinal))
            {
                var parameters = Parameters();
                statements.Add((new StringBuilder("SELECT ").AppendJoin(", ", ReportColumns.Select(kept.Column)).Append(" FROM ").Append(kept.Table)
                    .Append(" WHERE ").Append(kept.Column(nameof(DeliveryReportEntity.Vendor))).Append(" = ")
                    .Append(parameters.Value(kept, nameof(DeliveryReportEntity.Vendor), vendor.Key))
                    .Append(" AND ").Append(kept.Column(nameof(DeliveryReportEntity.MessageId))).Append(' ')
                    .Append(parameters.InList(vendor.Select(w => w.MessageId).ToArray())).ToString(), parameters));
            }

            var rows = new List<SendRecordEntity>();
            var found = new Dictionary<(string, string), DeliveryReportEntity>();
            void Found(DeliveryReportEntity report) => found[(report.Vendor, report.MessageId)] = report;
            if (command is null)
            {
                for (var i = 0; i < statements.Count; i++)
                {
                    var (sql, parameters) = statements[i];
                    await using var prepared = new SqlitePreparedCommand(connection, sql, parameters.Values.Count);
                    await prepared.ReadAsync(parameters.Values, i == 0 ? row => rows.Add(Record(row)) : row => Found(Report(row)), cancellationToken).ConfigureAwait(false);
                }
                return new SettlingReads(rows, found, wanted);
            }
            command.CommandText = string.Join(";\n", statements.Select(s => s.Sql));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) rows.Add(Record(reader));
            while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    Found(new DeliveryReportEntity
                    {
                        Vendor = reader.GetString(0), MessageId = reader.GetString(1), Status = reader.GetString(2), Code = Text(reader, 3), ReceivedAtTicks = reader.GetInt64(4),
                    });
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

    /// <summary>The same row from a statement kept prepared.</summary>
    private static SendRecordEntity Record(SqliteRow row) => new()
    {
        Id = row.GetInt64(0), Vendor = row.GetString(1), MessageId = row.GetStringOrNull(2), Mobile = row.GetString(3), InstanceId = row.GetStringOrNull(4),
        ActivityId = row.GetStringOrNull(5), IdempotencyKey = row.GetStringOrNull(6), Accepted = row.GetBoolean(7), Status = row.GetString(8), Error = row.GetStringOrNull(9),
        CreatedAtTicks = row.GetInt64(10), DefinitionId = row.GetStringOrNull(11), VendorCode = row.GetStringOrNull(12),
        Fee = row.IsNull(13) ? null : row.GetDecimal(13), Attempts = row.GetInt32(14),
        RepliedAtTicks = row.IsNull(15) ? null : row.GetInt64(15), OptedOut = row.GetBoolean(16),
    };

    /// <summary>A row of <see cref="ReportColumns"/>, in that order.</summary>
    private static DeliveryReportEntity Report(SqliteRow row) => new()
    {
        Vendor = row.GetString(0), MessageId = row.GetString(1), Status = row.GetString(2), Code = row.GetStringOrNull(3), ReceivedAtTicks = row.GetInt64(4),
    };

    private static string? Text(DbDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
}
