using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Builder;

/// <summary>A code-first workflow (Elsa's <c>WorkflowBase</c> idea): describe it once in <see cref="Build"/>.</summary>
public interface IWorkflow
{
    void Build(WorkflowBuilder builder);
}

/// <summary>Builds a code-first workflow: ids, variables and a root activity (usually a <see cref="Flowchart"/> or <see cref="Sequence"/>).</summary>
public sealed class WorkflowBuilder
{
    private readonly List<VariableDefinition> _variables = [];
    private int _autoId;

    public string? DefinitionId { get; set; }
    public int Version { get; set; } = 1;
    public string? Name { get; set; }
    public string? Description { get; set; }
    public Activity? Root { get; set; }

    public WorkflowBuilder WithDefinitionId(string id) { DefinitionId = id; return this; }
    public WorkflowBuilder WithName(string name) { Name = name; return this; }
    public WorkflowBuilder WithRoot(Activity root) { Root = root; return this; }

    public WorkflowBuilder WithVariable(string name, object? initialValue = null)
    {
        _variables.Add(new VariableDefinition { Id = name, Name = name, Value = ValueConverter.ToNode(initialValue) });
        return this;
    }

    /// <summary>A flowchart built by connecting activities: <c>f.Connect(a, b)</c>, <c>f.Connect(decision, x, "True")</c>.</summary>
    public FlowchartBuilder Flowchart()
    {
        var builder = new FlowchartBuilder(this);
        Root = builder.Flowchart;
        return builder;
    }

    internal string NextId(Activity activity) => $"{activity.GetType().Name}{++_autoId}";

    public Workflow Build()
    {
        if (string.IsNullOrWhiteSpace(DefinitionId)) throw new InvalidOperationException("A code-first workflow needs a definition id.");
        var root = Root ?? throw new InvalidOperationException($"Workflow '{DefinitionId}' has no root activity.");
        AssignIds(root);
        return new Workflow(DefinitionId, $"{DefinitionId}:v{Version}", Version, Name, root, _variables);
    }

    private void AssignIds(Activity activity)
    {
        if (string.IsNullOrEmpty(activity.Id)) activity.Id = NextId(activity);
        foreach (var child in Workflow.Children(activity)) AssignIds(child);
    }
}

public sealed class FlowchartBuilder(WorkflowBuilder owner)
{
    public Flowchart Flowchart { get; } = new();

    /// <summary>Adds an activity (an id is generated when it has none) and returns it.</summary>
    public T Add<T>(T activity) where T : Activity
    {
        if (string.IsNullOrEmpty(activity.Id)) activity.Id = owner.NextId(activity);
        if (!Flowchart.Activities.Contains(activity)) Flowchart.Activities.Add(activity);
        return activity;
    }

    public FlowchartBuilder Connect(Activity source, Activity target, string outcome = "Done")
    {
        Flowchart.Connections.Add(new FlowConnection(Add(source), Add(target), outcome));
        return this;
    }
}
