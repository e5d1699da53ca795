using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>The built server (<c>SmsActivities.Server.dll</c>) run by <c>dotnet</c> with its settings in the environment.</summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly int _port;

    private ServerProcess(Process process, int port)
    {
        _process = process;
        _port = port;
    }

    public static ServerProcess Start(int port, string dataDirectory, string workflowsFolder, IReadOnlyDictionary<string, string>? environment = null)
    {
        var dll = ServerDll();
        var info = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Server__DataDirectory"] = dataDirectory;
        info.Environment["Server__WorkflowsFolder"] = workflowsFolder;
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ServerProcess(process, port);
    }

    public int Id => _process.Id;

    public async Task<HttpClient> ClientWhenReadyAsync()
    {
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}/"), Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Add("Authorization", "ApiKey " + Hosting.ServerOptions.SandboxApiKey);
        await EventuallyAsync(async () =>
        {
            if (_process.HasExited) throw new InvalidOperationException($"the server exited with {_process.ExitCode}");
            try
            {
                using var health = await client.GetAsync("health");
                return health.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(120), "the server to answer /health");
        return client;
    }

    /// <summary>SIGKILL: no shutdown, no lease released, as when the machine dies.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }

    /// <summary>The server next to the tests when the build copied its runtime config, else the server project's own output of the same configuration.</summary>
    private static string ServerDll()
    {
        var here = AppContext.BaseDirectory;
        if (File.Exists(Path.Combine(here, "SmsActivities.Server.runtimeconfig.json"))) return Path.Combine(here, "SmsActivities.Server.dll");
        var tfm = new DirectoryInfo(here.TrimEnd(Path.DirectorySeparatorChar)).Name;
        var configuration = new DirectoryInfo(here.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var root = new DirectoryInfo(here);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "SmsActivities.sln"))) root = root.Parent;
        var dll = Path.Combine(root?.FullName ?? throw new InvalidOperationException("SmsActivities.sln not found above " + here),
            "src", "SmsActivities.Server", "bin", configuration, tfm, "SmsActivities.Server.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("Build the server first", dll);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Timed out waiting for " + what);
            await Task.Delay(100);
        }
    }
}
