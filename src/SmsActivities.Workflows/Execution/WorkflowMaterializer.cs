using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Execution;

/// <summary>
/// Turns an Elsa 3 JSON definition into a runnable <see cref="Workflow"/>, collecting every problem
/// (unknown type, dangling connection, missing required input) with the activity it concerns.
/// </summary>
public sealed class WorkflowMaterializer(ActivityRegistry registry)
{
    public Workflow Materialize(WorkflowDefinition definition)
    {
        var errors = new List<string>();
        var root = Build(definition.Root, errors);
        if (errors.Count > 0 || root is null) throw new WorkflowValidationException(errors);
        var variables = definition.Variables.Concat(definition.Root.Variables ?? []).ToList();
        var workflow = new Workflow(definition.DefinitionId, definition.Id, definition.Version, definition.Name, root, variables);
        errors.AddRange(workflow.Activities.OfType<IWorkflowValidatedActivity>().SelectMany(a => a.Validate(workflow)));
        if (errors.Count > 0) throw new WorkflowValidationException(errors);
        return workflow;
    }

    private Activity? Build(ActivityNode node, List<string> errors)
    {
        var label = $"Activity '{node.Id}' ({node.Type})";
        var info = registry.Find(node.Type);
        var definitionActivity = info is null ? WorkflowDefinitionActivity.TryRead(node) : null;
        if (info is null && definitionActivity is null)
        {
            errors.Add($"Activity '{node.Id}': unknown activity type '{node.Type}'.");
            return null;
        }
        info ??= ActivityTypeInfo.Get(typeof(WorkflowDefinitionActivity));
        var activity = definitionActivity ?? (Activity)Activator.CreateInstance(info.Type)!;
        activity.Id = node.Id;
        activity.Name = node.Name;
        activity.Version = node.Version;
        activity.CustomProperties = node.CustomProperties?.DeepClone().AsObject() ?? [];
        activity.Metadata = node.Metadata?.DeepClone().AsObject() ?? [];
        var cases = activity as ICaseContainer;
        foreach (var input in info.Inputs)
        {
            if (cases?.CasesInput == input.Name)
                cases.ReadCases(node.GetProperty(input.JsonName) as JsonArray ?? [], child => Build(ActivityNodeConverter.FromJson(child, WorkflowJson.Options), errors), errors);
            else ReadInput(activity, input, node.GetProperty(input.JsonName), label, errors);
        }
        foreach (var output in info.Outputs)
        {
            if (node.GetProperty(output.JsonName)?["memoryReference"]?["id"] is JsonValue id && id.TryGetValue<string>(out var variable))
            {
                var instance = (Output)Activator.CreateInstance(output.Property.PropertyType)!;
                instance.VariableName = variable;
                output.Property.SetValue(activity, instance);
            }
        }
        foreach (var slot in info.ChildSlots) ReadChildren(activity, slot, node, errors);
        if (activity is Flowchart flowchart) ReadConnections(flowchart, node, errors);
        return activity;
    }

    private static void ReadInput(Activity activity, InputInfo input, JsonNode? raw, string label, List<string> errors)
    {
        try
        {
            if (input.IsWrapped)
            {
                var expression = raw?["expression"] is JsonObject e ? ExpressionConverter.FromJson(e) : null;
                var empty = expression is null || expression.Type == Expression.LiteralType
                    && (expression.Value is null || expression.Value is JsonValue v && v.TryGetValue<string>(out var s) && s.Length == 0);
                if (!empty) input.Property.SetValue(activity, input.CreateInput(expression!));
                else if (input.DefaultValueNode is { } fallback) input.Property.SetValue(activity, input.CreateInput(new Expression(Expression.LiteralType, fallback)));
                else if (input.IsRequired) errors.Add($"{label}: required input '{input.Name}' has no value.");
                return;
            }
            if (raw is null)
            {
                if (input.IsRequired) errors.Add($"{label}: required input '{input.Name}' has no value.");
                return;
            }
            var value = input.ValueType == typeof(VariableReference) && raw is JsonValue name
                ? new VariableReference(null, name.GetValue<string>())
                : raw.Deserialize(input.ValueType, WorkflowJson.Options);
            input.Property.SetValue(activity, value);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NotSupportedException)
        {
            errors.Add($"{label}: input '{input.Name}' cannot be read: {e.Message}");
        }
    }

    private void ReadChildren(Activity activity, PropertyInfo slot, ActivityNode node, List<string> errors)
    {
        if (typeof(Activity).IsAssignableFrom(slot.PropertyType))
        {
            if (node.GetProperty(slot.Name) is JsonObject child && Build(ActivityNodeConverter.FromJson(child, WorkflowJson.Options), errors) is { } built)
                slot.SetValue(activity, built);
            return;
        }
        var children = slot.Name == nameof(Flowchart.Activities)
            ? node.Activities ?? []
            : (node.GetProperty(slot.Name) as JsonArray ?? []).OfType<JsonObject>().Select(o => ActivityNodeConverter.FromJson(o, WorkflowJson.Options)).ToList();
        var list = (List<Activity>)slot.GetValue(activity)!;
        foreach (var child in children)
            if (Build(child, errors) is { } built) list.Add(built);
    }

    private static void ReadConnections(Flowchart flowchart, ActivityNode node, List<string> errors)
    {
        flowchart.StartActivityId = node.Start;
        var byId = flowchart.Activities.ToDictionary(a => a.Id, StringComparer.Ordinal);
        foreach (var connection in node.Connections ?? [])
        {
            var source = byId.GetValueOrDefault(connection.Source.Activity);
            var target = byId.GetValueOrDefault(connection.Target.Activity);
            if (source is null)
                errors.Add($"Activity '{node.Id}' ({node.Type}): a connection to '{connection.Target.Activity}' comes from activity '{connection.Source.Activity}', which does not exist.");
            if (target is null)
                errors.Add($"Activity '{connection.Source.Activity}': its connection from port '{connection.Source.Port}' leads to activity '{connection.Target.Activity}', which does not exist.");
            if (source != null && target != null)
                flowchart.Connections.Add(new FlowConnection(source, target, connection.Source.Port ?? "Done", connection.Target.Port ?? "In"));
        }
    }
}
