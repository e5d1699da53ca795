using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Persistence;

namespace SmsActivities.Tests;

/// <summary>A real SQLite file in a temp folder, deleted at the end of the test.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("smsact-").FullName;
    private readonly ServiceProvider _services;

    private TestDatabase()
    {
        var path = Path.Combine(_folder, "sms.db");
        _services = new ServiceCollection()
            .AddDbContextFactory<SmsActivitiesDbContext>(o => o.UseSqlite($"Data Source={path};Pooling=False"))
            .BuildServiceProvider();
    }

    public IDbContextFactory<SmsActivitiesDbContext> Factory => _services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>();

    public static async Task<TestDatabase> CreateAsync()
    {
        var db = new TestDatabase();
        await new Hosting.SmsSchemaService(db._services.GetRequiredService<DbContextOptions<SmsActivitiesDbContext>>(), migrate: true).StartAsync(CancellationToken.None);
        return db;
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
