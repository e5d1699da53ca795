using System.Data.Common;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Routing;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Persistence;

/// <summary>
/// A recipient of a send as a wait on it sees it: accepted with its message id, or in doubt (the vendor's answer was lost,
/// <paramref name="MessageId"/> is null) under the send's <paramref name="IdempotencyKey"/>.
/// </summary>
public sealed record WaitTarget(string Vendor, string? MessageId, string Mobile, string IdempotencyKey)
{
    public bool InDoubt => MessageId is null;
}

/// <summary>A delivery report that shows the vendor did send to a recipient whose send was in doubt (see <see cref="SendRecordStore.FindInDoubtAsync"/>).</summary>
public sealed record InDoubtSettlement(DeliveryReport Report, long RecordId, string IdempotencyKey, string Mobile);

/// <summary>A recipient's record when a failover after a failed report was asked for (see <see cref="SendRecordStore.BeginFailoverAsync"/>).</summary>
public sealed record FailoverStart(long RecordId, bool Begun, string Vendor, string Status, string? MessageId, string? Error, string? VendorCode, decimal? Fee, int Attempts);

/// <summary>See <see cref="SendRecordStore.LookUpAsync{TOutputs}"/>.</summary>
public sealed record PriorSend<TOutputs>(IReadOnlyList<string> InDoubt, TOutputs? Completed) where TOutputs : class
{
    /// <summary>Recipients of an interrupted batched send whose batch had already been answered (accepted or refused).</summary>
    public IReadOnlyList<SmsRecipientOutcome> Settled { get; init; } = [];

    /// <summary>Recipients of an interrupted batched send whose batch was never handed to a vendor.</summary>
    public IReadOnlyList<string> NeverAttempted { get; init; } = [];
}

/// <summary>See <see cref="SendRecordStore.LookUpAsync{TOutputs}"/>: the earlier execution under a send's key (null: none) and its opted-out recipients.</summary>
public sealed record SendLookup<TOutputs>(PriorSend<TOutputs>? Prior, IReadOnlySet<string> OptedOut) where TOutputs : class;

/// <summary>
/// What a batched begin wrote, when the database told its records' ids with the insert (SQLite): the ids by mobile
/// (a number listed twice: its first record) and the fields every record was begun with. A batch of them this run then
/// marks Pending (<see cref="SendRecordStore.StartBatchAsync"/>) is settled without its records read back
/// (<see cref="SendRecordStore.SettleStartedAsync"/>).
/// </summary>
public sealed class BegunRecords
{
    internal BegunRecords(IReadOnlyDictionary<string, long> ids, SendRecordWriter.Begun shared) => (Ids, Shared) = (ids, shared);

    public IReadOnlyDictionary<string, long> Ids { get; }

    internal SendRecordWriter.Begun Shared { get; }

    /// <summary>The record of <paramref name="mobile"/> as the begin wrote it, marked Pending since.</summary>
    internal SendRecordEntity Pending(string mobile, long id) => new()
    {
        Id = id, Vendor = Shared.Vendor, Mobile = mobile, InstanceId = Shared.InstanceId, ActivityId = Shared.ActivityId, IdempotencyKey = Shared.IdempotencyKey,
        Status = SendRecordStatus.Pending, CreatedAtTicks = Shared.CreatedAtTicks, DefinitionId = Shared.DefinitionId,
    };
}

