using Microsoft.EntityFrameworkCore;
using SmsActivities.Persistence;

namespace SmsActivities.Tests.Persistence;

/// <summary>A change to the plug-in's model (send records, OTP state, …) must come with a migration for each provider.</summary>
public sealed class MigrationsTests
{
    [Fact]
    public void The_sqlite_migrations_cover_the_model()
    {
        using var context = new SqliteSmsDesignFactory().CreateDbContext([]);
        Assert.False(context.Database.HasPendingModelChanges(), "The plug-in's model changed without a SQLite migration: run `dotnet ef migrations add <Name> --project src/SmsActivities --context SqliteSmsDbContext --output-dir Persistence/Migrations/Sqlite`.");
    }

    [Fact]
    public void The_postgres_migrations_cover_the_model()
    {
        using var context = new PostgresSmsDesignFactory().CreateDbContext([]);
        Assert.False(context.Database.HasPendingModelChanges(), "The plug-in's model changed without a PostgreSQL migration: run `dotnet ef migrations add <Name> --project src/SmsActivities --context PostgresSmsDbContext --output-dir Persistence/Migrations/Postgres`.");
    }
}
