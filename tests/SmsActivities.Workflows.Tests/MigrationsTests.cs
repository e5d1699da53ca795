using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Tests;

/// <summary>A change to the runtime's model must come with a migration for each provider, or upgraded databases lack it.</summary>
public sealed class MigrationsTests
{
    [Fact]
    public void The_sqlite_migrations_cover_the_model()
    {
        using var context = new SqliteWorkflowDesignFactory().CreateDbContext([]);
        Assert.False(context.Database.HasPendingModelChanges(), "The runtime's model changed without a SQLite migration: run `dotnet ef migrations add <Name> --project src/SmsActivities.Workflows --context SqliteWorkflowDbContext --output-dir Persistence/Migrations/Sqlite`.");
    }

    [Fact]
    public void The_postgres_migrations_cover_the_model()
    {
        using var context = new PostgresWorkflowDesignFactory().CreateDbContext([]);
        Assert.False(context.Database.HasPendingModelChanges(), "The runtime's model changed without a PostgreSQL migration: run `dotnet ef migrations add <Name> --project src/SmsActivities.Workflows --context PostgresWorkflowDbContext --output-dir Persistence/Migrations/Postgres`.");
    }
}
