using Microsoft.Data.Sqlite;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>A temporary folder for server processes that are killed and restarted: their workflows folder and data folder, deleted at the end.</summary>
public sealed class ServerFolder : IDisposable
{
    private readonly string _root;

    public ServerFolder(string name)
    {
        _root = Directory.CreateTempSubdirectory($"smsactivities-{name}-").FullName;
        Workflows = Directory.CreateDirectory(Path.Combine(_root, "workflows")).FullName;
        Data = Path.Combine(_root, "data");
    }

    public string Workflows { get; }

    public string Data { get; }

    /// <summary>The SQLite database the servers write in <see cref="Data"/>.</summary>
    public string Database => Path.Combine(Data, "smsactivities.db");

    public ServerProcess StartServer() => ServerProcess.Start(ServerProcess.FreePort(), Data, Workflows);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
