using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using SmsActivities.Workflows.Execution;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// Child workflows across a failure at the seam between two commits. The fault is injected in the database itself: a
/// SQLite trigger aborts the one write the test is about (as a process killed at that point would never make it), and
/// is dropped again to let the runtime's retries go through.
/// </summary>
public class ChildWorkflowCrashTests
{
    private static Stimulus Event(string name) => new("Elsa.Event", new JsonObject { ["eventName"] = name });

    private static Task PublishChildAsync(TestHost host) => host.PublishAsync("child",
        Arr(Act("Start1", "Elsa.Start"), Act("Wait", "Elsa.Event", $"\"eventName\":{Lit("go")}"),
            Act("Greet", "Elsa.SetOutput", $"\"outputName\":{Lit("Greeting")},\"outputValue\":{Js("'hello ' + getInput('Name')")}")),
        Arr(Conn("Start1", "Wait"), Conn("Wait", "Greet")));

    /// <summary>A parent started by the event "begin" (so a failed start is retried under the same instance id).</summary>
    private static Task PublishTriggeredParentAsync(TestHost host, string type) => host.PublishAsync("parent",
        Arr(Act("Begin", "Elsa.Event", $"\"eventName\":{Lit("begin")},\"customProperties\":{{\"canStartWorkflow\":true}}"),
            Act("Run", type, $"\"workflowDefinitionId\":{Lit("child")},\"input\":{Js("({ Name: 'Ann' })")},\"waitForCompletion\":{Js("true")}"),
            Act("After", "Elsa.WriteLine", $"\"text\":{Js("'parent saw ' + JSON.stringify(getOutputFrom('Run', 'Result'))")}")),
        Arr(Conn("Begin", "Run"), Conn("Run", "After")));

    [Fact]
    public async Task A_parent_whose_commit_failed_after_starting_its_child_gets_the_same_child_when_it_runs_again()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await PublishChildAsync(host);
        await PublishTriggeredParentAsync(host, "Elsa.ExecuteWorkflow");
        await Sql.ExecAsync(db.Path, "CREATE TRIGGER lose_parent BEFORE INSERT ON WorkflowInstances WHEN NEW.DefinitionId = 'parent' " +
                                     "BEGIN SELECT RAISE(ABORT, 'injected: the parent''s commit is lost'); END;");

        await host.Runtime.AcceptStimuliAsync([Event("begin")]);
        // The child committed and the parent's first commit failed: its start delivery is waiting for a retry.
        await Sql.WaitForAsync(db.Path, "SELECT COUNT(*) FROM StimulusDeliveries WHERE Kind = 1 AND Attempts >= 1", n => n >= 1, "the parent's failed start");
        await Sql.ExecAsync(db.Path, "DROP TRIGGER lose_parent");
        await Sql.WaitForAsync(db.Path, "SELECT COUNT(*) FROM WorkflowInstances WHERE DefinitionId = 'parent'", n => n == 1, "the parent's retried start");

        var children = await Sql.ScalarAsync(db.Path, "SELECT COUNT(*) FROM WorkflowInstances WHERE DefinitionId = 'child'");
        Assert.True(children == 1, $"the parent ran its ExecuteWorkflow at least twice and {children} child instances exist");

