using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Persistence;

/// <summary>
/// The plug-in's own durable state: OTP challenges, rate-limit events, the opt-out list, send records, used webhook
/// signatures and the push inbox. On PostgreSQL its tables live in the <see cref="Schema"/> schema of the runtime's database.
/// </summary>
public class SmsActivitiesDbContext(DbContextOptions<SmsActivitiesDbContext> options) : DbContext(options)
{
    public const string Schema = "sms";

    /// <summary>The index of a campaign's refused and in-doubt send records (by instance, in record id order).</summary>
    public const string ProblemsIndex = "IX_sms_send_records_InstanceId_Problems";

    /// <summary>
    /// The rows of <see cref="ProblemsIndex"/>, as EF writes <see cref="IsProblem"/>: SQLite uses a partial index only
    /// for a query whose condition contains the index's.
    /// </summary>
    private const string ProblemsFilter = "\"Status\" IN ('" + SendRecordStatus.Rejected + "', '" + SendRecordStatus.InDoubt + "')";

    /// <summary>A refused or in-doubt send record: the condition a query of <see cref="ProblemsIndex"/> filters by, so the index serves it.</summary>
    public static readonly System.Linq.Expressions.Expression<Func<SendRecordEntity, bool>> IsProblem =
        r => r.Status == SendRecordStatus.Rejected || r.Status == SendRecordStatus.InDoubt;

    public DbSet<OtpChallengeEntity> OtpChallenges => Set<OtpChallengeEntity>();
    public DbSet<RateEventEntity> RateEvents => Set<RateEventEntity>();
    public DbSet<OptOutEntity> OptOuts => Set<OptOutEntity>();
    public DbSet<SendRecordEntity> SendRecords => Set<SendRecordEntity>();
    public DbSet<SendOutcomeEntity> SendOutcomes => Set<SendOutcomeEntity>();
    public DbSet<DeliveryReportEntity> DeliveryReports => Set<DeliveryReportEntity>();
    public DbSet<WebhookKeyEntity> WebhookKeys => Set<WebhookKeyEntity>();
    public DbSet<InsightCellEntity> InsightCells => Set<InsightCellEntity>();
    public DbSet<Inbox.PushInboxEntity> PushInbox => Set<Inbox.PushInboxEntity>();
    public DbSet<ReportWaitEntity> ReportWaits => Set<ReportWaitEntity>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        if (DatabaseEngine.IsPostgres(Database)) modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.Entity<OtpChallengeEntity>(e =>
        {
            e.ToTable("sms_otp_challenges");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasMaxLength(36);
            e.Property(x => x.Mobile).HasMaxLength(20);
            e.Property(x => x.Purpose).HasMaxLength(64);
            e.HasIndex(x => new { x.Mobile, x.Purpose, x.CreatedAtTicks });
        });
        modelBuilder.Entity<RateEventEntity>(e =>
        {
            e.ToTable("sms_rate_events");
            e.HasKey(x => x.Id);
            e.Property(x => x.Key).HasMaxLength(128);
            e.HasIndex(x => new { x.Key, x.AtTicks });
        });
        modelBuilder.Entity<OptOutEntity>(e =>
        {
            e.ToTable("sms_opt_outs");
            e.HasKey(x => x.Mobile);
            e.Property(x => x.Mobile).HasMaxLength(20);
        });
        modelBuilder.Entity<SendRecordEntity>(e =>
        {
            e.ToTable("sms_send_records");
            e.HasKey(x => x.Id);
            e.Property(x => x.Vendor).HasMaxLength(32);
            e.Property(x => x.MessageId).HasMaxLength(128);
            // A report finds its record by message id, so only records that carry one are in the index: a campaign's
            // records are begun without one, and each entry a begin inserts and its settle moves costs the one write turn.
            e.HasIndex(x => new { x.Vendor, x.MessageId }).HasFilter("\"MessageId\" IS NOT NULL");
            e.Property(x => x.Status).HasMaxLength(16);
            e.HasIndex(x => x.IdempotencyKey);
            e.HasIndex(x => new { x.InstanceId, x.ActivityId });
            // The insights page: sends over a time range, and a reply tied back to the latest send to its number.
            e.HasIndex(x => x.CreatedAtTicks);
            e.HasIndex(x => x.Mobile);
            // A campaign's distinct recipients (read from the index alone) and its refused or in-doubt recipients. The latter
            // index holds only those records: one on status moved every recipient's entry twice (Queued, Pending,
            // Accepted), inside the one write turn.
            e.HasIndex(x => new { x.InstanceId, x.Vendor, x.Mobile });
            e.HasIndex(x => x.InstanceId, ProblemsIndex).HasFilter(ProblemsFilter);
            e.Property(x => x.DefinitionId).HasMaxLength(128);
            e.Property(x => x.VendorCode).HasMaxLength(64);
        });
        modelBuilder.Entity<DeliveryReportEntity>(e =>
        {
            e.ToTable("sms_delivery_reports");
            e.HasKey(x => new { x.Vendor, x.MessageId });
            e.Property(x => x.Vendor).HasMaxLength(32);
            e.Property(x => x.MessageId).HasMaxLength(128);
            e.Property(x => x.Status).HasMaxLength(16);
            e.Property(x => x.Code).HasMaxLength(64);
            e.HasIndex(x => x.ReceivedAtTicks);
        });
        modelBuilder.Entity<ReportWaitEntity>(e =>
        {
            e.ToTable("sms_report_waits");
            e.HasKey(x => new { x.Vendor, x.MessageId });
            e.Property(x => x.Vendor).HasMaxLength(32);
            e.Property(x => x.MessageId).HasMaxLength(128);
            e.HasIndex(x => x.WaitedAtTicks);
        });
        modelBuilder.Entity<InsightCellEntity>(e =>
        {
            e.ToTable("sms_insight_cells");
            // A campaign's cells are one range of the key; a time range's are found by the minute.
            e.HasKey(x => new { x.InstanceId, x.Minute, x.DefinitionId, x.ActivityId, x.Vendor, x.Status, x.DeliveryStatus, x.Code, x.LatencyBucket });
            e.Property(x => x.DefinitionId).HasMaxLength(128);
            e.Property(x => x.Vendor).HasMaxLength(32);
            e.Property(x => x.Status).HasMaxLength(16);
            e.Property(x => x.DeliveryStatus).HasMaxLength(16);
            e.Property(x => x.Code).HasMaxLength(64);
            e.HasIndex(x => x.Minute);
        });
        modelBuilder.Entity<SendOutcomeEntity>(e =>
        {
            e.ToTable("sms_send_outcomes");
            e.HasKey(x => x.IdempotencyKey);
            e.Property(x => x.IdempotencyKey).HasMaxLength(64);
        });
        modelBuilder.Entity<Inbox.PushInboxEntity>(e =>
        {
            e.ToTable("sms_push_inbox");
            e.HasKey(x => x.Id);
            // The processor takes what is due, oldest first.
            e.HasIndex(x => x.DueAtTicks);
        });
        modelBuilder.Entity<WebhookKeyEntity>(e =>
        {
            e.ToTable("sms_webhook_keys");
            e.HasKey(x => x.Key);
            e.Property(x => x.Key).HasMaxLength(128);
            e.HasIndex(x => x.KeepUntilTicks);
        });
    }
}

