using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Runtime;

/// <summary>What one activity did when run on its own: its execution record and its journal lines.</summary>
public sealed record ActivityTestResult(ActivityExecutionRecord Record, IReadOnlyList<WorkflowExecutionLogRecord> Journal);

/// <summary>
/// Runs one activity of a definition version on its own, as a designer's test: with the workflow's variables at the
/// test values the designer gave (Studio keeps them in the definition's <c>VariableTestValues</c> custom property, by
/// variable id) or else at their initial values, the activity (and, for a container, what it schedules) runs until the work queue drains. Nothing is
/// committed — no instance, bookmark, journal or stimulus is stored — so a wait only reports that it would suspend.
/// Secrets the run marked are masked in the result as in a commit.
/// </summary>
public sealed class ActivityTester
{
    private readonly WorkflowDefinitionService _definitions;
    private readonly ExecutionContextFactory _contexts;
    private readonly TimeProvider _time;

    internal ActivityTester(WorkflowDefinitionService definitions, ExecutionContextFactory contexts, TimeProvider time)
    {
        _definitions = definitions;
        _contexts = contexts;
        _time = time;
    }

    /// <summary>The activity's type, or null when the version or the activity (node id, id or name) does not exist.</summary>
    public async Task<string?> FindActivityTypeAsync(string definitionVersionId, string activity, CancellationToken cancellationToken) =>
        await FindAsync(definitionVersionId, activity, cancellationToken) is { } found ? found.Activity.Type : null;

    /// <summary>Runs the activity; null when the version or the activity does not exist.</summary>
    public async Task<ActivityTestResult?> RunAsync(string definitionVersionId, string activity, CancellationToken cancellationToken)
    {
        if (await FindAsync(definitionVersionId, activity, cancellationToken) is not var (workflow, target)) return null;
        var now = _time.GetUtcNow();
        var state = new WorkflowState
        {
            Id = "test-" + RuntimeRows.NewId(), DefinitionId = workflow.DefinitionId, DefinitionVersionId = workflow.DefinitionVersionId,
            DefinitionVersion = workflow.Version, Name = workflow.Name,
            Status = WorkflowStatus.Running, SubStatus = WorkflowSubStatus.Pending, CreatedAt = now, UpdatedAt = now,
        };
        var testValues = (await _definitions.GetByIdAsync(definitionVersionId, cancellationToken))?.CustomProperties["VariableTestValues"] as JsonObject;
        foreach (var variable in workflow.Variables)
        {
            var testValue = testValues?[variable.Id ?? variable.Name] ?? testValues?[variable.Name];
            state.Variables[variable.Name] = WorkflowStarter.InitialValue(testValue is null ? variable
                : new VariableDefinition { Id = variable.Id, Name = variable.Name, TypeName = variable.TypeName, IsArray = variable.IsArray, Value = testValue.DeepClone() });
        }
        var context = _contexts.Create(workflow, state, cancellationToken);
        context.Start(target);
        await context.RunAsync();
        // No instance is committed for a test: what the activity handed to the commit is written on its own.
        await context.WriteCommitWritesAloneAsync();

        var secrets = context.Secrets;
        var record = context.ExecutionRecords.Values.First(r => r.ActivityNodeId == target.NodeId);
        var journal = context.NewJournal
            .Select(line => JsonSerializer.Deserialize<WorkflowExecutionLogRecord>(SecretRedactor.RedactJournal(JsonSerializer.Serialize(line, WorkflowJson.Options), secrets), WorkflowJson.Options)!)
            .ToList();
        return new ActivityTestResult(
            JsonSerializer.Deserialize<ActivityExecutionRecord>(SecretRedactor.RedactExecutionRecord(JsonSerializer.Serialize(record, WorkflowJson.Options), secrets), WorkflowJson.Options)!,
            journal);
    }

    private async Task<(Workflow Workflow, Activities.Activity Activity)?> FindAsync(string definitionVersionId, string activity, CancellationToken cancellationToken)
    {
        Workflow workflow;
        try
        {
            workflow = await _definitions.GetWorkflowAsync(definitionVersionId, cancellationToken);
        }
        catch (KeyNotFoundException)
        {
            return null;
        }
        return (workflow.FindByNodeId(activity) ?? workflow.FindByIdOrName(activity)) is { } target ? (workflow, target) : null;
    }
}
