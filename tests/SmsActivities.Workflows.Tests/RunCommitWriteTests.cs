using System.Data.Common;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// An activity's write handed to its run (<see cref="ActivityExecutionContext.WriteWithRunCommit"/>): written in the
/// run's commit, on the runtime's connection and transaction, when the run commits next; written alone before anything
/// else of the run executes otherwise, so a later activity never reads the database without it.
/// </summary>
public class RunCommitWriteTests
{
    private static Task<TestHost> StartAsync(TempDatabase db) => TestHost.StartAsync(db.Path, configure: o =>
    {
        o.AddActivity<HandsOverWrite>();
        o.AddActivity<Note>();
    });

    [Fact]
    public async Task A_write_handed_over_by_the_last_activity_is_written_in_the_runs_commit()
    {
        using var db = new TempDatabase();
        await using var host = await StartAsync(db);
        await host.PublishAsync("hand-over-last", Arr(Act("Start1", "Elsa.Start"), Act("Hand1", "Test.HandsOverWrite")), Arr(Conn("Start1", "Hand1")));

        var run = await host.Runtime.StartAsync("hand-over-last");

        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.Equal(["handed Hand1", "in the commit Hand1"], Events.Of(run.InstanceId));
        // Written through the commit's transaction, which committed it with the instance.
        await using var file = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db.Path};Mode=ReadOnly;Pooling=False");
        await file.OpenAsync();
        await using var count = file.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM probe_rows WHERE instance = $id";
        count.Parameters.AddWithValue("$id", run.InstanceId);
        Assert.Equal(1L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_write_handed_over_is_written_alone_before_the_next_activity_runs()
    {
        using var db = new TempDatabase();
        await using var host = await StartAsync(db);
        await host.PublishAsync("hand-over-then-more",
            Arr(Act("Start1", "Elsa.Start"), Act("Hand1", "Test.HandsOverWrite"), Act("Note1", "Test.Note")),
            Arr(Conn("Start1", "Hand1"), Conn("Hand1", "Note1")));

        var run = await host.Runtime.StartAsync("hand-over-then-more");

        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.Equal(["handed Hand1", "alone Hand1", "ran Note1"], Events.Of(run.InstanceId));
    }

    [Fact]
    public async Task A_write_handed_over_is_written_alone_when_the_runs_resumption_comes_first()
    {
        using var db = new TempDatabase();
        await using var host = await StartAsync(db);
        // The hand-over and the wait are siblings of one Flowchart: the resumption of the wait follows in the same run only
        // when a stimulus arrives, so here the run commits, and the write with it.
        await host.PublishAsync("hand-over-then-wait",
            Arr(Act("Start1", "Elsa.Start"), Act("Hand1", "Test.HandsOverWrite"), Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("later")}"), Act("Note1", "Test.Note")),
            Arr(Conn("Start1", "Hand1"), Conn("Hand1", "Event1"), Conn("Event1", "Note1")));

        var run = await host.Runtime.StartAsync("hand-over-then-wait");
        Assert.Equal(WorkflowSubStatus.Suspended, run.SubStatus);
        // The wait is an activity too: the write went alone before it executed.
        Assert.Equal(["handed Hand1", "alone Hand1"], Events.Of(run.InstanceId));
        await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new System.Text.Json.Nodes.JsonObject { ["eventName"] = "later" }));
        await host.WaitForAsync(run.InstanceId, s => s.SubStatus == WorkflowSubStatus.Finished);
        Assert.Equal(["handed Hand1", "alone Hand1", "ran Note1"], Events.Of(run.InstanceId));
    }

    /// <summary>What happened, per instance, in order.</summary>
    private static class Events
    {
        private static readonly Dictionary<string, List<string>> ByInstance = [];

        public static void Add(string instanceId, string what)
        {
            lock (ByInstance)
            {
                if (!ByInstance.TryGetValue(instanceId, out var list)) ByInstance[instanceId] = list = [];
                list.Add(what);
            }
        }

        public static IReadOnlyList<string> Of(string instanceId)
        {
            lock (ByInstance) return ByInstance.TryGetValue(instanceId, out var list) ? list.ToList() : [];
        }
    }

    [Activity("Test", "Testing")]
    public sealed class HandsOverWrite : Activity
    {
        protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
        {
            Events.Add(context.WorkflowInstanceId, "handed " + Id);
            context.WriteWithRunCommit(new Probe(context.WorkflowInstanceId, Id));
            return ValueTask.CompletedTask;
        }
    }

    [Activity("Test", "Testing")]
    public sealed class Note : Activity
    {
        protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
        {
            Events.Add(context.WorkflowInstanceId, "ran " + Id);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Probe(string instanceId, string activityId) : IRunCommitWrite
    {
        public async Task WriteInCommitAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
        {
            Assert.Same(connection, transaction.Connection);
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "CREATE TABLE IF NOT EXISTS probe_rows (instance TEXT); INSERT INTO probe_rows VALUES ($id)";
            var id = command.CreateParameter();
            (id.ParameterName, id.Value) = ("$id", instanceId);
            command.Parameters.Add(id);
            await command.ExecuteNonQueryAsync(cancellationToken);
            Events.Add(instanceId, "in the commit " + activityId);
        }

        public Task WriteAloneAsync(CancellationToken cancellationToken)
        {
            Events.Add(instanceId, "alone " + activityId);
            return Task.CompletedTask;
        }
    }
}