// Times are stored as UTC ticks: comparable and indexable the same way on SQLite and PostgreSQL.

public sealed class OtpChallengeEntity
{
    public required string Id { get; set; }
    public required string Mobile { get; set; }
    public required string Purpose { get; set; }
    public required byte[] Salt { get; set; }
    public required byte[] CodeHash { get; set; }
    public long CreatedAtTicks { get; set; }
    public long ExpiresAtTicks { get; set; }
    public int Attempts { get; set; }
    public bool Consumed { get; set; }
}

public sealed class RateEventEntity
{
    public long Id { get; set; }
    public required string Key { get; set; }
    public long AtTicks { get; set; }
}

public sealed class OptOutEntity
{
    public required string Mobile { get; set; }
    public string? Reason { get; set; }
    public string? Vendor { get; set; }
    public long AtTicks { get; set; }
}

/// <summary>A durable record of one recipient handed to a vendor, so reports can be tied back to the workflow that sent it.</summary>
public sealed class SendRecordEntity
{
    public long Id { get; set; }
    public required string Vendor { get; set; }
    public string? MessageId { get; set; }
    public required string Mobile { get; set; }
    public string? InstanceId { get; set; }
    public string? ActivityId { get; set; }
    public string? IdempotencyKey { get; set; }
    public bool Accepted { get; set; }
    /// <summary>One of <see cref="SendRecordStatus"/>: written Pending before the vendor call, settled after it.</summary>
    public string Status { get; set; } = SendRecordStatus.Pending;
    public string? Error { get; set; }
    public long CreatedAtTicks { get; set; }
    /// <summary>The workflow definition of <see cref="InstanceId"/>, so sends can be summed per definition without the runtime's tables.</summary>
    public string? DefinitionId { get; set; }
    /// <summary>The vendor's code when it refused the recipient (or the call failed).</summary>
    public string? VendorCode { get; set; }
    /// <summary>The normalized fee the accepting vendor reported.</summary>
    public decimal? Fee { get; set; }
    /// <summary>Vendors tried for this recipient; more than one means it failed over.</summary>
    public int Attempts { get; set; }
    /// <summary>When the handset first replied to this send (the latest send to the number takes the reply).</summary>
    public long? RepliedAtTicks { get; set; }
    /// <summary>A reply to this send was an opt-out keyword.</summary>
    public bool OptedOut { get; set; }
}

