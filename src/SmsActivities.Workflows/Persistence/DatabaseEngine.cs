using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// Which engine a context talks to, asked on hot paths (every write decides SQLite's gate, PostgreSQL's locks, batch
/// sizes). EF's <c>Database.ProviderName</c> reads the provider assembly's name on every call (<c>Assembly.GetName</c>),
/// which profiled at about 7 % of a SendSms's CPU; the name is the provider's and never changes, so it is read once.
/// </summary>
public static class DatabaseEngine
{
    private static readonly ConditionalWeakTable<IDatabaseProvider, string> Names = new();

    /// <summary>The provider's name, as <c>Database.ProviderName</c> gives it.</summary>
    private static string ProviderNameOf(DatabaseFacade database)
    {
        ArgumentNullException.ThrowIfNull(database);
        return Names.GetValue(database.GetService<IDatabaseProvider>(), provider => provider.Name);
    }

    public static bool IsPostgres(DatabaseFacade database) => ProviderNameOf(database) == DatabaseSettings.NpgsqlProviderName;

    public static bool IsSqlite(DatabaseFacade database) => ProviderNameOf(database) == DatabaseSettings.SqliteProviderName;
}
