using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace SmsActivities.Workflows.Persistence;

/// <summary>Brings the runtime's database to this build's schema on start, or checks that a pipeline did.</summary>
internal static class WorkflowSchema
{
    /// <summary>The table every database made before migrations has: such a file is adopted at the first migration.</summary>
    private const string LegacyTable = "SchemaVersion";

    public static async Task EnsureAsync(IServiceProvider services, bool migrate, CancellationToken cancellationToken)
    {
        var options = services.GetRequiredService<DbContextOptions<WorkflowDbContext>>();
        await using var probe = new WorkflowDbContext(options);
        await DatabaseMigrator.EnsureSchemaAsync<WorkflowDbContext>(probe, () => new SqliteWorkflowDbContext(options), () => new PostgresWorkflowDbContext(options),
            LegacyTable, migrate, cancellationToken);
    }
}
