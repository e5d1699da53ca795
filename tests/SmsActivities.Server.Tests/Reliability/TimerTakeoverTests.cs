using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// Two server processes on one PostgreSQL database. One node claims a batch of due timers, gets stuck in the first
/// one's run and is killed with SIGKILL: the timers it claimed but never started must fire on the other node within
/// seconds, not after a fixed claim window.
/// </summary>
public sealed class TimerTakeoverTests(ITestOutputHelper output)
{
    private const int Instances = 4;

    /// <summary>Start → StartAt (the input's time) → GET the test's listener.</summary>
    private static string TimedCall(Uri listener) => $$"""
    {
      "definitionId": "timed-call", "name": "timed-call", "version": 1, "isPublished": true, "isLatest": true,
      "root": {
        "id": "Flowchart1", "type": "Elsa.Flowchart", "version": 1,
        "activities": [
          { "id": "Start1", "type": "Elsa.Start", "version": 1 },
          { "id": "At1", "type": "Elsa.StartAt", "version": 1,
            "dateTime": { "typeName": "String", "expression": { "type": "JavaScript", "value": "getInput('at')" } } },
          { "id": "Call1", "type": "Elsa.SendHttpRequest", "version": 1,
            "url": { "typeName": "String", "expression": { "type": "Literal", "value": "{{listener}}" } },
            "method": { "typeName": "String", "expression": { "type": "Literal", "value": "GET" } } }
        ],
        "connections": [
          { "source": { "activity": "Start1", "port": "Done" }, "target": { "activity": "At1", "port": "In" } },
          { "source": { "activity": "At1", "port": "Done" }, "target": { "activity": "Call1", "port": "In" } }
        ]
      }
    }
    """;

    /// <summary>
    /// The bound is one instance lease (<c>Workflows:Runtime:LeaseDuration</c>, 10 s): the timers a dead node only
    /// claimed must not come later than the instance it was running. With the default 3-second claim renewed every
    /// second they fall due at most 3 s after the kill, and the survivor polls every second: about 4 s, the rest is room
    /// for a loaded machine. A claim held for a fixed window (20 s before this was fixed) cannot pass.
    /// </summary>
    [Fact]
    public async Task Timers_claimed_by_a_node_killed_before_running_them_fire_on_the_other_node_within_a_lease()
    {
        var bound = TimeSpan.FromSeconds(10);
        await using var listener = HoldFirstListener.Start();
        await using var cluster = await PostgresNodes.CreateAsync("timer-takeover", new Dictionary<string, string> { ["timed-call.json"] = TimedCall(listener.Address) });
        await cluster.StartNodesAsync(2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);

        // Only A may claim: B is frozen until A has died. Every instance waits for the same instant, so A's one claim
        // takes all the timers; the first one's call is held by the listener, and A is stuck in that run.
        b.Freeze();
        var at = DateTimeOffset.UtcNow.AddSeconds(30);
        for (var i = 0; i < Instances; i++)
        {
            using var started = await cluster.Clients[0].PostAsJsonAsync("elsa/api/workflow-definitions/timed-call/execute",
                new JsonObject { ["input"] = new JsonObject { ["at"] = at.ToString("O") } });
            Assert.True(started.IsSuccessStatusCode, $"start {i} answered {(int)started.StatusCode} {await started.Content.ReadAsStringAsync()}; A wrote: {a.RecentOutput}");
        }
        Assert.True(DateTimeOffset.UtcNow < at, $"starting {Instances} instances took past their timers' due time {at:O}: the machine is too slow for this set-up");

        const string executing = """
            SELECT COUNT(*) FROM workflows."WorkflowInstances" WHERE "DefinitionId" = 'timed-call' AND "SubStatus" = 'Executing' AND "LeaseOwner" LIKE @owner
            """;
        await ServerProcess.EventuallyAsync(async () => await cluster.CountAsync(executing.Replace("@owner", $"'%:{a.Id}:%'", StringComparison.Ordinal)) == 1,
            TimeSpan.FromSeconds(120), "node A to run the first timer");
        var claimed = await UnstartedTimersAsync(cluster);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.True(claimed.Count == Instances - 1 && claimed.Values.All(due => due > at.ToUnixTimeMilliseconds()),
            $"expected the other {Instances - 1} timers claimed by A (due time moved past {at.ToUnixTimeMilliseconds()}); saw {Describe(claimed, now)}");

        // A marks the instance Executing before its call goes out; on a loaded machine the kill could land in between,
        // and then B's own first call would be the one held (it ends by the activity's Timeout outcome, one call short).
        await ServerProcess.EventuallyAsync(() => Task.FromResult(listener.Held == 1), TimeSpan.FromSeconds(60), "node A's first call to reach the listener");
        a.Kill();
        var killed = Stopwatch.StartNew();
        b.Thaw();
        TimeSpan? takenOver = null;
        await ServerProcess.EventuallyAsync(async () =>
        {
            var left = await UnstartedTimersAsync(cluster);
            if (claimed.Any(c => left.TryGetValue(c.Key, out var due) && due == c.Value)) return false;
            takenOver = killed.Elapsed;
            return true;
        }, TimeSpan.FromSeconds(120), "node B to claim the timers A claimed");
        output.WriteLine($"the {claimed.Count} timers A claimed were taken by B {takenOver!.Value.TotalSeconds:0.0} s after kill -9");

        const string finished = """SELECT COUNT(*) FROM workflows."WorkflowInstances" WHERE "DefinitionId" = 'timed-call' AND "SubStatus" = 'Finished'""";
        try
        {
            await ServerProcess.EventuallyAsync(async () => await cluster.CountAsync(finished) == Instances, TimeSpan.FromSeconds(120), "every instance to finish on B");
        }
        catch (TimeoutException e)
        {
            var states = await cluster.CountsAsync("""SELECT "SubStatus", COUNT(*) FROM workflows."WorkflowInstances" GROUP BY 1""");
            throw new TimeoutException($"{e.Message}: {string.Join(", ", states.Select(s => $"{s.Key}={s.Value}"))}; B wrote: {b.RecentOutput}", e);
        }
        // Each instance made its call to the end once: A's held call died with A, and B made that instance's call again.
        Assert.True(listener.Answered == Instances, $"the listener answered {listener.Answered} calls (and held {listener.Held}) for {Instances} instances");
        Assert.True(takenOver < bound, $"the timers A claimed were taken over {takenOver.Value.TotalSeconds:0.0} s after the kill, not within {bound.TotalSeconds} s");
    }

    /// <summary>Timer bookmark → due time (ms) of the instances not executing.</summary>
    private static Task<Dictionary<string, long>> UnstartedTimersAsync(PostgresNodes cluster) => cluster.CountsAsync("""
        SELECT b."Id", b."DueAt" FROM workflows."Bookmarks" b JOIN workflows."WorkflowInstances" i ON i."Id" = b."InstanceId"
        WHERE i."DefinitionId" = 'timed-call' AND b."DueAt" IS NOT NULL AND i."SubStatus" <> 'Executing'
        """);

    private static string Describe(Dictionary<string, long> timers, long now) =>
        timers.Count == 0 ? "none" : string.Join(", ", timers.Values.Select(due => $"due {(due - now) / 1000.0:0.0} s from now"));
}
