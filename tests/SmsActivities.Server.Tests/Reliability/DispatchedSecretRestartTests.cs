using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using SmsActivities.Server.Tests.Infrastructure;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// A dispatched child whose input holds a secret of its parent's (a sensitive HTTP field), started by the next server
/// process after a SIGKILL: it gets the real value, which the database never held; without the key ring it faults
/// naming the input.
/// </summary>
public sealed class DispatchedSecretRestartTests
{
    private readonly string _token = "tok-" + Guid.NewGuid().ToString("N")[..24];

    /// <summary>POST workflows/dispatch-secret {"token": …} → DispatchWorkflow secret-child with Token → 200.</summary>
    private static JsonObject Parent() => Flowchart("secret-dispatcher",
        [
            Act("Http1", "Elsa.HttpEndpoint", new JsonObject
            {
                ["path"] = Lit("dispatch-secret"), ["supportedMethods"] = Expr("Object", "[\"POST\"]", "String[]"), ["sensitiveFields"] = Expr("Object", "[\"token\"]", "String[]"),
            }, new JsonObject { ["canStartWorkflow"] = true }),
            Act("Dispatch1", "Elsa.DispatchWorkflow", new JsonObject
            {
                ["workflowDefinitionId"] = Lit("secret-child"), ["input"] = Js("({ Token: getOutputFrom('Http1', 'ParsedContent').token })"),
                ["waitForCompletion"] = Expr("Literal", "false", "Boolean"),
            }),
            Respond("Respond1", Lit("dispatched")),
        ],
        [Conn("Http1", "Dispatch1"), Conn("Dispatch1", "Respond1")]);

    /// <summary>Start → POST the token to the listener (the first such call is never answered).</summary>
    private static JsonObject Child(Uri listener) => Flowchart("secret-child",
        [
            Act("Start1", "Elsa.Start"),
            Act("Call1", "Elsa.FlowSendHttpRequest", new JsonObject { ["url"] = Lit(listener.ToString()), ["method"] = Lit("POST"), ["content"] = Js("getInput('Token')") }),
        ],
        [Conn("Start1", "Call1")]);

    [Fact]
    public async Task A_child_started_after_a_kill_gets_the_real_secret_which_is_never_at_rest()
    {
        await using var listener = HoldFirstListener.Start();
        using var setup = Setup.Create(listener);
        await setup.DispatchThenKillAsync(_token);
        await setup.AssertNotAtRestAsync(_token); // the queued start holds the mask and the sealed input

        using var second = setup.StartServer();
        using var http = await second.ClientWhenReadyAsync();
        await ServerProcess.EventuallyAsync(async () => await setup.ChildSubStatusAsync() == "Finished", TimeSpan.FromSeconds(120),
            "the next server to start the child; it wrote: " + second.RecentOutput);
        Assert.True(listener.Bodies.Count == 2 && listener.Bodies[1] == _token,
            $"the child started after the kill should send the real token; the listener got: {string.Join(" | ", listener.Bodies)}");
        var child = await InstanceAsync(http, setup.ChildId!);
        Assert.Equal("******", (string?)child["workflowState"]!["input"]?["Token"]);
        await setup.AssertNotAtRestAsync(_token);
    }

    [Fact]
    public async Task A_child_started_without_the_key_ring_faults_naming_the_input()
    {
        await using var listener = HoldFirstListener.Start();
        using var setup = Setup.Create(listener);
        await setup.DispatchThenKillAsync(_token);
        Directory.Delete(Path.Combine(setup.Data, "keys"), recursive: true); // as a node with a key ring of its own

        using var second = setup.StartServer();
        using var http = await second.ClientWhenReadyAsync();
        await ServerProcess.EventuallyAsync(async () => await setup.ChildSubStatusAsync() == "Faulted", TimeSpan.FromSeconds(120),
            "the next server to fault the child; it wrote: " + second.RecentOutput);
        var child = await InstanceAsync(http, setup.ChildId!);
        var incident = (string?)child["workflowState"]!["incidents"]![0]!["message"];
        Assert.True(incident?.Contains("secret input 'Token'", StringComparison.Ordinal) == true && incident.Contains("cannot be decrypted", StringComparison.Ordinal),
            "incident: " + incident);
        Assert.Single(listener.Bodies); // the held call of the killed server only: the child never ran on the mask
    }

    /// <summary>The servers' folders, with the parent and the child in the workflows folder; the first server process.</summary>
    private sealed class Setup : IDisposable
    {
        private readonly ServerFolder _folder = new("dispatch-secret");
        private readonly HoldFirstListener _listener;

        private Setup(HoldFirstListener listener) => _listener = listener;

        public string Workflows => _folder.Workflows;

        public string Data => _folder.Data;

        public string? ChildId { get; private set; }

        private string Database => _folder.Database;

        public static Setup Create(HoldFirstListener listener)
        {
            var setup = new Setup(listener);
            File.WriteAllText(Path.Combine(setup.Workflows, "secret-dispatcher.json"), Parent().ToJsonString());
            File.WriteAllText(Path.Combine(setup.Workflows, "secret-child.json"), Child(listener.Address).ToJsonString());
            return setup;
        }

        public ServerProcess StartServer() => _folder.StartServer();

        /// <summary>The parent dispatches; the child's call is held, and the server is killed before the child could commit.</summary>
        public async Task DispatchThenKillAsync(string token)
        {
            using var first = StartServer();
            using var http = await first.ClientWhenReadyAsync();
            using var response = await http.PostAsJsonAsync("workflows/dispatch-secret", new JsonObject { ["token"] = token });
            Assert.True(response.IsSuccessStatusCode, $"the parent answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            await ServerProcess.EventuallyAsync(() => Task.FromResult(_listener.Bodies.Count == 1), TimeSpan.FromSeconds(60),
                "the dispatched child to make its (held) call; the server wrote: " + first.RecentOutput);
            Assert.Equal(token, _listener.Bodies[0]);
            first.Kill();
            // The child's instance id is the one its queued start names.
            ChildId = (string?)await SqliteFile.ScalarAsync(Database, "SELECT substr(DedupeKey, 13) FROM Stimuli WHERE DedupeKey LIKE 'child-start:%'");
            Assert.NotNull(ChildId);
            Assert.Null(await ChildSubStatusAsync()); // killed before the child committed
        }

        public async Task<string?> ChildSubStatusAsync() =>
            (string?)await SqliteFile.ScalarAsync(Database, "SELECT SubStatus FROM WorkflowInstances WHERE Id = $id", ChildId);

        /// <summary>No file of the data folder (database, its write-ahead log, the key ring) holds the token.</summary>
        public async Task AssertNotAtRestAsync(string token)
        {
            SqliteConnection.ClearAllPools();
            var holding = new List<string>();
            foreach (var file in Directory.EnumerateFiles(Data, "*", SearchOption.AllDirectories))
            {
                var bytes = await File.ReadAllBytesAsync(file);
                if (bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(token)) >= 0 || bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(token)) >= 0) holding.Add(file);
            }
            Assert.True(holding.Count == 0, "the token is at rest in " + string.Join(", ", holding));
        }

        public void Dispose() => _folder.Dispose();
    }
}
