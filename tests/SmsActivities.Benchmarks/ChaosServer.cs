using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SmsActivities.Benchmarks;

/// <summary>
/// The real server (<c>SmsActivities.Server.dll</c>, built next to this project's configuration) as a child process on a
/// loopback port, its settings in the environment, so the chaos run can SIGKILL it and start it again on the same data.
/// </summary>
internal sealed class ChaosServer : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log = new();

    private ChaosServer(Process process, Uri address)
    {
        _process = process;
        BaseAddress = address;
    }

    public Uri BaseAddress { get; }

    /// <summary>The server's last lines of output (warnings and errors), for a diagnosis when something goes wrong.</summary>
    public string Tail => string.Join(Environment.NewLine, _log);

    public static ChaosServer Start(int port, IReadOnlyDictionary<string, string?> settings)
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
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in settings) info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        var server = new ChaosServer(process, new Uri($"http://127.0.0.1:{port}/"));
        process.OutputDataReceived += (_, e) => server.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Waits until <c>/health</c> answers 2xx; fails at once if the process died.</summary>
    public async Task WaitUntilHealthyAsync(HttpClient http, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"the server exited with {_process.ExitCode}:{Environment.NewLine}{Tail}");
            try
            {
                using var health = await http.GetAsync(new Uri(BaseAddress, "health"));
                if (health.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the server did not answer /health within {timeout.TotalSeconds:F0} s:{Environment.NewLine}{Tail}");
            await Task.Delay(200);
        }
    }

    /// <summary>SIGKILL: no shutdown, no lease released, no WAL checkpoint, as when the machine dies.</summary>
    public void Kill()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        _log.Enqueue(line);
        while (_log.Count > 40) _log.TryDequeue(out _);
    }

    /// <summary>The folder of <c>SmsActivities.sln</c>, above this benchmark's output.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SmsActivities.sln"))) return dir.FullName;
        throw new InvalidOperationException("SmsActivities.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary><c>src/SmsActivities.Server/bin/{configuration}/{tfm}/</c>, the configuration and framework this benchmark was built with.</summary>
    private static string ServerDll()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var dll = Path.Combine(RepositoryRoot, "src", "SmsActivities.Server", "bin", here.Parent!.Name, here.Name, "SmsActivities.Server.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("Build the server first (dotnet build -c " + here.Parent.Name + ")", dll);
    }
}
