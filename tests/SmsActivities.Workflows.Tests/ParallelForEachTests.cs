using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

public class ParallelForEachTests
{
    private static string Body(string text) => Act("Body", "Elsa.Sequence",
        $"\"activities\":{Arr(Act("Wait", "Elsa.Event", $"\"eventName\":{Js("getCurrentValue()")}"), Act("Say", "Elsa.WriteLine", $"\"text\":{Js(text)}"))}");

    [Fact]
    public async Task Every_branch_waits_at_once_and_keeps_its_own_item_across_the_wait()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("parallel",
            Arr(
                Act("Start1", "Elsa.Start"),
                Act("Loop", "Elsa.ParallelForEach",
                    $"\"items\":{Js("['a', 'b', 'c']")},\"currentValue\":{{\"typeName\":\"Object\",\"memoryReference\":{{\"id\":\"ItemId\"}}}}," +
                    $"\"body\":{Body("`${getCurrentValue()}#${getCurrentIndex()}=${getItem()}`")}"),
                Act("After", "Elsa.WriteLine", $"\"text\":{Lit("all done")}")),
            Arr(Conn("Start1", "Loop"), Conn("Loop", "After")),
            """[{"id":"ItemId","name":"Item","typeName":"Object","value":null}]""");

        var started = await host.Runtime.StartAsync("parallel");
        Assert.True(started.Bookmarks.Count == 3, $"expected one wait per item, saw {started.Bookmarks.Count}");

        foreach (var name in new[] { "c", "a", "b" })
            await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = name }));

        var state = await host.WaitForAsync(started.InstanceId, s => s.SubStatus == WorkflowSubStatus.Finished);
        var lines = host.Console.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.SequenceEqual(["c#2=c", "a#0=a", "b#1=b", "all done"]), $"lines seen: {string.Join(" | ", lines)}");
        // The branch copies do not leak into the workflow's own variable.
        Assert.True(state.Variables.GetValueOrDefault("Item") is null, $"workflow variable Item: {state.Variables.GetValueOrDefault("Item")?.ToJsonString()}");
    }

    [Fact]
    public async Task No_items_completes_at_once()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("parallel-empty",
            Arr(Act("Start1", "Elsa.Start"), Act("Loop", "Elsa.ParallelForEach", $"\"items\":{Js("[]")},\"body\":{Body("'never'")}"),
                Act("After", "Elsa.WriteLine", $"\"text\":{Lit("all done")}")),
            Arr(Conn("Start1", "Loop"), Conn("Loop", "After")));
        var run = await host.Runtime.StartAsync("parallel-empty");
        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.Equal("all done", host.Console.ToString().Trim());
    }
}
