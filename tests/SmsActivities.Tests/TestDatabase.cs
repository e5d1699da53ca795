using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Persistence;
using SmsActivities.Tests.Shared;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Tests;

/// <summary>A real SQLite file in a temp folder (or a PostgreSQL database of its own), deleted at the end of the test.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("smsact-").FullName;
    private readonly string? _postgres;
    private readonly ServiceProvider _services;

    private TestDatabase(string? postgres, IInterceptor[] interceptors)
    {
        _postgres = postgres;
        var path = Path.Combine(_folder, "sms.db");
        _services = new ServiceCollection()
            .AddDbContextFactory<SmsActivitiesDbContext>(o =>
            {
                if (postgres is null) o.UseSqlite($"Data Source={path};Pooling=False");
                else new DatabaseSettings(DatabaseProvider.PostgreSql, postgres).Configure(o, SmsActivitiesDbContext.Schema);
                o.AddInterceptors(interceptors);
            })
            .BuildServiceProvider();
    }

    public IDbContextFactory<SmsActivitiesDbContext> Factory => _services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>();

    /// <summary>The push inbox in this database (as on PostgreSQL; a server on SQLite gives it a file of its own).</summary>
    internal Inbox.PushInboxDatabase Inbox => new(Factory, new SqliteWriteGate(), null);

    /// <summary>The set-aside pushes of this database's inbox.</summary>
    internal Inbox.PushInboxDeadLetters DeadLetters => new(Inbox, new Inbox.PushInboxSignal(), TimeProvider.System);

    /// <param name="interceptors">Seen by every context of the factory (not by the migration at creation).</param>
    public static async Task<TestDatabase> CreateAsync(bool postgres = false, params IInterceptor[] interceptors)
    {
        var db = new TestDatabase(postgres ? await PostgresServer.CreateDatabaseAsync("sms") : null, interceptors);
        await new Hosting.SmsSchemaService(db._services.GetRequiredService<DbContextOptions<SmsActivitiesDbContext>>(), db.Inbox, migrate: true).StartAsync(CancellationToken.None);
        return db;
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        if (_postgres is not null) await PostgresServer.DropDatabaseAsync(_postgres);
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
