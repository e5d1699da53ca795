using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Execution;

/// <summary>
/// A materialized, validated workflow version: the activity tree plus lookups. Built once per
/// definition version and shared, read-only, by every run of it.
/// </summary>
public sealed class Workflow
{
    private readonly Dictionary<string, Activity> _byNodeId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Activity> _byIdOrName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _variableNames = new(StringComparer.Ordinal);

    public Workflow(string definitionId, string definitionVersionId, int version, string? name, Activity root, IReadOnlyList<VariableDefinition> variables)
    {
        DefinitionId = definitionId;
        DefinitionVersionId = definitionVersionId;
        Version = version;
        Name = name;
        Root = root;
        Variables = variables;
        foreach (var v in variables)
        {
            _variableNames[v.Name] = v.Name;
            if (v.Id != null) _variableNames[v.Id] = v.Name;
        }
        Index(root, null, "Workflow1");
    }

    public string DefinitionId { get; }
    public string DefinitionVersionId { get; }
    public int Version { get; }
    public string? Name { get; }
    public Activity Root { get; }
    public IReadOnlyList<VariableDefinition> Variables { get; }
    public IEnumerable<Activity> Activities => _byNodeId.Values;

    public Activity? FindByNodeId(string nodeId) => _byNodeId.GetValueOrDefault(nodeId);

    /// <summary>By id first, then by name (JavaScript's <c>getOutputFrom</c> accepts both).</summary>
    public Activity? FindByIdOrName(string idOrName) => _byIdOrName.GetValueOrDefault(idOrName);

    /// <summary>Variable references may use the variable's id or its name; state is keyed by name.</summary>
    public string ResolveVariableName(string idOrName) => _variableNames.GetValueOrDefault(idOrName, idOrName);

    private void Index(Activity activity, Activity? parent, string parentPath)
    {
        if (string.IsNullOrEmpty(activity.Id))
            throw new WorkflowValidationException([$"An activity of type '{activity.Type}' has no id."]);
        activity.Parent = parent;
        activity.NodeId = $"{parentPath}:{activity.Id}";
        if (!_byNodeId.TryAdd(activity.NodeId, activity))
            throw new WorkflowValidationException([$"Activity '{activity.Id}' ({activity.Type}): the id is used twice in the same container."]);
        _byIdOrName.TryAdd(activity.Id, activity);
        if (activity.Name != null) _byIdOrName.TryAdd(activity.Name, activity);
        foreach (var child in Children(activity)) Index(child, activity, activity.NodeId);
    }

    internal static IEnumerable<Activity> Children(Activity activity)
    {
        foreach (var slot in ActivityTypeInfo.Get(activity.GetType()).ChildSlots)
        {
            switch (slot.GetValue(activity))
            {
                case Activity single: yield return single; break;
                case IEnumerable<Activity> many: foreach (var a in many) yield return a; break;
            }
        }
        if (activity is ICaseContainer container)
            foreach (var child in container.CaseActivities) yield return child;
    }
}

/// <summary>
/// An activity whose inputs refer to other parts of its workflow (e.g. another activity): checked when the
/// definition is saved and published, so that a dangling reference is a validation error, not a run-time surprise.
/// </summary>
public interface IWorkflowValidatedActivity
{
    /// <summary>The problems, each naming this activity; empty when none.</summary>
    IEnumerable<string> Validate(Workflow workflow);
}

/// <summary>A definition that cannot run; every message names the activity at fault.</summary>
public sealed class WorkflowValidationException(IReadOnlyList<string> errors)
    : Exception("Invalid workflow definition: " + string.Join(" ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
