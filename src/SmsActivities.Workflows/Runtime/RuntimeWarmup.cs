using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Builder;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Does at start what the first run would otherwise pay for inside a caller's request: the JSON metadata of everything a
/// commit writes, a script engine's first evaluation, a small workflow run in memory (the execution engine's code and
/// the JSON of a suspended run's state, journal and execution records), and the published workflows looked up and
/// materialized (their activities resolved, their expressions parsed), with the query that finds them compiled, and the
/// write path of a commit. It runs beside the rest of the start-up work and never fails the start: a part that fails is only paid for later.
/// </summary>
internal sealed class RuntimeWarmup(
    IDbContextFactory<WorkflowDbContext> db,
    WorkflowDefinitionService definitions,
    ExecutionContextFactory contexts,
    InstanceCommitter committer,
    StimulusRecorder recorder,
    InstanceOwnership ownership,
    BookmarkResumer resumer,
    JavaScriptEvaluator scripts,
    SqliteWriteGate writes,
    TimeProvider time,
    ILogger<RuntimeWarmup> logger)
{
    /// <summary>More published workflows than this are left to their first run.</summary>
    private const int MaxDefinitions = 200;

    /// <summary>What needs no database: JSON metadata, the script engine and the engine's run (start it first, it overlaps the schema work).</summary>
    public Task WarmCodeAsync(CancellationToken cancellationToken) =>
        GuardedAsync("code", () => Task.WhenAll(Task.Run(WarmJson, cancellationToken), Task.Run(WarmScripts, cancellationToken), Task.Run(() => WarmRunAsync(cancellationToken), cancellationToken)));

    /// <summary>The published workflows, once the schema is there and the start-up imports are done.</summary>
    public Task WarmDefinitionsAsync(CancellationToken cancellationToken) => GuardedAsync("workflow definitions", () => WarmPublishedAsync(cancellationToken));

    /// <summary>A commit of the in-memory run and the rows' inserts and updates, once the schema is there (rolled back: nothing is left behind).</summary>
    public Task WarmWritesAsync(CancellationToken cancellationToken) => GuardedAsync("writes", () => WarmWriteAsync(cancellationToken));

    private async Task GuardedAsync(string what, Func<Task> warm)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await warm();
            logger.LogDebug("Warmed the runtime's {What} in {Milliseconds} ms.", what, clock.ElapsedMilliseconds);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Warming the runtime's {What} at start failed; the first runs pay for it instead.", what);
        }
    }

    private static void WarmJson()
    {
        var options = WorkflowJson.Options;
        foreach (var type in new[] { typeof(WorkflowState), typeof(Bookmark), typeof(ActivityExecutionContextState), typeof(ActivityExecutionRecord), typeof(WorkflowExecutionLogRecord) })
            options.GetTypeInfo(type);
        var state = JsonSerializer.Deserialize<WorkflowState>(JsonSerializer.Serialize(new WorkflowState { Variables = { ["warm"] = 1 } }, options), options);
        JsonSerializer.Deserialize<ActivityExecutionRecord>(JsonSerializer.Serialize(new ActivityExecutionRecord { Outputs = new JsonObject { ["warm"] = 1 } }, options), options);
        GC.KeepAlive(state);
    }

    /// <summary>
    /// A flowchart that sets a variable and waits for an event, run in memory and never committed (nothing is stored or
    /// published; the wait only adds a bookmark to the state), then written and read back as a commit and a resume do.
    /// </summary>
    private async Task WarmRunAsync(CancellationToken cancellationToken)
    {
        var context = await RunInMemoryAsync(cancellationToken);
        var state = context.State;
        GC.KeepAlive(RuntimeRows.ReadState(state.Id, RuntimeRows.StateWithoutInput(state), RuntimeRows.InputOf(state)));
        var secrets = context.Secrets;
        foreach (var line in context.NewJournal)
            JsonSerializer.Deserialize<WorkflowExecutionLogRecord>(SecretRedactor.RedactJournal(JsonSerializer.Serialize(line, WorkflowJson.Options), secrets), WorkflowJson.Options);
        foreach (var record in context.ExecutionRecords.Values)
            JsonSerializer.Deserialize<ActivityExecutionRecord>(SecretRedactor.RedactExecutionRecord(JsonSerializer.Serialize(record, WorkflowJson.Options), secrets), WorkflowJson.Options);
    }

    /// <summary>The warm-up flowchart run until it waits, in memory; its instance id cannot meet a real one's.</summary>
    private async Task<WorkflowExecutionContext> RunInMemoryAsync(CancellationToken cancellationToken)
    {
        var builder = new WorkflowBuilder().WithDefinitionId("warm-up").WithVariable("warm", 0);
        var flow = builder.Flowchart();
        var set = flow.Add(new SetVariable { Variable = new("warm", "warm"), Value = new(1) });
        flow.Connect(set, flow.Add(new Event("warm-up")));
        var workflow = builder.Build();
        var now = time.GetUtcNow();
        var state = new WorkflowState
        {
            Id = "warm-up-" + Guid.NewGuid().ToString("N"), DefinitionId = workflow.DefinitionId, DefinitionVersionId = workflow.DefinitionVersionId, DefinitionVersion = workflow.Version,
            Status = WorkflowStatus.Running, SubStatus = WorkflowSubStatus.Pending, CreatedAt = now, UpdatedAt = now,
            Variables = { ["warm"] = 0 }, Input = { ["warm"] = 0 },
        };
        var context = contexts.Create(workflow, state, cancellationToken);
        context.Start(workflow.Root);
        await context.RunAsync();
        if (state.SubStatus != WorkflowSubStatus.Suspended) throw new InvalidOperationException($"The warm-up run ended {state.SubStatus}, not suspended.");
        return context;
    }

    private void WarmScripts() => scripts.Evaluate("[1, 2].map(x => x + 1).length", new EmptyContext());

    /// <summary>The latest published version of each workflow, as a start finds it (same query, same cache).</summary>
    private async Task WarmPublishedAsync(CancellationToken cancellationToken)
    {
        List<string> ids;
        await using (var context = await db.CreateDbContextAsync(cancellationToken))
            ids = await context.Definitions.AsNoTracking().Where(d => d.IsPublished).Select(d => d.DefinitionId).Distinct().OrderBy(id => id).Take(MaxDefinitions).ToListAsync(cancellationToken);
        foreach (var id in ids)
        {
            try
            {
                await definitions.FindWorkflowAsync(id, VersionOptions.Published, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A definition that does not materialize fails its own runs with the same error, where it is reported.
                logger.LogDebug(e, "Workflow {DefinitionId} could not be warmed.", id);
            }
        }
    }

    /// <summary>
    /// A waiting run's life rehearsed with the runtime's own code, then one row of each kind a commit or an accept
    /// writes, inserted and then updated through change tracking, each in a transaction that is rolled back: the first
    /// start, accept and resume then find EF Core's queries and update pipeline (snapshots, command batches, SQL) built
    /// and this code compiled instead of building it while a caller or a vendor waits. The ids cannot meet a real row's.
    /// </summary>
    private async Task WarmWriteAsync(CancellationToken cancellationToken)
    {
        await RehearseWaitAsync(cancellationToken);
        var id = "warm-up-" + Guid.NewGuid().ToString("N");
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        using var turn = await writes.EnterAsync(context, urgent: false, cancellationToken);
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken);
        var instance = new InstanceRow { Id = id, DefinitionId = id, DefinitionVersionId = id, Status = "Running", SubStatus = "Executing", CreatedAt = now, UpdatedAt = now, StateJson = "{}" };
        context.Instances.Add(instance);
        context.Bookmarks.Add(new BookmarkRow { Id = id, InstanceId = id, Name = id, Hash = id, ActivityInstanceId = id, CreatedAt = now });
        context.Journal.Add(new JournalRow { Id = id, InstanceId = id, NodeId = id, ActivityType = id, EventName = id, Json = "{}" });
        context.Executions.Add(new ExecutionRow { Id = id, InstanceId = id, NodeId = id, StartedAt = now, Json = "{}" });
        context.Stimuli.Add(new StimulusRow { Id = id, Name = id, Hash = id, DedupeKey = id, ReceivedAt = now, ExpiresAt = now });
        context.Deliveries.Add(new DeliveryRow { Id = id, StimulusId = id, CreatedAt = now, NextAttemptAt = now });
        await context.SaveChangesAsync(cancellationToken);
        instance.SubStatus = "Finished";
        instance.FinishedAt = now;
        await context.SaveChangesAsync(cancellationToken);
        await transaction.RollbackAsync(cancellationToken);
    }

    /// <summary>
    /// What a delivery report does in the runtime, in one transaction that is rolled back: the in-memory run that waits
    /// committed as a start is (<see cref="InstanceCommitter.RehearseAsync"/>), a stimulus for its bookmark accepted as a
    /// report's is (keyed, staged with the delivery it is owed), the instance leased as the dispatcher's claim leases it,
    /// resumed (<see cref="BookmarkResumer.RehearseAsync"/>) and its end committed as a group commit does. Nothing is
    /// signalled, counted or kept: the lease the claim tracked is let go, and the rows go with the transaction.
    /// </summary>
    private async Task RehearseWaitAsync(CancellationToken cancellationToken)
    {
        var run = await RunInMemoryAsync(cancellationToken);
        var (state, waiting) = (run.State, run.State.Bookmarks.Single());
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        using var turn = await writes.EnterAsync(context, urgent: false, cancellationToken);
        await using var transaction = await context.Database.BeginTransactionAsync(StimulusHashLocks.Isolation(context), cancellationToken);
        var started = new InstanceRow { Id = state.Id, StartKey = state.Id, CreatedAt = DbTime.ToDb(state.CreatedAt) };
        context.Instances.Add(started);
        // Served: a delivery id no row has, so the commit's delete of what it served runs and removes nothing.
        await committer.RehearseAsync(context, new RunToCommit(started, run, [state.Id], new HashSet<string>()), cancellationToken);

        var stimulus = new Stimulus(waiting.Name, waiting.Payload?.DeepClone(), new JsonObject { ["warm"] = 2 }) { DedupeKey = state.Id, KeepInInbox = false };
        var delivery = (await recorder.StageAsync(context, [stimulus], TimeSpan.Zero, cancellationToken)).Single().Deliveries.Single();
        await context.SaveChangesAsync(cancellationToken);
        try
        {
            var leased = (await ownership.ReadLeasedAsync(context, await ownership.LeaseInTransactionAsync(context, [state.Id], cancellationToken), cancellationToken)).Single();
            context.ChangeTracker.Clear();
            context.Instances.Attach(leased);
            var resumed = await resumer.RehearseAsync(leased, run.Workflow, [new Resumption(delivery.BookmarkId!, stimulus.Input, delivery.Id, stimulus.Hash)], cancellationToken);
            using (resumed.Span)
            {
                if (resumed.Execution is null) throw new InvalidOperationException("The warm-up's stimulus resumed nothing.");
                await committer.RehearseAsync(context, new RunToCommit(leased, resumed.Execution, resumed.Served, resumed.BookmarksBefore), cancellationToken);
            }
        }
        finally
        {
            ownership.Leases.ReleaseInstance(state.Id);
        }
        await transaction.RollbackAsync(cancellationToken);
    }

    private sealed class EmptyContext : ExpressionContext
    {
        private static readonly Dictionary<string, JsonNode?> Nothing = [];
        public override string WorkflowInstanceId => "";
        public override string? CorrelationId => null;
        public override JsonNode? GetVariable(string name) => null;
        public override void SetVariable(string name, object? value) { }
        public override JsonNode? GetWorkflowInput(string name) => null;
        public override JsonNode? GetOutput(string activityIdOrName, string? outputName = null) => null;
        public override IReadOnlyDictionary<string, JsonNode?> Variables => Nothing;
        public override IReadOnlyDictionary<string, JsonNode?> WorkflowInput => Nothing;
    }
}
