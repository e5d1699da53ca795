using SmsActivities.Workflows.Execution;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Starts a child instance from inside a parent's run: the published version of the definition runs until it finishes
/// or waits, and commits as its own instance before the parent goes on. The child's id comes from the parent's
/// activity execution and is its start key: a parent re-running that execution after a crash gets the child it had
/// started, never a second one.
/// </summary>
internal sealed class ChildWorkflowStarter(WorkflowDefinitionService definitions, WorkflowStarter starter, StimulusSender sender, WorkflowInstanceStore instances)
    : IChildWorkflowStarter
{
    public async Task<ChildWorkflowRun> StartAsync(ChildWorkflowRequest request, CancellationToken cancellationToken)
    {
        if (await instances.GetStateAsync(request.InstanceId, cancellationToken) is { } started) return RunOf(started);
        var workflow = await FindAsync(request.DefinitionId, cancellationToken);
        var run = new StartRun(workflow)
        {
            Input = request.Input, CorrelationId = request.CorrelationId, Properties = ChildWorkflows.PropertiesFor(request),
            InstanceId = request.InstanceId, ParentReadsFirstRun = true, Secrets = request.Secrets,
        };
        var outcome = await starter.StartAsync(run, cancellationToken);
        await sender.FollowUpAsync(outcome.FollowUps, cancellationToken);
        if (outcome.Result is { } result) return new ChildWorkflowRun(result.InstanceId, result.Status, result.SubStatus, result.Output);
        // Started by a concurrent try of the same execution, which committed first.
        return RunOf(await instances.GetStateAsync(request.InstanceId, cancellationToken)
                     ?? throw new InvalidOperationException($"Child workflow instance {request.InstanceId} was started elsewhere but cannot be read."));
    }

    public async Task<ChildDispatch> PrepareDispatchAsync(ChildWorkflowRequest request, CancellationToken cancellationToken) =>
        new((await FindAsync(request.DefinitionId, cancellationToken)).DefinitionVersionId, request);

    private async Task<Workflow> FindAsync(string definitionId, CancellationToken cancellationToken) =>
        await definitions.FindWorkflowAsync(definitionId, VersionOptions.Published, cancellationToken)
        ?? throw new KeyNotFoundException($"No published version of workflow definition '{definitionId}'.");

    private static ChildWorkflowRun RunOf(WorkflowState state) => new(state.Id, state.Status, state.SubStatus, state.Output);
}
