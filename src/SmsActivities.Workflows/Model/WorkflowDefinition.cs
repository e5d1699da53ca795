using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace SmsActivities.Workflows.Model;

/// <summary>
/// One version of a workflow definition, in the Elsa 3 JSON shape (docs/architecture.md, "The Elsa server API Studio uses").
/// Unknown top-level properties are kept in <see cref="Extra"/> so a definition written by a newer
/// Studio round-trips without loss.
/// </summary>
public sealed class WorkflowDefinition
{
    public string Id { get; set; } = "";
    public string DefinitionId { get; set; } = "";
    public string? Name { get; set; }
    public string? Description { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public int Version { get; set; } = 1;
    public string? ToolVersion { get; set; }
    public List<VariableDefinition> Variables { get; set; } = [];
    public List<InputDefinition> Inputs { get; set; } = [];
    public List<OutputDefinition> Outputs { get; set; } = [];
    public List<JsonNode?> Outcomes { get; set; } = [];
    public JsonObject CustomProperties { get; set; } = [];
    public bool IsReadonly { get; set; }
    public bool IsSystem { get; set; }
    public bool IsLatest { get; set; }
    public bool IsPublished { get; set; }
    public JsonObject? Options { get; set; }
    public ActivityNode Root { get; set; } = new() { Type = "Elsa.Flowchart", Id = "Flowchart1" };

    [JsonExtensionData]
    public Dictionary<string, System.Text.Json.JsonElement>? Extra { get; set; }

    /// <summary>Deep copy through JSON: definitions are mutable DTOs and the store must not share them.</summary>
    public WorkflowDefinition Clone() => WorkflowJson.Deserialize(WorkflowJson.Serialize(this));
}

public sealed class VariableDefinition
{
    public string? Id { get; set; }
    public string Name { get; set; } = "";
    public string? TypeName { get; set; }
    public bool IsArray { get; set; }
    public JsonNode? Value { get; set; }
    public string? StorageDriverTypeName { get; set; }
}

public sealed class InputDefinition
{
    public string? Type { get; set; }
    public bool IsArray { get; set; }
    public string Name { get; set; } = "";
    public string? DisplayName { get; set; }
    public string? Description { get; set; }
    public string? Category { get; set; }
    public string? UIHint { get; set; }
    public string? StorageDriverType { get; set; }
}

public sealed class OutputDefinition
{
    public string? Type { get; set; }
    public bool IsArray { get; set; }
    public string Name { get; set; } = "";
    public string? DisplayName { get; set; }
    public string? Description { get; set; }
    public string? Category { get; set; }
}

/// <summary>
/// An activity as stored in JSON. Well-known fields are typed; inputs, outputs and embedded activities
/// stay in <see cref="Properties"/> (camelCased input names → <c>{typeName, expression, memoryReference}</c>)
/// and are interpreted by the materializer against the activity's class.
/// </summary>
public sealed class ActivityNode
{
    public string Id { get; set; } = "";
    public string? NodeId { get; set; }
    public string? Name { get; set; }
    public string Type { get; set; } = "";
    public int Version { get; set; } = 1;
    public JsonObject? CustomProperties { get; set; }
    public JsonObject? Metadata { get; set; }
    /// <summary>Child activities of a container (Flowchart, Sequence); null when the key is absent.</summary>
    public List<ActivityNode>? Activities { get; set; }
    /// <summary>Flowchart connections; null when the key is absent.</summary>
    public List<Connection>? Connections { get; set; }
    public List<VariableDefinition>? Variables { get; set; }
    /// <summary>Legacy fixtures name the start activity here.</summary>
    public string? Start { get; set; }
    public JsonObject Properties { get; set; } = [];

    /// <summary>The input wrapper for a property, or null. Property names are matched case-insensitively.</summary>
    public JsonNode? GetProperty(string name)
    {
        foreach (var (key, value) in Properties)
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) return value;
        return null;
    }

    public bool CanStartWorkflow => CustomProperties?["canStartWorkflow"] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
}

public sealed record Endpoint(string Activity, string? Port);

public sealed class Connection
{
    public Endpoint Source { get; set; } = new("", "Done");
    public Endpoint Target { get; set; } = new("", "In");
    public JsonArray? Vertices { get; set; }
}
