using Microsoft.EntityFrameworkCore;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// The runtime's tables. Provider-neutral: no raw SQL, no provider-specific types. On PostgreSQL they live in the
/// <see cref="Schema"/> schema, so plug-ins can keep their own tables in the same database.
/// </summary>
internal class WorkflowDbContext(DbContextOptions<WorkflowDbContext> options) : DbContext(options)
{
    public const string Schema = "workflows";

    public DbSet<DefinitionRow> Definitions => Set<DefinitionRow>();
    public DbSet<InstanceRow> Instances => Set<InstanceRow>();
    public DbSet<BookmarkRow> Bookmarks => Set<BookmarkRow>();
    public DbSet<TriggerRow> Triggers => Set<TriggerRow>();
    public DbSet<StimulusRow> Stimuli => Set<StimulusRow>();
    public DbSet<DeliveryRow> Deliveries => Set<DeliveryRow>();
    public DbSet<JournalRow> Journal => Set<JournalRow>();
    public DbSet<ExecutionRow> Executions => Set<ExecutionRow>();
    public DbSet<AlterationPlanRow> AlterationPlans => Set<AlterationPlanRow>();
    public DbSet<AlterationJobRow> AlterationJobs => Set<AlterationJobRow>();

    protected override void OnModelCreating(ModelBuilder b)
    {
        if (DatabaseEngine.IsPostgres(Database)) b.HasDefaultSchema(Schema);
        b.Entity<DefinitionRow>(e =>
        {
            e.ToTable("WorkflowDefinitions");
            e.HasIndex(x => new { x.DefinitionId, x.Version }).IsUnique();
            e.HasIndex(x => x.Name);
        });
        b.Entity<InstanceRow>(e =>
        {
            e.ToTable("WorkflowInstances");
            e.HasIndex(x => new { x.SubStatus, x.LeaseExpiresAt });
            e.HasIndex(x => x.CorrelationId);
            e.HasIndex(x => new { x.DefinitionId, x.CreatedAt });
            e.HasIndex(x => x.CreatedAt);
            e.HasIndex(x => x.StartKey).IsUnique();
        });
        b.Entity<BookmarkRow>(e =>
        {
            e.ToTable("Bookmarks");
            e.HasIndex(x => x.Hash);
            e.HasIndex(x => x.InstanceId);
            e.HasIndex(x => x.DueAt);
            e.HasIndex(x => new { x.Name, x.Hash });
            e.HasIndex(x => x.RouteKey);
        });
        b.Entity<TriggerRow>(e =>
        {
            e.ToTable("Triggers");
            e.HasIndex(x => x.Hash);
            e.HasIndex(x => x.DefinitionId);
            e.HasIndex(x => x.Name);
            e.HasIndex(x => x.RouteKey);
        });
        b.Entity<StimulusRow>(e =>
        {
            e.ToTable("Stimuli");
            e.HasIndex(x => new { x.Hash, x.Status });
            e.HasIndex(x => x.ExpiresAt);
            e.HasIndex(x => x.DedupeKey).IsUnique();
            // The unmatched cap walks the waiting ones newest first, ties broken by id.
            e.HasIndex(x => new { x.Status, x.ReceivedAt, x.Id });
        });
        b.Entity<DeliveryRow>(e =>
        {
            e.ToTable("StimulusDeliveries");
            e.HasIndex(x => x.NextAttemptAt);
            // A commit asks whether the stimulus it served still owes other deliveries.
            e.HasIndex(x => x.StimulusId);
        });
        b.Entity<JournalRow>(e =>
        {
            e.ToTable("WorkflowExecutionLog");
            e.HasIndex(x => new { x.InstanceId, x.Sequence });
        });
        b.Entity<ExecutionRow>(e =>
        {
            e.ToTable("ActivityExecutions");
            e.HasIndex(x => new { x.InstanceId, x.NodeId });
        });
        b.Entity<AlterationPlanRow>(e =>
        {
            e.ToTable("AlterationPlans");
            e.HasIndex(x => new { x.Status, x.LeaseExpiresAt });
        });
        b.Entity<AlterationJobRow>(e =>
        {
            e.ToTable("AlterationJobs");
            e.HasIndex(x => new { x.PlanId, x.Sequence });
        });
    }
}
