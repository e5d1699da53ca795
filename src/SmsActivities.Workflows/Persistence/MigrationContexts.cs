using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace SmsActivities.Workflows.Persistence;

// Each provider has its own migrations (column types differ); EF Core ties a migration to one context type, so each
// provider gets a context type of its own with the same model. They are used to migrate and by `dotnet ef`; the
// runtime itself works through WorkflowDbContext.

internal sealed class SqliteWorkflowDbContext(DbContextOptions<WorkflowDbContext> options) : WorkflowDbContext(options);

internal sealed class PostgresWorkflowDbContext(DbContextOptions<WorkflowDbContext> options) : WorkflowDbContext(options);

/// <summary><c>dotnet ef migrations add X --context SqliteWorkflowDbContext</c>: no database is opened.</summary>
internal sealed class SqliteWorkflowDesignFactory : IDesignTimeDbContextFactory<SqliteWorkflowDbContext>
{
    public SqliteWorkflowDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<WorkflowDbContext>().UseSqlite("Data Source=design-time.db").Options);
}

/// <summary><c>dotnet ef migrations add X --context PostgresWorkflowDbContext</c>; a bundle takes <c>--connection</c>.</summary>
internal sealed class PostgresWorkflowDesignFactory : IDesignTimeDbContextFactory<PostgresWorkflowDbContext>
{
    public PostgresWorkflowDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<WorkflowDbContext>();
        new DatabaseSettings(DatabaseProvider.PostgreSql, "Host=localhost;Database=sms").Configure(builder, WorkflowDbContext.Schema);
        return new(builder.Options);
    }
}
