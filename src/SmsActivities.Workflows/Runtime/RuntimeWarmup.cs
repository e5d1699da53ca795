using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Does at start what the first run would otherwise pay for inside a caller's request: the JSON metadata of everything a
/// commit writes, a script engine's first evaluation, and the published workflows looked up and materialized (their
/// activities resolved, their expressions parsed), with the query that finds them compiled. It runs beside the rest of
/// the start-up work and never fails the start: a part that fails is only paid for later.
/// </summary>
internal sealed class RuntimeWarmup(
    IDbContextFactory<WorkflowDbContext> db,
    WorkflowDefinitionService definitions,
    JavaScriptEvaluator scripts,
    ILogger<RuntimeWarmup> logger)
{
    /// <summary>More published workflows than this are left to their first run.</summary>
    private const int MaxDefinitions = 200;

    /// <summary>What needs no database: JSON metadata and the script engine (start it first, it overlaps the schema work).</summary>
    public Task WarmCodeAsync(CancellationToken cancellationToken) =>
        GuardedAsync("code", () => Task.WhenAll(Task.Run(WarmJson, cancellationToken), Task.Run(WarmScripts, cancellationToken)));

    /// <summary>The published workflows, once the schema is there and the start-up imports are done.</summary>
    public Task WarmDefinitionsAsync(CancellationToken cancellationToken) => GuardedAsync("workflow definitions", () => WarmPublishedAsync(cancellationToken));

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
