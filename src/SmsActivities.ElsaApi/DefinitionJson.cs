using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Server.ElsaApi;

/// <summary>
/// Maps the runtime's workflow definitions to the JSON Studio reads (docs/architecture.md, "The Elsa server API Studio uses") and back:
/// links (the editor is read-only without <c>rel:"publish"</c>), node ids (Studio indexes nodes by them and
/// crashes on a missing one), default options, and tolerant reading of the create dialog's nulls.
/// </summary>
public static class DefinitionJson
{
    public const string RootNodePrefix = "Workflow1";

    public static JsonArray Links(string definitionId, bool readOnly = false)
    {
        var id = Uri.EscapeDataString(definitionId);
        if (readOnly)
        {
            // No publish link: Studio opens it in the read-only version viewer (Run and Export stay).
            return
            [
                Link($"/workflow-definitions/by-definition-id/{id}", "self", "GET"),
                Link($"/workflow-definitions/{id}/execute", "execute", "POST"),
                Link($"/workflow-definitions/{id}/export", "export", "GET"),
            ];
        }
        return
        [
            Link($"/workflow-definitions/by-definition-id/{id}", "self", "GET"),
            Link($"/workflow-definitions/{id}/publish", "publish", "POST"),
            Link($"/workflow-definitions/{id}/retract", "retract", "POST"),
            Link($"/workflow-definitions/{id}", "delete", "DELETE"),
            Link($"/workflow-definitions/{id}/execute", "execute", "POST"),
            Link($"/workflow-definitions/{id}/export", "export", "GET"),
            Link("/workflow-definitions/import", "import", "POST"),
        ];
    }

    /// <summary>Top-level links of the definition list; without <c>bulk-publish</c> Studio disables "Create workflow".</summary>
    public static JsonArray ListLinks() =>
    [
        Link("/bulk-actions/publish/workflow-definitions/by-definition-ids", "bulk-publish", "POST"),
        Link("/bulk-actions/retract/workflow-definitions/by-definition-ids", "bulk-retract", "POST"),
        Link("/bulk-actions/delete/workflow-definitions/by-definition-id", "bulk-delete", "POST"),
        Link("/workflow-definitions/import", "import", "POST"),
    ];

    private static JsonObject Link(string href, string rel, string method) => new() { ["href"] = href, ["rel"] = rel, ["method"] = method };

    /// <summary>The full definition as the editor and viewer read it.</summary>
    public static JsonObject ToModel(WorkflowDefinition definition, bool withLinks = true)
    {
        var node = JsonSerializer.SerializeToNode(definition, WorkflowJson.Options)!.AsObject();
        node["options"] ??= new JsonObject { ["autoUpdateConsumingWorkflows"] = false };
        node["customProperties"] ??= new JsonObject();
        var codeFirst = CodeFirstDefinitions.IsCodeFirst(definition);
        node["materializerName"] = MaterializerName(definition);
        node["isMaterializerAvailable"] = true;
        if (node["root"] is JsonObject root) AssignNodeIds(root, RootNodePrefix);
        if (withLinks) node["links"] = Links(definition.DefinitionId, codeFirst);
        else node.Remove("links");
        return node;
    }

    /// <summary>A definition list row (<c>WorkflowDefinitionSummary</c>).</summary>
    public static JsonObject ToSummary(WorkflowDefinition definition) => new()
    {
        ["id"] = definition.Id,
        ["definitionId"] = definition.DefinitionId,
        ["name"] = definition.Name,
        ["description"] = definition.Description,
        ["version"] = definition.Version,
        ["toolVersion"] = definition.ToolVersion,
        ["isLatest"] = definition.IsLatest,
        ["isPublished"] = definition.IsPublished,
        ["isReadonly"] = definition.IsReadonly,
        ["isSystem"] = definition.IsSystem,
        ["providerName"] = CodeFirstDefinitions.IsCodeFirst(definition) ? "ClrWorkflowProvider" : "Default",
        ["materializerName"] = MaterializerName(definition),
        ["isMaterializerAvailable"] = true,
        ["createdAt"] = definition.CreatedAt,
        ["links"] = Links(definition.DefinitionId, CodeFirstDefinitions.IsCodeFirst(definition)),
    };

    private static string MaterializerName(WorkflowDefinition definition) =>
        CodeFirstDefinitions.IsCodeFirst(definition) ? CodeFirstDefinitions.MaterializerName : "Json";

    /// <summary>
    /// Node ids are paths (<c>Workflow1:Flowchart1:SendSms1</c>). Studio builds them for dropped nodes from the
    /// parent's, so the root must carry one; ids already present are kept.
    /// </summary>
    public static void AssignNodeIds(JsonObject activity, string parentNodeId)
    {
        var id = (string?)activity["id"];
        if (string.IsNullOrEmpty(id)) return;
        if (activity["nodeId"] is not JsonValue existing || string.IsNullOrEmpty((string?)existing))
            activity["nodeId"] = parentNodeId + ":" + id;
        var nodeId = (string)activity["nodeId"]!;
        if (activity["activities"] is JsonArray children)
        {
            foreach (var child in children.OfType<JsonObject>()) AssignNodeIds(child, nodeId);
        }
    }

    /// <summary>
    /// Reads a definition sent by Studio or an import. Studio's create dialog sends explicit nulls for lists and
    /// objects (<c>"variables":null</c>, <c>"definitionId":null</c>); they mean "empty / new", not "null".
    /// </summary>
    public static WorkflowDefinition FromModel(JsonNode model)
    {
        var copy = model.DeepClone().AsObject();
        foreach (var key in copy.Where(p => p.Value is null).Select(p => p.Key).ToList()) copy.Remove(key);
        copy.Remove("links");
        // Only code-first workflows are read-only; a saved or imported copy of one (e.g. its export) is an ordinary,
        // editable JSON definition.
        copy.Remove("isReadonly");
        copy.Remove("materializerName");
        if (copy["root"] is JsonObject root)
        {
            root["activities"] ??= new JsonArray();
            root["connections"] ??= new JsonArray();
        }
        return JsonSerializer.Deserialize<WorkflowDefinition>(copy, WorkflowJson.Options)
               ?? throw new JsonException("The workflow definition is null.");
    }
}
