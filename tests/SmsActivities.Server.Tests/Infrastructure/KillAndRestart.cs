using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using SmsActivities.Sandbox;
using Xunit.Abstractions;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>
/// A server process killed with SIGKILL mid-workflow and started again on the same data folder. The vendor emulators
/// (<see cref="SandboxVendors"/>, in the test process) outlast the kill and so remember what they sent across it.
/// </summary>
internal static class KillAndRestart
{
    /// <summary>
    /// Starts a server on a fresh folder, runs <paramref name="startAsync"/> (publish and execute; returns the instance
    /// id), kills the server the moment <paramref name="killWhen"/> holds (spinning, no timer granularity), calls
    /// <paramref name="killed"/>, restarts it on the same data and waits up to <paramref name="patience"/> for the
    /// instance to finish. Returns the finished instance and the restarted server's output.
    /// </summary>
    public static async Task<(JsonObject Instance, string RestartedOutput)> RunAsync(SandboxVendors vendors, string apiKey, IReadOnlyDictionary<string, string?> settings,
        Func<HttpClient, Task<string>> startAsync, Func<SandboxVendors, bool> killWhen, Action killed, TimeSpan patience, ITestOutputHelper output)
    {
        var folder = Directory.CreateTempSubdirectory("smsactivities-kill-restart-").FullName;
        var data = Path.Combine(folder, "data");
        var workflows = Directory.CreateDirectory(Path.Combine(folder, "workflows")).FullName;
        var all = new Dictionary<string, string?>(vendors.Settings) { ["Server:Sandbox"] = "false", ["Server:ApiKey"] = apiKey };
        foreach (var (key, value) in settings) all[key] = value;
        var port = ServerProcess.FreePort();
        try
        {
            string instanceId;
            using (var first = ServerProcess.Start(port, data, workflows, all))
            {
                using var http = await first.ClientWhenReadyAsync(apiKey);
                vendors.ConnectTo(first.BaseAddress);
                instanceId = await startAsync(http);

                var deadline = DateTime.UtcNow.AddSeconds(120);
                while (!killWhen(vendors))
                {
                    if (DateTime.UtcNow > deadline) throw new TimeoutException("the moment to kill never came; server output:" + Environment.NewLine + first.RecentOutput);
                    Thread.SpinWait(1000);
                }
                first.Kill();
                killed();
                output.WriteLine($"killed; first server's output:{Environment.NewLine}{first.RecentOutput}");
            }

            using var second = ServerProcess.Start(port, data, workflows, all);
            using var client = await second.ClientWhenReadyAsync(apiKey);
            vendors.ConnectTo(second.BaseAddress);
            JsonObject instance = [];
            await ServerProcess.EventuallyAsync(async () => (string?)(instance = await InstanceAsync(client, instanceId))["subStatus"] == "Finished",
                patience, "the restarted server to finish the send");
            await Task.Delay(1000); // a second send, were there one, would have reached the emulator by now
            return (instance, second.RecentOutput);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }
}
