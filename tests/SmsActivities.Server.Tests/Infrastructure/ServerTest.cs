namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>A test class with one real server and an API-key client for all its tests.</summary>
public abstract class ServerTest : IAsyncLifetime
{
    protected ServerHost Server { get; private set; } = null!;
    protected HttpClient Client { get; private set; } = null!;

    /// <summary>Override to start the server differently (settings, replaced services).</summary>
    protected virtual Task<ServerHost> StartServerAsync() => ServerHost.StartAsync();

    public async Task InitializeAsync()
    {
        Server = await StartServerAsync();
        Client = Server.CreateClient();
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}
