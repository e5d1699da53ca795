using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Persistence;

// One context type per provider with the plug-in's model, so each provider has its own migrations (EF Core ties a
// migration to one context type). Used to migrate and by `dotnet ef`; the plug-in works through SmsActivitiesDbContext.

internal sealed class SqliteSmsDbContext(DbContextOptions<SmsActivitiesDbContext> options) : SmsActivitiesDbContext(options);

internal sealed class PostgresSmsDbContext(DbContextOptions<SmsActivitiesDbContext> options) : SmsActivitiesDbContext(options);

/// <summary><c>dotnet ef migrations add X --context SqliteSmsDbContext</c>: no database is opened.</summary>
internal sealed class SqliteSmsDesignFactory : IDesignTimeDbContextFactory<SqliteSmsDbContext>
{
    public SqliteSmsDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SmsActivitiesDbContext>().UseSqlite("Data Source=design-time.db").Options);
}

/// <summary><c>dotnet ef migrations add X --context PostgresSmsDbContext</c>; a bundle takes <c>--connection</c>.</summary>
internal sealed class PostgresSmsDesignFactory : IDesignTimeDbContextFactory<PostgresSmsDbContext>
{
    public PostgresSmsDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<SmsActivitiesDbContext>();
        new DatabaseSettings(DatabaseProvider.PostgreSql, "Host=localhost;Database=sms").Configure(builder, SmsActivitiesDbContext.Schema);
        return new(builder.Options);
    }
}