        await host.Runtime.SendStimulusAsync(Event("go"));
        var parentId = await Sql.TextAsync(db.Path, "SELECT Id FROM WorkflowInstances WHERE DefinitionId = 'parent'");
        await host.WaitForAsync(parentId, s => s.SubStatus == WorkflowSubStatus.Finished, TimeSpan.FromSeconds(60));
        Assert.Contains("\"output\":{\"Greeting\":\"hello Ann\"}", host.Console.ToString());
    }

    [Fact]
    public async Task A_child_that_finishes_reaches_its_waiting_parent_even_when_the_process_stops_before_the_news_is_written()
    {
        using var db = new TempDatabase();
        string parentId, childId;
        await using (var first = await TestHost.StartAsync(db.Path))
        {
            await PublishChildAsync(first);
            await PublishTriggeredParentAsync(first, "Elsa.ExecuteWorkflow");
            await first.Runtime.SendStimulusAsync(Event("begin"));
            parentId = await Sql.TextAsync(db.Path, "SELECT Id FROM WorkflowInstances WHERE DefinitionId = 'parent'");
            childId = await Sql.TextAsync(db.Path, "SELECT Id FROM WorkflowInstances WHERE DefinitionId = 'child'");
            await first.WaitForAsync(parentId, s => s.SubStatus == WorkflowSubStatus.Suspended);
            // From here on the child's completion news cannot be written while this process lives: it stops as a process
            // dying between the child's commit and the parent's stimulus would.
            await Sql.ExecAsync(db.Path, $"CREATE TRIGGER lose_news BEFORE INSERT ON Stimuli WHEN NEW.Name = '{ChildWorkflows.CompletedStimulusName}' " +
                                         "BEGIN SELECT RAISE(ABORT, 'injected: the completion stimulus is lost'); END;");
            await first.Runtime.AcceptStimuliAsync([Event("go")]);
            // The child's run met the seam: it committed without its news, or (the news being part of its commit) its commit failed and waits for a retry.
            await Sql.WaitForAsync(db.Path,
                $"SELECT (SELECT COUNT(*) FROM WorkflowInstances WHERE Id = '{childId}' AND SubStatus = 'Finished') + " +
                $"(SELECT COUNT(*) FROM StimulusDeliveries WHERE InstanceId = '{childId}' AND Attempts >= 1)",
                n => n >= 1, "the child's run meeting the lost stimulus");
        }
        await Sql.ExecAsync(db.Path, "DROP TRIGGER lose_news");

        await using var second = await TestHost.StartAsync(db.Path);
        var parent = await second.WaitForAsync(parentId, s => s.SubStatus == WorkflowSubStatus.Finished, TimeSpan.FromSeconds(60));
        Assert.Equal(WorkflowSubStatus.Finished, parent.SubStatus);
        Assert.Contains("\"output\":{\"Greeting\":\"hello Ann\"}", second.Console.ToString());
        var child = await second.Instances.GetStateAsync(childId);
        Assert.True(child?.SubStatus == WorkflowSubStatus.Finished, $"child: {child?.SubStatus}");
    }

    [Fact]
    public async Task A_dispatched_child_starts_only_after_its_parent_committed()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await PublishChildAsync(host);
        await host.PublishAsync("parent",
            Arr(Act("Start1", "Elsa.Start"),
                Act("Run", "Elsa.DispatchWorkflow", $"\"workflowDefinitionId\":{Lit("child")},\"input\":{Js("({ Name: 'Bo' })")}"),
                Act("After", "Elsa.WriteLine", $"\"text\":{Lit("parent went on")}")),
            Arr(Conn("Start1", "Run"), Conn("Run", "After")));
        await Sql.ExecAsync(db.Path, "CREATE TRIGGER lose_parent BEFORE INSERT ON WorkflowInstances WHEN NEW.DefinitionId = 'parent' " +
                                     "BEGIN SELECT RAISE(ABORT, 'injected: the parent''s commit is lost'); END;");

        await Assert.ThrowsAnyAsync<Exception>(() => host.Runtime.StartAsync("parent"));

        // The parent's run dispatched the child but never committed: nothing of the child may exist, now or later.
        var children = await Sql.ScalarAsync(db.Path, "SELECT COUNT(*) FROM WorkflowInstances WHERE DefinitionId = 'child'");
        var queued = await Sql.ScalarAsync(db.Path, "SELECT COUNT(*) FROM StimulusDeliveries");
        Assert.True(children == 0 && queued == 0, $"after the parent's lost commit: {children} child instances, {queued} deliveries");

        await Sql.ExecAsync(db.Path, "DROP TRIGGER lose_parent");
        var parent = await host.Runtime.StartAsync("parent");
        Assert.Equal(WorkflowSubStatus.Finished, parent.SubStatus);
        await Sql.WaitForAsync(db.Path, "SELECT COUNT(*) FROM WorkflowInstances WHERE DefinitionId = 'child' AND SubStatus = 'Suspended'", n => n == 1, "the dispatched child");
        var sent = await host.Runtime.SendStimulusAsync(Event("go"));
        var child = Assert.Single(sent.Runs);
        Assert.Equal("hello Bo", child.Output["Greeting"]?.GetValue<string>());
    }
}

/// <summary>Direct SQL on a test's SQLite file: fault injection and looking at rows the runtime has no API for.</summary>
internal static class Sql
{
    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection($"Data Source={path};Pooling=False;Default Timeout=60");
        connection.Open();
        return connection;
    }

    public static async Task ExecAsync(string path, string sql)
    {
        await using var connection = Open(path);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public static async Task<long> ScalarAsync(string path, string sql) => Convert.ToInt64(await ValueAsync(path, sql));

    public static async Task<string> TextAsync(string path, string sql) => Convert.ToString(await ValueAsync(path, sql)) ?? "";

    private static async Task<object?> ValueAsync(string path, string sql)
    {
        await using var connection = Open(path);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    /// <summary>Polls a count until it satisfies <paramref name="condition"/>, for up to a minute (a loaded machine is slow).</summary>
    public static async Task WaitForAsync(string path, string sql, Func<long, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        long last;
        while (!condition(last = await ScalarAsync(path, sql)))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Waited 60 s for {what}; the count stayed {last}.");
            await Task.Delay(50);
        }
    }
}
