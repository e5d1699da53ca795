using SmsActivities.Workflows.Execution;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Starts a child instance from inside a parent's run: the published version of the definition runs until it finishes
/// or waits, and commits as its own instance before the parent goes on.
/// </summary>
internal sealed class ChildWorkflowStarter(WorkflowDefinitionService definitions, WorkflowStarter starter, StimulusSender sender) : IChildWorkflowStarter
{
    public async Task<ChildWorkflowRun> StartAsync(ChildWorkflowRequest request, CancellationToken cancellationToken)
    {
        var workflow = await definitions.FindWorkflowAsync(request.DefinitionId, VersionOptions.Published, cancellationToken)
                       ?? throw new KeyNotFoundException($"No published version of workflow definition '{request.DefinitionId}'.");
        var run = new StartRun(workflow)
        {
            Input = request.Input, CorrelationId = request.CorrelationId, Properties = ChildWorkflows.PropertiesFor(request),
        };
        var outcome = await starter.StartAsync(run, cancellationToken);
        await sender.FollowUpAsync(outcome.FollowUps, cancellationToken);
        var result = outcome.Result!;
        return new ChildWorkflowRun(result.InstanceId, result.Status, result.SubStatus, result.Output);
    }
}
