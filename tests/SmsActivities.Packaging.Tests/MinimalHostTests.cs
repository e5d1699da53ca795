using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Xml.Linq;

namespace SmsActivities.Packaging.Tests;

/// <summary>
/// What a consumer does: pack the libraries into a local folder, build samples/MinimalHost against those packages
/// (a restore that can see only that folder and the packages already cached), start it and run its C# workflow
/// (SendSms → WaitForDeliveryReport) and its JSON workflow end to end against the sandbox emulators.
/// </summary>
public sealed class MinimalHostTests : IDisposable
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif
    private const string ApiKey = "minimal-host-test-key";
    private static readonly string[] Packages =
        ["SmsActivities.Workflows", "SmsActivities.Vendors", "SmsActivities", "SmsActivities.Emulators", "SmsActivities.Sandbox", "SmsActivities.ElsaApi"];

    private readonly string _root = FindRepositoryRoot();
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("smsactivities-minimalhost-");

    [Fact]
    public async Task The_minimal_host_built_from_the_packed_packages_runs_a_CSharp_and_a_JSON_workflow_against_the_sandbox()
    {
        // A version no earlier run used, so the restore cannot take a stale copy from the NuGet cache.
        var version = $"1.0.0-test.{DateTime.UtcNow:yyyyMMddHHmmssfff}";
        var feed = Path.Combine(_work.FullName, "feed");
        var filter = Path.Combine(_work.FullName, "packages.slnf");
        File.WriteAllText(filter, new JsonObject
        {
            ["solution"] = new JsonObject
            {
                ["path"] = Path.Combine(_root, "SmsActivities.sln"),
                ["projects"] = new JsonArray(Packages.Select(p => (JsonNode)$"src/{p}/{p}.csproj").ToArray()),
            },
        }.ToJsonString());
        await RunAsync(_root, "dotnet", "pack", filter, "-c", Configuration, "--no-build", "-o", feed, $"-p:PackageVersion={version}");

        foreach (var id in Packages) AssertPackage(feed, id, version);
        Assert.False(File.Exists(Path.Combine(feed, $"SmsActivities.Samples.{version}.nupkg")), "the samples must not be packed");

        var host = Path.Combine(_work.FullName, "host");
        CopySample(Path.Combine(_root, "samples", "MinimalHost"), host);
        File.WriteAllText(Path.Combine(host, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        await RunAsync(host, "dotnet", "build", "-c", "Release", $"-p:SmsActivitiesVersion={version}");
        var assets = File.ReadAllText(Path.Combine(host, "obj", "project.assets.json"));
        Assert.Contains($"\"SmsActivities/{version}\"", assets, StringComparison.Ordinal);
        Assert.DoesNotContain("\"type\": \"project\"", assets, StringComparison.Ordinal);

        var port = FreePort();
        var output = new StringBuilder();
        using var app = Start(host, port, output);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            await WaitForAsync(async () => (await TryGetAsync(http, "elsa/api/workflow-definitions")) is HttpStatusCode.Unauthorized, output, () => "the app to listen");

            // JSON workflow: POST /workflows/notify sends through the sandbox vendor and answers 202 with the message id.
            var notify = await http.PostAsJsonAsync("workflows/notify", new { mobile = "+8613800138001", text = "Hello from JSON" });
            var notifyBody = await notify.Content.ReadAsStringAsync();
            Assert.True(notify.StatusCode == HttpStatusCode.Accepted, $"notify answered {(int)notify.StatusCode}: {notifyBody}\n{output}");
            Assert.Single(JsonNode.Parse(notifyBody)!["messageIds"]!.AsArray());
            await WaitForAsync(async () => (await HandsetAsync(http, "+8613800138001")).Contains("Hello from JSON", StringComparison.Ordinal), output, () => "the JSON workflow's SMS on the handset");

            // C# workflow through the management API (its key), finished only when the delivery report came back by webhook.
            using var execute = new HttpRequestMessage(HttpMethod.Post, "elsa/api/workflow-definitions/welcome-sms/execute") { Content = JsonContent.Create(new { }) };
            execute.Headers.Add("X-Api-Key", ApiKey);
            using var started = await http.SendAsync(execute);
            Assert.True(started.IsSuccessStatusCode, $"execute answered {(int)started.StatusCode}: {await started.Content.ReadAsStringAsync()}\n{output}");
            var instanceId = started.Headers.GetValues("x-elsa-workflow-instance-id").Single();
            string? last = null;
            await WaitForAsync(async () =>
            {
                using var get = new HttpRequestMessage(HttpMethod.Get, $"elsa/api/workflow-instances/{instanceId}");
                get.Headers.Add("X-Api-Key", ApiKey);
                using var answer = await http.SendAsync(get);
                last = await answer.Content.ReadAsStringAsync();
                return JsonNode.Parse(last)?["status"]?.GetValue<string>() == "Finished";
            }, output, () => "the C# workflow to finish (last seen: " + last + ")");
            Assert.Contains("Welcome aboard!", await HandsetAsync(http, "+8613800138000"), StringComparison.Ordinal);

            using var journal = new HttpRequestMessage(HttpMethod.Get, $"elsa/api/workflow-instances/{instanceId}/journal");
            journal.Headers.Add("X-Api-Key", ApiKey);
            var journalText = await (await http.SendAsync(journal)).Content.ReadAsStringAsync();
            Assert.True(journalText.Contains("\"Delivered\"", StringComparison.Ordinal), $"WaitForDeliveryReport did not leave by Delivered: {journalText}");
        }
        finally
        {
            Stop(app);
        }
    }

    [Fact]
    public async Task The_Studio_package_carries_the_npm_files_and_copies_them_beside_the_consuming_app()
    {
        var version = $"1.0.0-test.{DateTime.UtcNow:yyyyMMddHHmmssfff}";
        var feed = Path.Combine(_work.FullName, "feed");
        await RunAsync(_root, "dotnet", "pack", Path.Combine(_root, "src", "SmsActivities.ElsaStudio", "SmsActivities.ElsaStudio.csproj"),
            "-c", Configuration, "--no-build", "-o", feed, $"-p:PackageVersion={version}");

        AssertPackage(feed, "SmsActivities.ElsaStudio", version);
        using var zip = ZipFile.OpenRead(Path.Combine(feed, $"SmsActivities.ElsaStudio.{version}.nupkg"));
        var studio = zip.Entries.Where(e => e.FullName.StartsWith("studio/", StringComparison.Ordinal)).ToArray();
        Assert.Contains(studio, e => e.FullName == "studio/_framework/blazor.webassembly.js");
        Assert.True(studio.Length > 500, $"only {studio.Length} Studio files were packed");
        // The package's own index.html is replaced by the host page, so it is not shipped.
        Assert.DoesNotContain(studio, e => e.FullName == "studio/index.html");
        using var targets = new StreamReader(zip.GetEntry("buildTransitive/SmsActivities.ElsaStudio.targets")!.Open());
        var text = await targets.ReadToEndAsync();
        Assert.Contains("elsa-studio/", text, StringComparison.Ordinal);
        Assert.Contains("CopyToOutputDirectory", text, StringComparison.Ordinal);
    }

    private static void AssertPackage(string feed, string id, string version)
    {
        var path = Path.Combine(feed, $"{id}.{version}.nupkg");
        Assert.True(File.Exists(path), $"{id} was not packed; the feed holds: {string.Join(", ", Directory.GetFiles(feed).Select(Path.GetFileName))}");
        Assert.True(File.Exists(Path.ChangeExtension(path, ".snupkg")), $"{id} has no symbol package");
        using var zip = ZipFile.OpenRead(path);
        Assert.NotNull(zip.GetEntry("README.md"));
        Assert.NotNull(zip.GetEntry("LICENSE"));
        Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.dll"));
        using var nuspec = zip.GetEntry($"{id}.nuspec")!.Open();
        var metadata = XDocument.Load(nuspec).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string? Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
        Assert.Equal("MIT", Field("license"));
        Assert.Equal("README.md", Field("readme"));
        Assert.False(string.IsNullOrWhiteSpace(Field("description")), $"{id} has no description");
        Assert.Contains("sms", Field("tags") ?? "", StringComparison.Ordinal);
    }

    private static Process Start(string host, int port, StringBuilder output)
    {
        var info = new ProcessStartInfo("dotnet", [Path.Combine(host, "bin", "Release", "net10.0", "MinimalHost.dll"), "--urls", $"http://127.0.0.1:{port}"])
        {
            WorkingDirectory = host,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["ElsaApi__Key"] = ApiKey;
        info.Environment["DataDirectory"] = Path.Combine(host, "data");
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Stop(Process process)
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.WaitForExit(30_000);
    }

    private static async Task<string> HandsetAsync(HttpClient http, string e164) =>
        await http.GetStringAsync($"_emulators/_handset/{Uri.EscapeDataString(e164)}/messages");

    private static async Task<HttpStatusCode?> TryGetAsync(HttpClient http, string path)
    {
        try
        {
            using var answer = await http.GetAsync(path);
            return answer.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>
    /// Polls (generous deadline: CI once needed more than 90 s here with every core busy) and names what it waited for,
    /// as it stood when it gave up, and the app's output.
    /// </summary>
    private static async Task WaitForAsync(Func<Task<bool>> condition, StringBuilder output, Func<string> what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"Gave up waiting for {what()} after 3 min. App output:\n{output}");
            await Task.Delay(200);
        }
    }

    private static async Task RunAsync(string directory, string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        // The test runner's MSBuild settings must not leak into the nested builds.
        foreach (var name in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH" }) info.Environment.Remove(name);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"`{file} {string.Join(' ', arguments)}` exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
    }

    private static void CopySample(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            var first = relative.Split(Path.DirectorySeparatorChar)[0];
            if (first is "bin" or "obj" or "data") continue;
            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SmsActivities.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("SmsActivities.sln not found above the test assembly");
    }

    public void Dispose()
    {
        try { _work.Delete(recursive: true); }
        catch (IOException) { } // a file still held by the stopped app; the folder is in the temp directory
    }
}