/// <summary>
/// The first final delivery report of a message (an <c>Unknown</c> one until a final one comes), kept apart from the
/// send record because a vendor can report before the send that got the message id has settled its records.
/// </summary>
public sealed class DeliveryReportEntity
{
    public required string Vendor { get; set; }
    public required string MessageId { get; set; }
    /// <summary><c>Delivered</c>, <c>Failed</c> or <c>Unknown</c>.</summary>
    public required string Status { get; set; }
    /// <summary>The vendor's code of a failed report.</summary>
    public string? Code { get; set; }
    /// <summary>When the report was received: against the send record's creation, the send → report latency.</summary>
    public long ReceivedAtTicks { get; set; }
}

/// <summary>
/// A message some WaitForDeliveryReport waits for by its id (see <c>ReportWaitMarkers</c>): written when the wait begins,
/// before it looks for reports already stored, so a report of a message on a send record is kept in the runtime's inbox
/// for such a wait only while one can need it.
/// </summary>
public sealed class ReportWaitEntity
{
    /// <summary>Lower-cased, as reports and the wait's bookmarks name it.</summary>
    public required string Vendor { get; set; }
    public required string MessageId { get; set; }
    /// <summary>When a wait last began on the message; the marker goes with the send records' retention after that.</summary>
    public long WaitedAtTicks { get; set; }
}

/// <summary>
/// Send records summed ahead of the insights page (see <c>InsightRollup</c>): how many records of one instance, step,
/// vendor, status, delivery report status, failure code and send → report latency bucket were created in one minute.
/// Empty strings stand for none (a key column cannot be null); <see cref="LatencyBucket"/> is -1 for records without a
/// report (or not accepted).
/// </summary>
public sealed class InsightCellEntity
{
    /// <summary>Send → report latency histogram resolution.</summary>
    public const long LatencyBucketTicks = TimeSpan.TicksPerMillisecond * 100;

    /// <summary>Fees are summed as integers of this many units per currency unit (SQLite has no exact decimal arithmetic).</summary>
    public const decimal FeeScale = 100_000_000m;

    public required string InstanceId { get; set; }
    /// <summary>The records' creation, in whole minutes since 0001-01-01 UTC.</summary>
    public long Minute { get; set; }
    public required string DefinitionId { get; set; }
    public required string ActivityId { get; set; }
    public required string Vendor { get; set; }
    /// <summary>The record's status, Pending counted as Queued.</summary>
    public required string Status { get; set; }
    public required string DeliveryStatus { get; set; }
    /// <summary>The vendor's code of a refused send or of a failed report.</summary>
    public required string Code { get; set; }
    /// <summary>Send → report latency in 100 ms steps.</summary>
    public long LatencyBucket { get; set; }
    public int Count { get; set; }
    public int Replies { get; set; }
    public int OptOuts { get; set; }
    public int Failovers { get; set; }
    /// <summary>Fees in 10⁻⁸ currency units.</summary>
    public long FeeUnits { get; set; }
    public long FirstTicks { get; set; }
    public long LastTicks { get; set; }
    public long LastReportTicks { get; set; }
}

/// <summary>The outputs a completed send left the workflow with, by idempotency key: replayed when the same execution runs again.</summary>
public sealed class SendOutcomeEntity
{
    public required string IdempotencyKey { get; set; }
    /// <summary>
    /// The outputs as UTF-8 JSON, GZip-compressed from a kilobyte up: a campaign's per-recipient results run to
    /// megabytes of repetitive text, while a one-recipient send's few hundred bytes are kept as they are. Never holds
    /// an OTP code: the activity scrubs it from vendor errors before outputs are built.
    /// </summary>
    public required byte[] Outputs { get; set; }
    public long CreatedAtTicks { get; set; }
}

/// <summary>A signature that authorised one webhook push, with the SHA-256 of that push's body.</summary>
public sealed class WebhookKeyEntity
{
    public required string Key { get; set; }
    public required byte[] BodyHash { get; set; }
    public long KeepUntilTicks { get; set; }
}

public static class SendRecordStatus
{
    /// <summary>Part of a send split into vendor batches, whose batch has not been handed to a vendor yet: safe to send.</summary>
    public const string Queued = "Queued";
    /// <summary>Handed to the vendor call; still Pending later means the process died mid-call and the outcome is unknown.</summary>
    public const string Pending = "Pending";
    public const string Accepted = "Accepted";
    public const string Rejected = "Rejected";
    /// <summary>A Pending record that a later attempt found and surfaced instead of sending again.</summary>
    public const string InDoubt = "InDoubt";
}
