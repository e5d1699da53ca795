using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Workflows.Runtime;

/// <summary>Creates the execution context of one run of an instance, with the runtime's services, clock and evaluator.</summary>
internal sealed class ExecutionContextFactory(IServiceProvider services, TimeProvider time, ExpressionEvaluator evaluator)
{
    public WorkflowExecutionContext Create(Workflow workflow, WorkflowState state, CancellationToken cancellationToken, ResumeBatch? batch = null) =>
        new(workflow, state, services, time, evaluator, cancellationToken, batch);
}
