using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>The built server (<c>SmsActivities.Server.dll</c>) run by <c>dotnet</c> with its settings in the environment, to be killed with SIGKILL.</summary>
public sealed class ServerProcess : IDisposable
{
    private const int KeptLines = 400;
    private readonly Process _process;
    private readonly int _port;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    private ServerProcess(Process process, int port)
    {
        _process = process;
        _port = port;
    }

    /// <param name="settings">Configuration keys (<c>Section:Key</c>) passed as environment variables.</param>
    public static ServerProcess Start(int port, string dataDirectory, string workflowsFolder, IReadOnlyDictionary<string, string?>? settings = null)
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
        info.Environment[ServerHost.NoWarmUp.Key.Replace(":", "__", StringComparison.Ordinal)] = ServerHost.NoWarmUp.Value;
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        var process = Process.Start(info)!;
        var server = new ServerProcess(process, port);
        process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>The last lines the server wrote (its warnings and errors by default), for a failure message.</summary>
    public string RecentOutput => string.Join(Environment.NewLine, _output);

    private void Keep(string? line)
    {
        if (line is null) return;
        _output.Enqueue(line);
        while (_output.Count > KeptLines) _output.TryDequeue(out _);
    }

    public int Id => _process.Id;

    /// <summary>The exit code, once <see cref="ExitedWithinAsync"/> has seen the process end.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>The server's content root: its working directory, the folder of its dll.</summary>
    public string ContentRoot => _process.StartInfo.WorkingDirectory;

    public Uri BaseAddress => new($"http://127.0.0.1:{_port}/");

    public async Task<HttpClient> ClientWhenReadyAsync(string apiKey = Hosting.ServerOptions.SandboxApiKey)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Add("Authorization", "ApiKey " + apiKey);
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

    /// <summary>True once the process has ended by itself (e.g. killed by a crash point) within <paramref name="timeout"/>.</summary>
    public async Task<bool> ExitedWithinAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGKILL: no shutdown, no lease released, as when the machine dies.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGSTOP: the process stays alive, holding its connections, but runs nothing until <see cref="Thaw"/>.</summary>
    public void Freeze() => Signal("-STOP");

    /// <summary>SIGCONT after <see cref="Freeze"/>.</summary>
    public void Thaw() => Signal("-CONT");

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", [signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill {signal} {_process.Id} exited with {kill.ExitCode}");
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
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
}
