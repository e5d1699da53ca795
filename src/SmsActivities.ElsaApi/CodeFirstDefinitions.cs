using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.ElsaApi;

/// <summary>
/// The code-first workflows (registered in memory, e.g. the <c>-code</c> samples) as Elsa definitions, so that Studio
/// lists them, opens them read-only and finds their version when it shows one of their instances. Like Elsa's
/// <c>ClrWorkflowMaterializer</c> definitions they are one published version, <c>isReadonly</c>, without a publish
/// link (Studio's editor is then the read-only version viewer, which still offers Run and Export). C# expressions
/// (delegates) cannot be shown as code: such an input shows as a Literal naming it.
/// </summary>
public sealed class CodeFirstDefinitions(WorkflowDefinitionService service)
{
    public const string MaterializerName = "ClrWorkflowMaterializer";
    public const string DelegateText = "(computed in C#)";

    private static readonly DateTimeOffset LoadedAt = DateTimeOffset.UtcNow;
    private IReadOnlyList<WorkflowDefinition> _definitions = [];
    private int _registeredCount = -1;

    /// <summary>All of them, ordered by name (rebuilt if workflows were registered since the last call).</summary>
    public IReadOnlyList<WorkflowDefinition> All
    {
        get
        {
            var workflows = service.CodeFirstWorkflows;
            if (workflows.Count != Volatile.Read(ref _registeredCount))
            {
                _definitions = workflows.Select(ToDefinition).OrderBy(d => d.Name ?? d.DefinitionId, StringComparer.OrdinalIgnoreCase).ToList();
                Volatile.Write(ref _registeredCount, workflows.Count);
            }
            return _definitions;
        }
    }

    public WorkflowDefinition? Find(string definitionId) => All.FirstOrDefault(d => d.DefinitionId == definitionId);

    public WorkflowDefinition? FindVersion(string id) => All.FirstOrDefault(d => d.Id == id);

    public bool IsCodeFirst(string definitionId) => Find(definitionId) is not null;

    /// <summary>Whether a definition is one of these (read-only, no edit links).</summary>
    public static bool IsCodeFirst(WorkflowDefinition definition) => definition.IsReadonly && definition.Extra?.ContainsKey(ExtraKey) == true;

    private const string ExtraKey = "materializerName";

    /// <summary>The definitions the list query selects (the single version counts as latest and as published).</summary>
    public IReadOnlyList<WorkflowDefinition> Matching(DefinitionQuery query)
    {
        if (query.VersionOptions.Kind is "Draft") return [];
        return All.Where(d =>
                (query.VersionOptions.Kind is not "SpecificVersion" || query.VersionOptions.Version == d.Version)
                && (query.DefinitionIds is null || query.DefinitionIds.Contains(d.DefinitionId))
                && (query.Ids is null || query.Ids.Contains(d.Id))
                && (query.SearchTerm is null
                    || (d.Name ?? "").Contains(query.SearchTerm, StringComparison.OrdinalIgnoreCase)
                    || d.DefinitionId.Contains(query.SearchTerm, StringComparison.OrdinalIgnoreCase)))
            .ToList();
    }

    public static WorkflowDefinition ToDefinition(Workflow workflow)
    {
        var definition = new WorkflowDefinition
        {
            Id = workflow.DefinitionVersionId,
            DefinitionId = workflow.DefinitionId,
            Name = workflow.Name ?? workflow.DefinitionId,
            Description = "Defined in C# (code-first): read-only here, change it in code.",
            CreatedAt = LoadedAt,
            Version = workflow.Version,
            Variables = workflow.Variables.Select(v => new VariableDefinition
            {
                Id = v.Id, Name = v.Name, TypeName = v.TypeName, IsArray = v.IsArray, Value = v.Value?.DeepClone(), StorageDriverTypeName = v.StorageDriverTypeName,
            }).ToList(),
            IsReadonly = true,
            IsLatest = true,
            IsPublished = true,
            Root = ToNode(workflow.Root),
            Extra = new() { [ExtraKey] = JsonSerializer.SerializeToElement(MaterializerName) },
        };
        return definition;
    }