/// <summary>
/// Durable send records: written before the vendor call (Pending) and settled after it, so a report can be tied
/// back to the workflow that sent the message and a send interrupted by a crash is surfaced, not repeated.
/// </summary>
/// <param name="writes">
/// The plug-in database's write gate (SQLite): these writes wait their turn behind the push inbox's, so a webhook's
/// acknowledgement never queues in SQLite's busy handler behind a report or campaign commit.
/// </param>
/// <param name="pluginDatabase">Set when the plug-in's tables are in the runtime's database: a send's completion then rides its run's commit.</param>
public sealed class SendRecordStore(IDbContextFactory<SmsActivitiesDbContext> dbFactory, TimeProvider time,
    [FromKeyedServices(SmsActivitiesDbContext.Schema)] SqliteWriteGate? writes = null, SendRecordWatch? watch = null, PluginDatabase? pluginDatabase = null)
{
    private static readonly JsonSerializerOptions ReplayJson = new(JsonSerializerDefaults.Web);
    private const string ZoneKeySeparator = "-z";

    /// <summary>
    /// Most delivery reports one SQLite transaction writes, half a push of a hundred: an acknowledgement waiting for the
    /// plug-in file's write turn waits for one such transaction, not for a whole batch of pushes.
    /// </summary>
    internal const int ReportsPerSqliteTransaction = 50;

    /// <summary>The key of one time zone group of a send split by its send window: the attempt's key and the group's.</summary>
    public static string SendZoneKey(string attemptKey, string groupKey) => attemptKey + ZoneKeySeparator + groupKey;

    /// <summary>The attempt a send key belongs to: a time zone group's key (see <see cref="SendZoneKey"/>) without its group.</summary>
    public static string AttemptKey(string sendKey)
    {
        ArgumentNullException.ThrowIfNull(sendKey);
        var at = sendKey.LastIndexOf(ZoneKeySeparator, StringComparison.Ordinal);
        return at > 0 && sendKey.Length - at - ZoneKeySeparator.Length == ZoneGroupKeyLength && sendKey[(at + ZoneKeySeparator.Length)..].All(char.IsAsciiHexDigitLower)
            ? sendKey[..at] : sendKey;
    }

    /// <summary>The prefix every time zone group key of an attempt starts with.</summary>
    public static string ZoneKeyPrefix(string attemptKey) => attemptKey + ZoneKeySeparator;

    /// <summary>How many hex characters name a time zone group in its send key (see <see cref="AttemptKey"/>).</summary>
    public const int ZoneGroupKeyLength = 8;

    /// <summary>
    /// A write a run makes to a send's records (<paramref name="sendKey"/>; null: records by id), told to the batches
    /// that read sends' rows ahead (<see cref="SendRecordWatch"/>) once it is over, failed or not.
    /// </summary>
    private async Task Told(string? sendKey, Task write)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        finally
        {
            watch?.Written(sendKey);
        }
    }

    private async Task<T> Told<T>(string? sendKey, Task<T> write)
    {
        await Told(sendKey, (Task)write).ConfigureAwait(false);
        return await write.ConfigureAwait(false);
    }

    /// <summary>
    /// Everything a send reads before it calls a vendor, in one query: what an earlier execution with this idempotency
    /// key left behind (null when there was none; otherwise either the outputs it completed with,
    /// <see cref="PriorSend{TOutputs}.Completed"/>, to be replayed without calling any vendor, also those a send kept
    /// without records when nothing went out because every recipient had opted out; or, when it began but never
    /// completed, the process dying inside the vendor call, the recipients whose fate is unknown) and which of
    /// <paramref name="recipients"/> are on the opt-out list.
    /// </summary>
    public async Task<SendLookup<TOutputs>> LookUpAsync<TOutputs>(string idempotencyKey, IReadOnlyCollection<string> recipients, CancellationToken cancellationToken)
        where TOutputs : class
    {
        ArgumentNullException.ThrowIfNull(recipients);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var (records, outcomes, optOuts) = (StoreMap.For<SendRecordEntity>(db), StoreMap.For<SendOutcomeEntity>(db), StoreMap.For<OptOutEntity>(db));
        // On SQLite a statement kept prepared (SqlitePreparedCommand), elsewhere a command with named parameters.
        await using var command = DatabaseEngine.IsSqlite(db.Database) ? null : db.Database.GetDbConnection().CreateCommand();
        var parameters = new ReadParameters(db, command);
        var key = parameters.Value(records, nameof(SendRecordEntity.IdempotencyKey), idempotencyKey);
        string R(string property) => records.Column(property);
        // One UNION ALL, told apart by its first column: 0 a record, 1 the kept outputs, 2 an opted-out recipient.
        var sql = new StringBuilder()
            .Append("SELECT 0, ").Append(R(nameof(SendRecordEntity.Mobile))).Append(", ").Append(R(nameof(SendRecordEntity.Status))).Append(", ")
            .Append(R(nameof(SendRecordEntity.Vendor))).Append(", ").Append(R(nameof(SendRecordEntity.MessageId))).Append(", ").Append(R(nameof(SendRecordEntity.Error)))
            .Append(", NULL FROM ").Append(records.Table).Append(" WHERE ").Append(R(nameof(SendRecordEntity.IdempotencyKey))).Append(" = ").Append(key)
            .Append(" UNION ALL SELECT 1, NULL, NULL, NULL, NULL, NULL, ").Append(outcomes.Column(nameof(SendOutcomeEntity.Outputs)))
            .Append(" FROM ").Append(outcomes.Table).Append(" WHERE ").Append(outcomes.Column(nameof(SendOutcomeEntity.IdempotencyKey))).Append(" = ").Append(key);
        if (recipients.Count > 0)
        {
            // The numbers as one parameter, whatever the campaign's size.
            var mobile = optOuts.Column(nameof(OptOutEntity.Mobile));
            sql.Append(" UNION ALL SELECT 2, ").Append(mobile).Append(", NULL, NULL, NULL, NULL, NULL FROM ").Append(optOuts.Table).Append(" WHERE ").Append(mobile).Append(' ')
                .Append(parameters.InList(recipients));
        }

        var begun = new List<(string Mobile, string Status, string Vendor, string? MessageId, string? Error)>();
        byte[]? completed = null;
        var optedOut = new HashSet<string>(StringComparer.Ordinal);
        void Row(long kind, string? mobile, string? status, string? vendor, string? messageId, string? error, byte[]? outputs)
        {
            switch (kind)
            {
                case 0: begun.Add((mobile!, status!, vendor!, messageId, error)); break;
                case 1: completed = outputs; break;
                default: optedOut.Add(mobile!); break;
            }
        }
        if (command is null)
        {
            await using var prepared = new SqlitePreparedCommand(db.Database.GetDbConnection(), sql.ToString(), parameters.Values.Count);
            await prepared.ReadAsync(parameters.Values, row => Row(row.GetInt64(0), row.GetStringOrNull(1), row.GetStringOrNull(2), row.GetStringOrNull(3), row.GetStringOrNull(4),
                row.GetStringOrNull(5), row.IsNull(6) ? null : row.GetBytes(6)), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            command.CommandText = sql.ToString();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                Row(Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), Text(1), Text(2), Text(3), Text(4), Text(5),
                    reader.IsDBNull(6) ? null : (byte[])reader.GetValue(6));
        }

        PriorSend<TOutputs>? prior = null;
        // Every send that completed with records began them; only one that went nowhere kept its outputs without.
        if (completed is not null) prior = new PriorSend<TOutputs>([], JsonSerializer.Deserialize<TOutputs>(Unpack(completed), ReplayJson));
        else if (begun.Count > 0)
            prior = new PriorSend<TOutputs>(begun.Where(r => r.Status is SendRecordStatus.Pending or SendRecordStatus.InDoubt).Select(r => r.Mobile).ToArray(), null)
            {
                Settled = begun.Where(r => r.Status is SendRecordStatus.Accepted or SendRecordStatus.Rejected)
                    .Select(r => new SmsRecipientOutcome(r.Mobile, r.Vendor, r.Status == SendRecordStatus.Accepted, r.MessageId, null, r.Error, null, 1)).ToArray(),
                NeverAttempted = begun.Where(r => r.Status == SendRecordStatus.Queued).Select(r => r.Mobile).ToArray(),
            };
        return new SendLookup<TOutputs>(prior, optedOut);
    }

    /// <summary>Marks an interrupted send's Pending records InDoubt, once it has been reported to the workflow.</summary>
    public Task MarkInDoubtAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        Told(idempotencyKey, TransientRetry.RunAsync(() => MarkInDoubtOnceAsync(idempotencyKey, cancellationToken), cancellationToken));

    private async Task MarkInDoubtOnceAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginAsync(db, [InsightRollup.SendLock(idempotencyKey)], cancellationToken).ConfigureAwait(false);
        var rows = await db.SendRecords.Where(r => r.IdempotencyKey == idempotencyKey && r.Status == SendRecordStatus.Pending)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var before = rows.Select(InsightRollup.Snapshot).ToArray();
        foreach (var row in rows) row.Status = SendRecordStatus.InDoubt;
        await SaveAsync(db, before, rows, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Saves changes to tracked <paramref name="rows"/> (<paramref name="before"/>: their snapshots, in the same order)
    /// with the insights cells they move, inside the caller's <see cref="InsightRollup.BeginAsync"/> transaction.
    /// </summary>
    private static async Task SaveAsync(SmsActivitiesDbContext db, IReadOnlyList<SendRecordEntity> before, IReadOnlyList<SendRecordEntity> rows, CancellationToken cancellationToken)
    {
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new SqlBatch(db);
        await MoveInsightsAsync(batch, db, before, rows, cancellationToken).ConfigureAwait(false);
        await batch.ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves the insights cells from each record as it was (<paramref name="before"/>) to as it is now (<paramref name="rows"/>, same order):
    /// the reports are read now, the cells' upserts go into <paramref name="batch"/>.
    /// </summary>
    /// <remarks><paramref name="read"/>: reports read already with the records (those of other messages are read here).</remarks>
    private static async Task MoveInsightsAsync(SqlBatch batch, SmsActivitiesDbContext db, IReadOnlyList<SendRecordEntity> before, IReadOnlyList<SendRecordEntity> rows,
        CancellationToken cancellationToken, SettlingReads? read = null)
    {
        var changed = Enumerable.Range(0, rows.Count).Where(i => InsightRollup.Differs(before[i], rows[i])).ToArray();
        if (changed.Length == 0) return;
        var touched = changed.SelectMany(i => new[] { before[i], rows[i] });
        var reports = read is null
            ? await InsightRollup.ReportsAsync(db, touched, cancellationToken).ConfigureAwait(false)
            : await read.ReportsAsync(db, touched, cancellationToken).ConfigureAwait(false);
        var delta = new InsightDelta();
        foreach (var i in changed)
        {
            delta.Remove(before[i], InsightRollup.ReportOf(reports, before[i]));
            delta.Add(rows[i], InsightRollup.ReportOf(reports, rows[i]));
        }
        await delta.AppendAsync(batch, db, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes one record per recipient, committed before the vendor is called: Pending, or Queued for a send that hands
    /// its recipients to the vendors batch by batch (<see cref="StartBatchAsync"/>, <see cref="SettleAsync"/>).
    /// </summary>
    /// <returns>
    /// For a batched send, its record ids by mobile when the database told them with the insert (SQLite), as
    /// <see cref="RecordIdsAsync"/> would read them; otherwise null (then read them with <see cref="RecordIdsAsync"/>).
    /// </returns>
    public Task<BegunRecords?> BeginAsync(string idempotencyKey, string instanceId, string activityId, string plannedVendor, IReadOnlyList<string> mobiles,
        CancellationToken cancellationToken, bool batched = false, string? definitionId = null) =>
        Told(idempotencyKey, TransientRetry.RunAsync(_ => BeginOnceAsync(idempotencyKey, instanceId, activityId, plannedVendor, mobiles, batched, definitionId, cancellationToken),
            cancellationToken));

    private async Task<BegunRecords?> BeginOnceAsync(string idempotencyKey, string instanceId, string activityId, string plannedVendor,
        IReadOnlyList<string> mobiles, bool batched, string? definitionId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        // New records: nobody else can touch them before this commit, and their cells only add, so no lock of their own.
        await using var transaction = await BeginAsync(db, [], cancellationToken).ConfigureAwait(false);
        var shared = new SendRecordWriter.Begun(plannedVendor, instanceId, activityId, idempotencyKey, batched ? SendRecordStatus.Queued : SendRecordStatus.Pending,
            time.GetUtcNow().UtcTicks, string.IsNullOrEmpty(definitionId) ? null : definitionId);
        var firstId = await InsertBegunAsync(db, shared, mobiles, tellIds: batched, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (!batched || firstId is not { } first) return null;
        // A number listed twice has two records; the first is its own, as RecordIdsAsync reads it (lowest id first).
        var ids = new Dictionary<string, long>(mobiles.Count, StringComparer.Ordinal);
        for (var i = 0; i < mobiles.Count; i++) ids.TryAdd(mobiles[i], first + i);
        return new BegunRecords(ids, shared);
    }

    /// <returns>With <paramref name="tellIds"/>, the first record's id when the ids follow <paramref name="mobiles"/> one by one (see <see cref="SendRecordWriter.InsertAsync"/>).</returns>
    private static async Task<long?> InsertBegunAsync(SmsActivitiesDbContext db, SendRecordWriter.Begun shared, IReadOnlyList<string> mobiles, bool tellIds,
        CancellationToken cancellationToken)
    {
        await using var batch = new SqlBatch(db);
        var firstId = await SendRecordWriter.InsertAsync(batch, db, shared, mobiles, tellIds, cancellationToken).ConfigureAwait(false);
        // A new record has no message id yet, so no report to join; its contribution depends on the shared fields only.
        var delta = new InsightDelta();
        foreach (var mobile in mobiles)
            delta.Add(new SendRecordEntity
            {
                Vendor = shared.Vendor, Mobile = mobile, InstanceId = shared.InstanceId, ActivityId = shared.ActivityId, IdempotencyKey = shared.IdempotencyKey,
                Status = shared.Status, CreatedAtTicks = shared.CreatedAtTicks, DefinitionId = shared.DefinitionId,
            }, null);
        await delta.AppendAsync(batch, db, cancellationToken).ConfigureAwait(false);
        await batch.ExecuteAsync(cancellationToken).ConfigureAwait(false);
        return firstId;
    }

    /// <summary>
    /// The record ids of a send by mobile, read once by a send that goes batch by batch: its later writes go by id, so
    /// each batch touches its own records only, however many the send has.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> RecordIdsAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var rows = await db.SendRecords.AsNoTracking().Where(r => r.IdempotencyKey == idempotencyKey).Select(r => new { r.Id, r.Mobile })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var ids = new Dictionary<string, long>(rows.Count, StringComparer.Ordinal);
        foreach (var row in rows) ids.TryAdd(row.Mobile, row.Id);
        return ids;
    }

    /// <summary>
    /// Marks one batch's Queued records (by id) Pending, committed on its own just before the batch is handed to a
    /// vendor: only a batch that may have reached a vendor is ever reported in doubt after a crash. The insights cells
    /// count both as queued, so they do not change.
    /// </summary>
    /// <returns>
    /// False when some of them were no longer Queued: another run of the send (a node that took the instance over while
    /// this one still ran it) started the batch first, and only that run may hand it to a vendor.
    /// </returns>
    public Task<bool> StartBatchAsync(IReadOnlyList<long> recordIds, CancellationToken cancellationToken) => Told(null, StartBatchOnceAsync(recordIds, cancellationToken));

    private async Task<bool> StartBatchOnceAsync(IReadOnlyList<long> recordIds, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        // In the write turn: the batches of a campaign in flight side by side settle while others start.
        using var turn = writes is null ? null : await writes.EnterAsync(db, urgent: false, cancellationToken).ConfigureAwait(false);
        var started = await db.SendRecords.Where(r => recordIds.Contains(r.Id) && r.Status == SendRecordStatus.Queued)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, SendRecordStatus.Pending), cancellationToken).ConfigureAwait(false);
        return started == recordIds.Count;
    }

    /// <summary>
    /// Settles the records of the recipients the vendors answered for (<paramref name="recordIds"/>: from
    /// <see cref="RecordIdsAsync"/> of the send <paramref name="idempotencyKey"/>), as soon as a batch is answered.
    /// </summary>
    public Task SettleAsync(string idempotencyKey, IReadOnlyDictionary<string, long> recordIds, IReadOnlyList<SmsRecipientOutcome> outcomes, CancellationToken cancellationToken) =>
        Told(idempotencyKey, TransientRetry.RunAsync(() => SettleOnceAsync(idempotencyKey, recordIds, outcomes, cancellationToken), cancellationToken));

    /// <summary>
    /// Settles a batch of the records <paramref name="begun"/> wrote, which this run has just marked Pending
    /// (<see cref="StartBatchAsync"/> returned true): their state is known, so they are not read back (the read was
    /// 2–3 ms of the 7 a campaign batch held the write turn), only their messages' reports are. Each record is written
    /// only while still Pending; when fewer were (another run marked them in doubt meanwhile, retention took one), that
    /// is undone and the batch settled as <see cref="SettleAsync"/> does, reading them.
    /// </summary>
    public Task SettleStartedAsync(BegunRecords begun, IReadOnlyList<SmsRecipientOutcome> outcomes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(begun);
        var key = begun.Shared.IdempotencyKey;
        return Told(key, TransientRetry.RunAsync(async () =>
        {
            if (!await SettleKnownOnceAsync(begun, outcomes, cancellationToken).ConfigureAwait(false))
                await SettleOnceAsync(key, begun.Ids, outcomes, cancellationToken).ConfigureAwait(false);
        }, cancellationToken));
    }

    /// <returns>False when a record was no longer Pending: nothing was written.</returns>
    private async Task<bool> SettleKnownOnceAsync(BegunRecords begun, IReadOnlyList<SmsRecipientOutcome> outcomes, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginSettleAsync(db, begun.Shared.IdempotencyKey, outcomes, cancellationToken).ConfigureAwait(false);
        var rows = new List<SendRecordEntity>(outcomes.Count);
        var seen = new HashSet<long>();
        foreach (var outcome in outcomes)
            if (begun.Ids.TryGetValue(outcome.Mobile, out var id) && seen.Add(id)) rows.Add(begun.Pending(outcome.Mobile, id));
        var read = (await SettlingReads.ReadAsync(db, SettlingReads.NoRecords, outcomes, cancellationToken).ConfigureAwait(false)).WithRows(rows);
        await using var batch = new SqlBatch(db);
        // Not committed (the transaction is rolled back as it is disposed) when a record was not as assumed.
        if (!await SettleRowsAsync(batch, db, transaction, read, outcomes, cancellationToken, onlyPending: true).ConfigureAwait(false)) return false;
        await batch.ExecuteAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    private async Task SettleOnceAsync(string idempotencyKey, IReadOnlyDictionary<string, long> recordIds, IReadOnlyList<SmsRecipientOutcome> outcomes, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginSettleAsync(db, idempotencyKey, outcomes, cancellationToken).ConfigureAwait(false);
        var ids = outcomes.Select(o => recordIds.TryGetValue(o.Mobile, out var id) ? id : (long?)null).OfType<long>().Distinct().ToArray();
        var read = await SettlingReads.ReadAsync(db, SettlingReads.ById(ids), outcomes, cancellationToken).ConfigureAwait(false);
        await using var batch = new SqlBatch(db);
        await SettleRowsAsync(batch, db, transaction, read, outcomes, cancellationToken).ConfigureAwait(false);
        await batch.ExecuteAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes each outcome into its recipient's record among <paramref name="rows"/> (read untracked, inside the
    /// caller's <see cref="InsightRollup.BeginAsync"/> transaction, which holds the send's lock) unless that record is
    /// settled already, and moves the insights cells with them: both as statements in <paramref name="batch"/>.
    /// </summary>
    /// <param name="onlyPending">The rows were assumed, not read: each is written only while still Pending.</param>
    /// <returns>False (with <paramref name="onlyPending"/>) when fewer records were written than meant: the caller must not commit.</returns>
    private static async Task<bool> SettleRowsAsync(SqlBatch batch, SmsActivitiesDbContext db, GatedTransaction transaction, SettlingReads read,
        IReadOnlyList<SmsRecipientOutcome> outcomes, CancellationToken cancellationToken, bool onlyPending = false)
    {
        var rows = read.Rows;
        if (outcomes.Count == 0 || rows.Count == 0) return true;
        // The record each mobile's outcome settles: the first read of that mobile.
        var settled = new Dictionary<string, SendRecordEntity>(rows.Count, StringComparer.Ordinal);
        foreach (var row in rows) settled.TryAdd(row.Mobile, row);
        // The messages the records are about to carry, locked before their reports are read (an outcome may leave the vendor to its record).
        await transaction.LockAsync(outcomes.Where(o => o.MessageId is not null && settled.ContainsKey(o.Mobile))
            .Select(o => InsightRollup.MessageLock(o.Vendor ?? settled[o.Mobile].Vendor, o.MessageId!)), cancellationToken).ConfigureAwait(false);
        var (changed, meant) = await SendRecordWriter.SettleAsync(batch, db, settled, outcomes, cancellationToken, onlyPending).ConfigureAwait(false);
        if (onlyPending && changed != meant) return false;
        // The same rule as the writer's UPDATE, applied to copies: the first outcome of a mobile, onto a record not yet answered.
        var byMobile = outcomes.GroupBy(o => o.Mobile, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var before = new List<SendRecordEntity>();
        var after = new List<SendRecordEntity>();
        foreach (var row in rows)
        {
            if (settled[row.Mobile] != row || row.Status is SendRecordStatus.Accepted or SendRecordStatus.Rejected) continue;
            if (!byMobile.TryGetValue(row.Mobile, out var outcome)) continue;
            before.Add(InsightRollup.Snapshot(row));
            row.Vendor = outcome.Vendor ?? row.Vendor;
            row.MessageId = outcome.MessageId;
            row.Accepted = outcome.Accepted;
            row.Status = outcome.Accepted ? SendRecordStatus.Accepted : outcome.InDoubt ? SendRecordStatus.InDoubt : SendRecordStatus.Rejected;
            row.Error = outcome.Error;
            row.VendorCode = outcome.VendorCode;
            row.Fee = outcome.Fee;
            row.Attempts = outcome.Attempts;
            after.Add(row);
        }
        await MoveInsightsAsync(batch, db, before, after, cancellationToken, read).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Settles the records of a send not settled yet with what the vendors answered (the vendor that finally took or
    /// refused each recipient) and, in the same transaction, keeps the outputs the activity completes with, so an
    /// execution repeated with the same key (a crash before the workflow committed) replays them instead of sending again.
    /// </summary>
    public Task CompleteAsync<TOutputs>(string idempotencyKey, IReadOnlyList<SmsRecipientOutcome> outcomes, TOutputs outputs, CancellationToken cancellationToken) =>
        Told(idempotencyKey, TransientRetry.RunAsync(() => CompleteOnceAsync(idempotencyKey, outcomes, outputs, cancellationToken), cancellationToken));

    private async Task CompleteOnceAsync<TOutputs>(string idempotencyKey, IReadOnlyList<SmsRecipientOutcome> outcomes, TOutputs outputs, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginSettleAsync(db, idempotencyKey, outcomes, cancellationToken).ConfigureAwait(false);
        await CompleteRowsAsync(db, transaction, idempotencyKey, outcomes, outputs, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <see cref="CompleteAsync{TOutputs}"/> as a write for the run's commit (<see cref="IRunCommitWrite"/>): null when
    /// the plug-in's tables are not in the runtime's database (a SQLite file of their own), where it cannot ride it.
    /// </summary>
    public IRunCommitWrite? CompletionForRunCommit<TOutputs>(string idempotencyKey, IReadOnlyList<SmsRecipientOutcome> outcomes, TOutputs outputs) =>
        pluginDatabase is { Shared: true } ? new Completion<TOutputs>(this, pluginDatabase, idempotencyKey, outcomes, outputs) : null;

    private sealed class Completion<TOutputs>(SendRecordStore store, PluginDatabase share, string idempotencyKey, IReadOnlyList<SmsRecipientOutcome> outcomes,
        TOutputs outputs) : IRunCommitWrite
    {
        public async Task WriteInCommitAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
        {
            using var loan = share.On(connection);
            var db = loan.Db;
            var (locks, later) = SettleLocks(idempotencyKey, outcomes);
            await using var joined = new GatedTransaction(await InsightRollup.JoinAsync(db, transaction, locks, cancellationToken, later).ConfigureAwait(false), turn: null);
            await store.Told(idempotencyKey, store.CompleteRowsAsync(db, joined, idempotencyKey, outcomes, outputs, cancellationToken)).ConfigureAwait(false);
        }

        public Task WriteAloneAsync(CancellationToken cancellationToken) => store.CompleteAsync(idempotencyKey, outcomes, outputs, cancellationToken);
    }

    private static readonly string[] KeptColumns = [nameof(SendOutcomeEntity.IdempotencyKey), nameof(SendOutcomeEntity.Outputs), nameof(SendOutcomeEntity.CreatedAtTicks)];

    /// <remarks>The settle, the cells it moves and the kept outputs are written by one command.</remarks>
    private async Task CompleteRowsAsync<TOutputs>(SmsActivitiesDbContext db, GatedTransaction transaction, string idempotencyKey, IReadOnlyList<SmsRecipientOutcome> outcomes,
        TOutputs outputs, CancellationToken cancellationToken)
    {
        await using var batch = new SqlBatch(db);
        if (outcomes.Count > 0)
        {
            var mobiles = outcomes.Select(o => o.Mobile).Distinct(StringComparer.Ordinal).ToArray();
            var read = await SettlingReads.ReadAsync(db, SettlingReads.ByKey(idempotencyKey, mobiles), outcomes, cancellationToken).ConfigureAwait(false);
            await SettleRowsAsync(batch, db, transaction, read, outcomes, cancellationToken).ConfigureAwait(false);
        }
        var kept = StoreMap.For<SendOutcomeEntity>(db);
        await batch.RowsAsync(kept, $"INSERT INTO {kept.Table} ({string.Join(", ", KeptColumns.Select(kept.Column))}) VALUES ", KeptColumns,
            [[idempotencyKey, Pack(JsonSerializer.Serialize(outputs, ReplayJson)), time.GetUtcNow().UtcTicks]], "", cancellationToken).ConfigureAwait(false);
        await batch.ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Does at start what a first send would pay for in its writes before and after the vendor call (the lookup of an
    /// earlier execution, the records begun, settled and rolled up into the insights cells, the outputs kept), and what
    /// its first delivery report would pay for (the report stored and the cells it moves): all of it for a key and a
    /// message no send can have, in one transaction that is rolled back, so nothing is stored.
    /// </summary>
    internal async Task WarmAsync(CancellationToken cancellationToken)
    {
        var key = "warm-up-" + Guid.NewGuid().ToString("N");
        const string mobile = "+8613900000000";
        await LookUpAsync<JsonObject>(key, [mobile], cancellationToken).ConfigureAwait(false);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginAsync(db, [InsightRollup.SendLock(key)], cancellationToken, laterLocks: 1).ConfigureAwait(false);
        await InsertBegunAsync(db, new SendRecordWriter.Begun("warm-up", key, key, key, SendRecordStatus.Pending, time.GetUtcNow().UtcTicks, key), [mobile], tellIds: false, cancellationToken)
            .ConfigureAwait(false);
        await CompleteRowsAsync(db, transaction, key, [new SmsRecipientOutcome(mobile, "warm-up", true, key, null, null, 0.05m, 1)], new JsonObject(), cancellationToken)
            .ConfigureAwait(false);
        // The report of the message just settled, then a final one after an Unknown: both ways a stored report changes.
        var at = time.GetUtcNow();
        await StoreReportsAsync(db, [new DeliveryReport("warm-up", key, mobile, DeliveryStatus.Unknown, null, null, at)], at, cancellationToken).ConfigureAwait(false);
        await StoreReportsAsync(db, [new DeliveryReport("warm-up", key, mobile, DeliveryStatus.Delivered, null, null, at)], at, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Hands a recipient of the send <paramref name="idempotencyKey"/> to <paramref name="nextVendor"/> after its message
    /// through <paramref name="failedVendor"/> was reported not delivered: the recipient's record names the next vendor,
    /// Pending, one attempt more, committed before that vendor is called. A plan names each vendor once, so a record that
    /// no longer names <paramref name="failedVendor"/> was handed over already: then nothing is written, and the record
    /// tells how far that earlier run got (<see cref="FailoverStart.Begun"/> false; a crash or a repeated report).
    /// Null when the send has no record for the number.
    /// </summary>
    public Task<FailoverStart?> BeginFailoverAsync(string idempotencyKey, string mobile, string failedVendor, string nextVendor, CancellationToken cancellationToken) =>
        Told(idempotencyKey, BeginFailoverOnceAsync(idempotencyKey, mobile, failedVendor, nextVendor, cancellationToken));

    private async Task<FailoverStart?> BeginFailoverOnceAsync(string idempotencyKey, string mobile, string failedVendor, string nextVendor, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginAsync(db, [InsightRollup.SendLock(idempotencyKey)], cancellationToken, laterLocks: 1).ConfigureAwait(false);
        var row = await db.SendRecords.Where(r => r.IdempotencyKey == idempotencyKey && r.Mobile == mobile).OrderBy(r => r.Id)
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (row is null) return null;
        if (row.MessageId is not null)
        {
            // The message it carries (a reply or its report may be moving the record's cell): locked, then the record read again.
            await transaction.LockAsync([InsightRollup.MessageLock(row.Vendor, row.MessageId)], cancellationToken).ConfigureAwait(false);
            await db.Entry(row).ReloadAsync(cancellationToken).ConfigureAwait(false);
        }
        if (!string.Equals(row.Vendor, failedVendor, StringComparison.OrdinalIgnoreCase))
            return new FailoverStart(row.Id, false, row.Vendor, row.Status, row.MessageId, row.Error, row.VendorCode, row.Fee, row.Attempts);
        var before = InsightRollup.Snapshot(row);
        row.Vendor = nextVendor;
        row.Status = SendRecordStatus.Pending;
        row.Accepted = false;
        row.MessageId = null;
        row.Error = null;
        row.VendorCode = null;
        row.Fee = null;
        row.Attempts++;
        await SaveAsync(db, [before], [row], cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new FailoverStart(row.Id, true, row.Vendor, row.Status, null, null, null, null, row.Attempts);
    }

    /// <summary>
    /// The sends in doubt that <paramref name="reports"/> settle: a report that names its number settles the latest send
    /// to that number through the same vendor that is in doubt (or still inside the vendor call), made before the report
    /// came and no longer than <paramref name="window"/> before it. A report that carries the caller's reference (Yunpian's
    /// <c>uid</c>) settles only the send that reference names, so two sends in doubt to one number are told apart. A
    /// report of a message already on a send record settles nothing else, and each record is settled by one report.
    /// </summary>
    public async Task<IReadOnlyList<InDoubtSettlement>> FindInDoubtAsync(IReadOnlyList<DeliveryReport> reports, DateTimeOffset receivedAt, TimeSpan window, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var named = reports.Where(r => !string.IsNullOrEmpty(r.Mobile)).ToArray();
        if (named.Length == 0) return [];
        var mobiles = named.Select(r => r.Mobile!).Distinct(StringComparer.Ordinal).ToArray();
        var (from, to) = ((receivedAt - window).UtcTicks, receivedAt.UtcTicks);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var open = await db.SendRecords.AsNoTracking()
            .Where(r => mobiles.Contains(r.Mobile) && r.IdempotencyKey != null && (r.Status == SendRecordStatus.InDoubt || r.Status == SendRecordStatus.Pending)
                        && r.CreatedAtTicks >= from && r.CreatedAtTicks <= to)
            .Select(r => new { r.Id, r.Vendor, r.Mobile, r.IdempotencyKey, r.CreatedAtTicks })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        if (open.Count == 0) return [];
        var ids = named.Select(r => r.MessageId).Distinct(StringComparer.Ordinal).ToArray();
        var known = (await db.SendRecords.AsNoTracking().Where(r => r.MessageId != null && ids.Contains(r.MessageId))
                .Select(r => new { r.Vendor, r.MessageId }).ToListAsync(cancellationToken).ConfigureAwait(false))
            .Select(r => (Vendor: r.Vendor.ToLowerInvariant(), r.MessageId)).ToHashSet();
        var taken = new HashSet<long>();
        var settled = new List<InDoubtSettlement>();
        foreach (var report in named)
        {
            if (known.Contains((report.Vendor.ToLowerInvariant(), report.MessageId))) continue;
            var record = open.Where(r => r.Mobile == report.Mobile && string.Equals(r.Vendor, report.Vendor, StringComparison.OrdinalIgnoreCase) && !taken.Contains(r.Id)
                                         && (report.ClientReference is not { } reference || IsReferenceOf(reference, r.IdempotencyKey!)))
                .OrderByDescending(r => r.CreatedAtTicks).ThenByDescending(r => r.Id).FirstOrDefault();
            if (record is null) continue;
            taken.Add(record.Id);
            settled.Add(new InDoubtSettlement(report, record.Id, record.IdempotencyKey!, record.Mobile));
        }
        return settled;
    }

    /// <summary>
    /// Whether a vendor's echo of the caller's reference names the send <paramref name="idempotencyKey"/>: the send's key
    /// itself, or the key of one of its calls (a batch, or a failover attempt), which is the send's key and a suffix.
    /// </summary>
    private static bool IsReferenceOf(string reference, string idempotencyKey) =>
        reference.StartsWith(idempotencyKey, StringComparison.Ordinal)
        && (reference.Length == idempotencyKey.Length || reference[idempotencyKey.Length] == '-');

    /// <summary>Marks the settled records accepted, with the message id their report gave; a record settled meanwhile is left as it is.</summary>
    public Task SettleInDoubtAsync(IReadOnlyList<InDoubtSettlement> settlements, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settlements);
        return settlements.Count == 0 ? Task.CompletedTask : TransientRetry.RunAsync(() => SettleInDoubtOnceAsync(settlements, cancellationToken), cancellationToken);
    }

    private async Task SettleInDoubtOnceAsync(IReadOnlyList<InDoubtSettlement> settlements, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var locks = settlements.SelectMany(s => new[] { InsightRollup.SendLock(s.IdempotencyKey), InsightRollup.MessageLock(s.Report.Vendor, s.Report.MessageId) });
        await using var transaction = await BeginAsync(db, locks, cancellationToken).ConfigureAwait(false);
        var ids = settlements.Select(s => s.RecordId).ToArray();
        var rows = await db.SendRecords.Where(r => ids.Contains(r.Id) && (r.Status == SendRecordStatus.InDoubt || r.Status == SendRecordStatus.Pending))
            .ToDictionaryAsync(r => r.Id, cancellationToken).ConfigureAwait(false);
        var before = new List<SendRecordEntity>();
        var after = new List<SendRecordEntity>();
        foreach (var settlement in settlements)
        {
            // A record handed to another vendor meanwhile (a failover after a failed report) is that vendor's now.
            if (!rows.TryGetValue(settlement.RecordId, out var row) || !string.Equals(row.Vendor, settlement.Report.Vendor, StringComparison.OrdinalIgnoreCase)) continue;
            rows.Remove(settlement.RecordId);
            before.Add(InsightRollup.Snapshot(row));
            row.Status = SendRecordStatus.Accepted;
            row.Accepted = true;
            row.MessageId = settlement.Report.MessageId;
            row.Error = null;
            after.Add(row);
        }
        await SaveAsync(db, before, after, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// When each of <paramref name="messages"/> was handed to its vendor (the send record's creation), for those this
    /// store sent; keyed by vendor and message id. One query by message id (indexed with the vendor).
    /// </summary>
    public async Task<IReadOnlyDictionary<(string Vendor, string MessageId), DateTimeOffset>> SentAtAsync(IReadOnlyCollection<(string Vendor, string MessageId)> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0) return new Dictionary<(string, string), DateTimeOffset>();
        var ids = messages.Select(m => m.MessageId).Distinct(StringComparer.Ordinal).ToArray();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var rows = await db.SendRecords.AsNoTracking()
            .Where(r => r.MessageId != null && ids.Contains(r.MessageId) && r.Status == SendRecordStatus.Accepted)
            .Select(r => new { r.Vendor, r.MessageId, r.CreatedAtTicks })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var wanted = messages.ToHashSet();
        return rows.Where(r => wanted.Contains((r.Vendor, r.MessageId!)))
            .GroupBy(r => (r.Vendor, r.MessageId!))
            .ToDictionary(g => g.Key, g => new DateTimeOffset(g.Min(r => r.CreatedAtTicks), TimeSpan.Zero));
    }

    /// <summary>
    /// Keeps the first final delivery report of each message (an <c>Unknown</c> report only until a final one comes),
    /// with the time it was received. On SQLite the reports are written <see cref="ReportsPerSqliteTransaction"/> to a
    /// transaction, elsewhere all in one.
    /// </summary>
    /// <returns>
    /// The sends whose records carry the reported messages, as <see cref="SendReportLedger.SendsOfAsync"/> finds them,
    /// read with the records the insights need (one read of them per batch). A message not on a record yet maps to none.
    /// </returns>
    public async Task<IReadOnlyDictionary<(string Vendor, string MessageId), SendReference>> RecordReportsAsync(IReadOnlyList<DeliveryReport> reports,
        DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reports);
        if (reports.Count == 0) return new Dictionary<(string Vendor, string MessageId), SendReference>();
        // A final report of the same message stored concurrently by another push wins the key: then read again, once.
        return await TransientRetry.RunAsync(async _ =>
        {
            try
            {
                return await WriteReportsAsync(reports, receivedAt, cancellationToken).ConfigureAwait(false);
            }
            // The new reports are inserted as rows: a key taken meanwhile fails as the provider's own error.
            catch (Exception e) when (e is DbUpdateException or System.Data.Common.DbException && !TransientRetry.IsRetryable(e))
            {
                return await WriteReportsAsync(reports, receivedAt, cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyDictionary<(string Vendor, string MessageId), SendReference>> WriteReportsAsync(IReadOnlyList<DeliveryReport> reports,
        DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        // On SQLite a transaction holds the file's only write lock, and the webhooks' acknowledgements write the same file:
        // a batch of pushes (thousands of reports) in one transaction kept them waiting for a second or more. A transaction
        // per slice hands the write turn on between slices. Safe to split: each slice keeps the cells equal to what it
        // wrote, and a crash between slices leaves the inbox rows, whose rerun finds the stored reports and changes nothing.
        // PostgreSQL's writers do not wait for each other: the batch stays one transaction there.
        var slice = DatabaseEngine.IsSqlite(db.Database) ? ReportsPerSqliteTransaction : reports.Count;
        var sendsOf = new Dictionary<(string Vendor, string MessageId), SendReference>();
        foreach (var part in reports.Chunk(slice))
        {
            db.ChangeTracker.Clear();
            await using var transaction = await BeginAsync(db, part.Select(r => InsightRollup.MessageLock(r.Vendor, r.MessageId)), cancellationToken)
                .ConfigureAwait(false);
            foreach (var (message, send) in await StoreReportsAsync(db, part, receivedAt, cancellationToken).ConfigureAwait(false)) sendsOf.TryAdd(message, send);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        return sendsOf;
    }

    private static readonly string[] ReportColumns =
    [
        nameof(DeliveryReportEntity.Vendor), nameof(DeliveryReportEntity.MessageId), nameof(DeliveryReportEntity.Status), nameof(DeliveryReportEntity.Code),
        nameof(DeliveryReportEntity.ReceivedAtTicks),
    ];

    /// <summary>The reports' writes and the insights cells they move, in the caller's transaction (their messages locked), not committed.</summary>
    private static async Task<IReadOnlyDictionary<(string Vendor, string MessageId), SendReference>> StoreReportsAsync(SmsActivitiesDbContext db,
        IReadOnlyList<DeliveryReport> reports, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        // Each message's report as it was before this push (null: none), for the insights cells of its send records.
        var previous = new Dictionary<(string Vendor, string MessageId), DeliveryReportEntity?>();
        var current = new Dictionary<(string Vendor, string MessageId), DeliveryReportEntity>();
        // New reports go in as rows, not through change tracking (a batch of pushes brings thousands); the few that replace
        // an Unknown report are tracked and saved.
        var inserted = new List<DeliveryReportEntity>();
        foreach (var byVendor in reports.GroupBy(r => r.Vendor, StringComparer.Ordinal))
        {
            var ids = byVendor.Select(r => r.MessageId).Distinct(StringComparer.Ordinal).ToArray();
            var stored = await db.DeliveryReports.Where(d => d.Vendor == byVendor.Key && ids.Contains(d.MessageId))
                .ToDictionaryAsync(d => d.MessageId, StringComparer.Ordinal, cancellationToken).ConfigureAwait(false);
            foreach (var report in byVendor)
            {
                var status = report.Status.ToString();
                var code = report.Status == DeliveryStatus.Failed ? report.VendorCode : null;
                var key = (report.Vendor, report.MessageId);
                if (!stored.TryGetValue(report.MessageId, out var row))
                {
                    previous.TryAdd(key, null);
                    stored[report.MessageId] = row = new DeliveryReportEntity { Vendor = report.Vendor, MessageId = report.MessageId, Status = status, Code = code, ReceivedAtTicks = receivedAt.UtcTicks };
                    inserted.Add(row);
                    current[key] = row;
                }
                else if (row.Status == nameof(DeliveryStatus.Unknown) && report.Status != DeliveryStatus.Unknown)
                {
                    previous.TryAdd(key, new DeliveryReportEntity { Vendor = row.Vendor, MessageId = row.MessageId, Status = row.Status, Code = row.Code, ReceivedAtTicks = row.ReceivedAtTicks });
                    row.Status = status;
                    row.Code = code;
                    row.ReceivedAtTicks = receivedAt.UtcTicks;
                    current[key] = row;
                }
            }
        }
        // The send records these reports answer, as committed (their messages are locked): a record not settled yet has no
        // message id and counts the report when it settles. Every reported message's records are read, not only those
        // whose report changed here: the caller needs their sends too.
        var delta = new InsightDelta();
        var sendsOf = new Dictionary<(string Vendor, string MessageId), SendReference>();
        // By vendor, so the lookups go through the index on (vendor, message id).
        foreach (var (vendor, chunk) in reports.GroupBy(r => r.Vendor, StringComparer.Ordinal)
                     .SelectMany(g => g.Select(r => r.MessageId).Distinct(StringComparer.Ordinal).Chunk(5000).Select(c => (g.Key, c))))
        {
            var sends = await db.SendRecords.AsNoTracking().Where(r => r.Vendor == vendor && chunk.Contains(r.MessageId!))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            foreach (var send in sends)
            {
                if (send.IdempotencyKey is { } idempotencyKey)
                {
                    var key = AttemptKey(idempotencyKey);
                    sendsOf.TryAdd((vendor, send.MessageId!), new SendReference(key, send.InstanceId ?? "", send.ActivityId ?? "", key != idempotencyKey));
                }
                if (!current.TryGetValue((send.Vendor, send.MessageId!), out var now)) continue;
                delta.Remove(send, previous[(send.Vendor, send.MessageId!)]);
                delta.Add(send, now);
            }
        }
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new SqlBatch(db);
        var map = StoreMap.For<DeliveryReportEntity>(db);
        await batch.RowsAsync(map, $"INSERT INTO {map.Table} ({string.Join(", ", ReportColumns.Select(map.Column))}) VALUES ", ReportColumns,
            inserted.Select(r => new object?[] { r.Vendor, r.MessageId, r.Status, r.Code, r.ReceivedAtTicks }).ToArray(), "", cancellationToken).ConfigureAwait(false);
        await delta.AppendAsync(batch, db, cancellationToken).ConfigureAwait(false);
        await batch.ExecuteAsync(cancellationToken).ConfigureAwait(false);
        return sendsOf;
    }

    /// <summary>
    /// Ties each reply to the latest accepted send to its number (sent before the reply came): the first reply sets
    /// its time, an opt-out keyword marks it opted out.
    /// </summary>
    public Task RecordRepliesAsync(IReadOnlyList<(string Mobile, bool OptOut, DateTimeOffset ReceivedAt)> replies, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(replies);
        return replies.Count == 0 ? Task.CompletedTask : TransientRetry.RunAsync(() => RecordRepliesOnceAsync(replies, cancellationToken), cancellationToken);
    }

    private async Task RecordRepliesOnceAsync(IReadOnlyList<(string Mobile, bool OptOut, DateTimeOffset ReceivedAt)> replies, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginAsync(db, [], cancellationToken, replies.Count).ConfigureAwait(false);
        // The record each reply goes to: accepted, so its message id is fixed; locked by it before the record is read to be changed.
        var latest = new Dictionary<(string Mobile, long At), long>();
        var locks = new List<string>();
        foreach (var (mobile, at) in replies.Select(r => (r.Mobile, r.ReceivedAt.UtcTicks)).Distinct())
        {
            var found = await db.SendRecords.AsNoTracking().Where(x => x.Mobile == mobile && x.Status == SendRecordStatus.Accepted && x.CreatedAtTicks <= at)
                .OrderByDescending(x => x.Id).Select(x => new { x.Id, x.Vendor, x.MessageId }).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
            if (found is null) continue;
            latest[(mobile, at)] = found.Id;
            if (found.MessageId is not null) locks.Add(InsightRollup.MessageLock(found.Vendor, found.MessageId));
        }
        await transaction.LockAsync(locks, cancellationToken).ConfigureAwait(false);
        var touched = new Dictionary<long, (SendRecordEntity Before, SendRecordEntity Row)>();
        foreach (var (mobile, optOut, receivedAt) in replies)
        {
            var at = receivedAt.UtcTicks;
            if (!latest.TryGetValue((mobile, at), out var id)) continue;
            if (!touched.TryGetValue(id, out var entry))
            {
                var row = await db.SendRecords.SingleAsync(r => r.Id == id, cancellationToken).ConfigureAwait(false);
                touched[id] = entry = (InsightRollup.Snapshot(row), row);
            }
            entry.Row.RepliedAtTicks ??= at;
            entry.Row.OptedOut |= optOut;
        }
        await SaveAsync(db, touched.Values.Select(t => t.Before).ToArray(), touched.Values.Select(t => t.Row).ToArray(), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The transaction of a settle of the send <paramref name="idempotencyKey"/>: the messages the outcomes carry are known
    /// already, so they are locked with the send, before the records and those messages' reports are read
    /// (<see cref="SettlingReads"/>); an outcome without its vendor has its message locked once its record is read.
    /// </summary>
    private Task<GatedTransaction> BeginSettleAsync(SmsActivitiesDbContext db, string idempotencyKey, IReadOnlyList<SmsRecipientOutcome> outcomes, CancellationToken cancellationToken)
    {
        var (locks, later) = SettleLocks(idempotencyKey, outcomes);
        return BeginAsync(db, locks, cancellationToken, later);
    }

    /// <summary>What a settle of the send locks up front (the send, the messages of outcomes that name their vendor), and how many message locks it may take later.</summary>
    private static (string[] Locks, int Later) SettleLocks(string idempotencyKey, IReadOnlyList<SmsRecipientOutcome> outcomes)
    {
        var messages = outcomes.Where(o => o is { Vendor: not null, MessageId: not null }).Select(o => InsightRollup.MessageLock(o.Vendor!, o.MessageId!)).ToArray();
        return ([InsightRollup.SendLock(idempotencyKey), .. messages], outcomes.Count(o => o.MessageId is not null) - messages.Length);
    }

    /// <summary><see cref="InsightRollup.BeginAsync"/> in the write turn of the plug-in's database.</summary>
    private async Task<GatedTransaction> BeginAsync(SmsActivitiesDbContext db, IEnumerable<string> locks, CancellationToken cancellationToken, int laterLocks = 0)
    {
        var turn = writes is null ? null : await writes.EnterAsync(db, urgent: false, cancellationToken).ConfigureAwait(false);
        try
        {
            return new GatedTransaction(await InsightRollup.BeginAsync(db, locks, cancellationToken, laterLocks).ConfigureAwait(false), turn);
        }
        catch
        {
            turn?.Dispose();
            throw;
        }
    }

    private sealed class GatedTransaction(RollupTransaction transaction, IDisposable? turn) : IAsyncDisposable
    {
        public Task LockAsync(IEnumerable<string> locks, CancellationToken cancellationToken) => transaction.LockAsync(locks, cancellationToken);

        public Task CommitAsync(CancellationToken cancellationToken) => transaction.CommitAsync(cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
            turn?.Dispose();
        }
    }

    /// <summary>
    /// Outputs kept for a replay under <see cref="PackFrom"/> bytes are stored as UTF-8 JSON: GZip's set-up costs more
    /// than it saves on a one-recipient send's few hundred bytes. Larger ones (a campaign's) are GZip-compressed;
    /// <see cref="Unpack"/> tells the two apart by GZip's magic bytes (JSON starts with '{').
    /// </summary>
    private const int PackFrom = 1024;

    private static byte[] Pack(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        if (bytes.Length < PackFrom) return bytes;
        using var buffer = new MemoryStream();
        using (var zip = new GZipStream(buffer, CompressionLevel.Fastest))
            zip.Write(bytes);
        return buffer.ToArray();
    }

    private static string Unpack(byte[] data)
    {
        if (data is not [0x1f, 0x8b, ..]) return Encoding.UTF8.GetString(data);
        using var zip = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var reader = new StreamReader(zip, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
