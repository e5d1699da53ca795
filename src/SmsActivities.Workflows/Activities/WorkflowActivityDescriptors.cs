using System.Text.Json.Nodes;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Activities;

/// <summary>
/// The toolbox entry of a published definition marked "usable as activity" (Studio's <c>options.usableAsActivity</c>):
/// the type is the Pascal-cased definition name, the inputs and outputs are the definition's, and dropping it writes the
/// definition's ids into the node (construction properties), which is how the runtime recognises the node.
/// </summary>
public static class WorkflowActivityDescriptors
{
    public static bool IsUsableAsActivity(WorkflowDefinition definition) =>
        definition.Options?["usableAsActivity"] is JsonValue v && v.TryGetValue<bool>(out var usable) && usable;

    public static ActivityDescriptor Describe(WorkflowDefinition definition)
    {
        var name = definition.Name is { Length: > 0 } n ? n : definition.DefinitionId;
        var typeName = ScriptSurface.Pascalize(name);
        var category = definition.Options?["activityCategory"] is JsonValue c && c.TryGetValue<string>(out var text) && text.Length > 0 ? text : "Workflows";
        var inputs = definition.Inputs.Select((input, index) => new InputDescriptor(
            input.Name, input.Type ?? "Object", input.DisplayName ?? input.Name, input.Description, index, IsBrowsable: true, IsSerializable: true,
            IsSynthetic: true, IsWrapped: true, input.UIHint ?? InputUIHints.SingleLine, "Literal", IsReadOnly: false, IsSensitive: false,
            AutoEvaluate: true, input.Category, DefaultValue: null, UISpecifications: null)).ToList();
        var outputs = definition.Outputs.Select((output, index) => new OutputDescriptor(
            output.Name, output.Type ?? "Object", output.DisplayName ?? output.Name, output.Description, index, IsBrowsable: true, IsSerializable: true,
            IsSynthetic: true)).ToList();
        var ids = new JsonObject
        {
            ["WorkflowDefinitionId"] = definition.DefinitionId,
            ["WorkflowDefinitionVersionId"] = definition.Id,
        };
        var construction = ids.DeepClone().AsObject();
        construction["Version"] = definition.Version;
        ids["RootType"] = "WorkflowDefinitionActivity";
        return new ActivityDescriptor(
            typeName, "", typeName, definition.Version, category, name, definition.Description, inputs, outputs, "Action",
            RunAsynchronously: false, [new PortDescriptor("Done", "Done", "Flow")], ids, construction,
            IsContainer: false, IsBrowsable: definition.IsPublished, IsStart: false, IsTerminal: false);
    }
}