    private static ActivityNode ToNode(Activity activity)
    {
        var info = ActivityTypeInfo.Get(activity.GetType());
        var node = new ActivityNode
        {
            Id = activity.Id,
            Name = activity.Name ?? activity.Id,
            Type = activity.Type,
            Version = activity.Version,
            CustomProperties = activity.CustomProperties.DeepClone().AsObject(),
            Metadata = activity.Metadata.DeepClone().AsObject(),
        };
        foreach (var input in info.Inputs)
            if (InputNode(input, input.Property.GetValue(activity)) is { } value) node.Properties[input.JsonName] = value;
        foreach (var output in info.Outputs)
            if (output.Property.GetValue(activity) is Output { VariableName: { } variable })
                node.Properties[output.JsonName] = new JsonObject { ["typeName"] = ActivityTypeInfo.TypeAlias(output.ValueType), ["memoryReference"] = new JsonObject { ["id"] = variable } };
        foreach (var slot in info.ChildSlots)
        {
            switch (slot.GetValue(activity))
            {
                case Activity child:
                    node.Properties[JsonNamingPolicy.CamelCase.ConvertName(slot.Name)] = JsonSerializer.SerializeToNode(ToNode(child), WorkflowJson.Options);
                    break;
                case IEnumerable<Activity> children when slot.Name == nameof(Flowchart.Activities):
                    node.Activities = children.Select(ToNode).ToList();
                    break;
                case IEnumerable<Activity> children:
                    node.Properties[JsonNamingPolicy.CamelCase.ConvertName(slot.Name)] =
                        new JsonArray(children.Select(c => JsonSerializer.SerializeToNode(ToNode(c), WorkflowJson.Options)).ToArray());
                    break;
            }
        }
        if (activity is Flowchart flowchart)
        {
            node.Start = flowchart.StartActivityId;
            node.Connections = flowchart.Connections.Select(c => new Connection
            {
                Source = new SmsActivities.Workflows.Model.Endpoint(c.Source.Id, c.SourcePort),
                Target = new SmsActivities.Workflows.Model.Endpoint(c.Target.Id, c.TargetPort),
            }).ToList();
            Layout(node);
        }
        return node;
    }

    /// <summary>An input as Elsa JSON: <c>{typeName, expression:{type, value}}</c> when wrapped, the plain value otherwise.</summary>
    private static JsonNode? InputNode(InputInfo input, object? value)
    {
        if (value is null) return null;
        if (!input.IsWrapped) return JsonSerializer.SerializeToNode(value, input.ValueType, ShowOptions);
        return new JsonObject
        {
            ["typeName"] = ActivityTypeInfo.TypeAlias(input.ValueType),
            ["expression"] = JsonSerializer.SerializeToNode(((Input)value).Expression, ShowOptions),
        };
    }

    /// <summary>The runtime's JSON options, except that a C# delegate expression (also nested, e.g. in cases) is shown as a Literal naming it.</summary>
    private static readonly JsonSerializerOptions ShowOptions = CreateShowOptions();

    private static JsonSerializerOptions CreateShowOptions()
    {
        var options = new JsonSerializerOptions(WorkflowJson.Options);
        options.Converters.Insert(0, new ShownExpressionConverter());
        return options;
    }

    private sealed class ShownExpressionConverter : JsonConverter<Expression>
    {
        public override Expression Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException("Code-first definitions are shown, never read back.");

        public override void Write(Utf8JsonWriter writer, Expression value, JsonSerializerOptions options)
        {
            var shown = value.Type == Expression.DelegateType
                ? new JsonObject { ["type"] = Expression.LiteralType, ["value"] = DelegateText }
                : new JsonObject { ["type"] = value.Type, ["value"] = value.Value?.DeepClone() };
            shown.WriteTo(writer);
        }
    }

    /// <summary>
    /// Code has no diagram positions: lays the flowchart out left to right by distance from its entry nodes (those no
    /// connection leads to), one column per step, keeping positions the code set in <c>metadata.designer</c>.
    /// </summary>
    private static void Layout(ActivityNode flowchart)
    {
        var activities = flowchart.Activities ?? [];
        var connections = flowchart.Connections ?? [];
        var column = new Dictionary<string, int>(StringComparer.Ordinal);
        var queue = new Queue<string>();
        foreach (var entry in activities.Where(a => connections.All(c => c.Target.Activity != a.Id)))
        {
            column[entry.Id] = 0;
            queue.Enqueue(entry.Id);
        }
        while (queue.Count > 0)
        {
            var id = queue.Dequeue();
            foreach (var next in connections.Where(c => c.Source.Activity == id).Select(c => c.Target.Activity))
            {
                if (column.ContainsKey(next)) continue;
                column[next] = column[id] + 1;
                queue.Enqueue(next);
            }
        }
        var rows = new Dictionary<int, int>();
        foreach (var activity in activities)
        {
            var x = column.TryGetValue(activity.Id, out var c) ? c : column.Values.DefaultIfEmpty(-1).Max() + 1;
            column[activity.Id] = x;
            var y = rows[x] = rows.GetValueOrDefault(x, -1) + 1;
            var metadata = activity.Metadata ??= [];
            if (metadata["designer"]?["position"] is not null) continue;
            metadata["designer"] = new JsonObject
            {
                ["position"] = new JsonObject { ["x"] = x * 320, ["y"] = y * 140 },
                ["size"] = new JsonObject { ["width"] = 200, ["height"] = 60 },
            };
        }
    }
}
