using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;

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
        await KeyHttpRoutesAsync(probe, cancellationToken);
    }

    /// <summary>
    /// HTTP triggers and bookmarks stored before routes were keyed get their key, which only code can compute: without
    /// it a request would not find them. Idempotent, so nodes starting together may both do it.
    /// </summary>
    private static async Task KeyHttpRoutesAsync(WorkflowDbContext db, CancellationToken cancellationToken)
    {
        var name = ActivityTypeInfo.TypeNameOf(typeof(HttpEndpoint));
        // Row by row with ExecuteUpdate: a bookmark another node burns meanwhile is simply not there to update.
        foreach (var t in await db.Triggers.Where(t => t.Name == name && t.RouteKey == null).Select(t => new { t.Id, t.PayloadJson }).ToListAsync(cancellationToken))
        {
            var key = HttpRouteKey.Of(name, t.PayloadJson);
            await db.Triggers.Where(x => x.Id == t.Id).ExecuteUpdateAsync(s => s.SetProperty(x => x.RouteKey, key), cancellationToken);
        }
        foreach (var b in await db.Bookmarks.Where(b => b.Name == name && b.RouteKey == null).Select(b => new { b.Id, b.PayloadJson }).ToListAsync(cancellationToken))
        {
            var key = HttpRouteKey.Of(name, b.PayloadJson);
            await db.Bookmarks.Where(x => x.Id == b.Id).ExecuteUpdateAsync(s => s.SetProperty(x => x.RouteKey, key), cancellationToken);
        }
    }
}
