using System.Text.Json.Nodes;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Workflows.Execution;

/// <summary>A trigger of a workflow version: a stimulus with the same hash starts it.</summary>
public sealed record WorkflowTrigger(string ActivityId, string Name, string Hash, JsonNode? Payload);

/// <summary>Computes the triggers of a workflow: its <see cref="Trigger"/> activities marked <c>canStartWorkflow</c>.</summary>
public sealed class TriggerIndexer(ExpressionEvaluator evaluator)
{
    public IReadOnlyList<WorkflowTrigger> GetTriggers(Workflow workflow)
    {
        var context = new StaticExpressionContext(workflow);
        var result = new List<WorkflowTrigger>();
        foreach (var trigger in workflow.Activities.OfType<Trigger>().Where(t => t.CanStartWorkflow))
        {
            var indexing = new TriggerIndexingContext(input => evaluator.Evaluate(input, context));
            foreach (var payload in trigger.GetPayloads(indexing))
            {
                var node = ValueConverter.ToNode(payload);
                result.Add(new WorkflowTrigger(trigger.Id, trigger.Type, BookmarkHasher.Hash(trigger.Type, node), node));
            }
        }
        return result;
    }

    /// <summary>Trigger inputs are evaluated before any instance exists: only variable defaults are visible.</summary>
    private sealed class StaticExpressionContext(Workflow workflow) : ExpressionContext
    {
        private readonly Dictionary<string, JsonNode?> _variables = workflow.Variables.ToDictionary(v => v.Name, v => v.Value?.DeepClone());
        public override string WorkflowInstanceId => "";
        public override string? CorrelationId => null;
        public override JsonNode? GetVariable(string name) => _variables.GetValueOrDefault(workflow.ResolveVariableName(name))?.DeepClone();
        public override void SetVariable(string name, object? value) => _variables[workflow.ResolveVariableName(name)] = ValueConverter.ToNode(value);
        public override JsonNode? GetWorkflowInput(string name) => null;
        public override JsonNode? GetOutput(string activityIdOrName, string? outputName = null) => null;
        public override IReadOnlyDictionary<string, JsonNode?> Variables => _variables;
        public override IReadOnlyDictionary<string, JsonNode?> WorkflowInput => new Dictionary<string, JsonNode?>();
    }
}
