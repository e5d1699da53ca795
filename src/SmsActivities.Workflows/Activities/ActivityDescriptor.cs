using System.Text.Json.Nodes;

namespace SmsActivities.Workflows.Activities;

/// <summary>An activity descriptor in the shape Studio's toolbox reads (docs/architecture.md, "The Elsa server API Studio uses").</summary>
public sealed record ActivityDescriptor(
    string TypeName,
    string Namespace,
    string Name,
    int Version,
    string Category,
    string DisplayName,
    string? Description,
    IReadOnlyList<InputDescriptor> Inputs,
    IReadOnlyList<OutputDescriptor> Outputs,
    string Kind,
    bool RunAsynchronously,
    IReadOnlyList<PortDescriptor> Ports,
    JsonObject CustomProperties,
    JsonObject ConstructionProperties,
    bool IsContainer,
    bool IsBrowsable,
    bool IsStart,
    bool IsTerminal);

public sealed record InputDescriptor(
    string Name,
    string TypeName,
    string DisplayName,
    string? Description,
    int Order,
    bool IsBrowsable,
    bool IsSerializable,
    bool IsSynthetic,
    bool IsWrapped,
    string UIHint,
    string DefaultSyntax,
    bool IsReadOnly,
    bool IsSensitive,
    bool AutoEvaluate,
    string? Category,
    JsonNode? DefaultValue,
    JsonObject? UISpecifications);

public sealed record OutputDescriptor(
    string Name,
    string TypeName,
    string DisplayName,
    string? Description,
    int Order,
    bool IsBrowsable,
    bool IsSerializable,
    bool IsSynthetic);

/// <summary><c>type</c> is <c>Flow</c> (an out-port in a flowchart) or <c>Embedded</c> (a child slot such as ForEach's Body).</summary>
public sealed record PortDescriptor(string Name, string DisplayName, string Type, bool IsBrowsable = true);
