using System.Text.Json.Nodes;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.ElsaApi;

/// <summary>Descriptor lookups (docs/architecture.md, "The Elsa server API Studio uses"). Activity descriptors come from the runtime's registry.</summary>
public static class DescriptorEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var descriptors = api.MapGroup("/descriptors").WithTags("Descriptors");
        // Studio re-reads the toolbox after every save (?Refresh=True); the registry is always current.
        descriptors.MapGet("/activities", (ActivityRegistry registry, IServiceProvider services) => ElsaJson.List(registry.GetDescriptors(services).ToList()));
        descriptors.MapGet("/expression-descriptors", () => ElsaJson.List(StaticDescriptors.Expressions.ToList()));
        descriptors.MapGet("/variables", () => ElsaJson.Items(StaticDescriptors.VariableTypes.ToList()));
        descriptors.MapGet("/storage-drivers", () => ElsaJson.Items(StaticDescriptors.StorageDrivers.ToList()));
        descriptors.MapGet("/workflow-activation-strategies", () => ElsaJson.List(StaticDescriptors.ActivationStrategies.ToList()));
        descriptors.MapGet("/incident-strategies", () => ElsaJson.List(StaticDescriptors.IncidentStrategies.ToList()));
        descriptors.MapGet("/log-persistence-strategies", () => ElsaJson.List(StaticDescriptors.LogPersistenceStrategies.ToList()));
        descriptors.MapGet("/commit-strategies/workflows", () => ElsaJson.List(StaticDescriptors.CommitStrategies.ToList()));
        descriptors.MapGet("/commit-strategies/activities", () => ElsaJson.List(StaticDescriptors.CommitStrategies.ToList()));
        descriptors.MapGet("/output-converters", () => ElsaJson.Items(Array.Empty<object>()));
        descriptors.MapPost("/activities/{activityTypeName}/options/{propertyName}", OptionsAsync);
    }

    /// <summary>
    /// Studio asks for an input's choices when its descriptor says <c>"Refresh":true</c>, sending only the activity's
    /// own input values. Choices that depend on the workflow (e.g. its SendSms activities) come from the definition
    /// open in the editor: Studio's page address (the request's <c>Referer</c>, same origin) names it.
    /// </summary>
    private static async Task<IResult> OptionsAsync(
        string activityTypeName, string propertyName, HttpRequest request, ActivityRegistry registry, IServiceProvider services,
        WorkflowDefinitionService definitions, CodeFirstDefinitions codeFirst, CancellationToken ct)
    {
        var input = registry.Find(activityTypeName)?.Inputs.FirstOrDefault(i => string.Equals(i.Name, propertyName, StringComparison.OrdinalIgnoreCase));
        if (input is null) return DefinitionEndpoints.NotFound("activity input", $"{activityTypeName}.{propertyName}");
        var definition = EditedDefinitionId(request) is { } id ? await definitions.GetAsync(id, VersionOptions.Latest, ct) ?? codeFirst.Find(id) : null;
        var specification = definition is null
            ? ActivityRegistry.Describe(registry.Find(activityTypeName)!, services).Inputs.First(i => i.Name == input.Name).UISpecifications
            : ActivityRegistry.WorkflowOptionsSpecification(input, definition, services);
        return ElsaJson.Node(new JsonObject { ["items"] = specification?.DeepClone() ?? new JsonObject() });
    }

    /// <summary>The definition id in Studio's editor address (<c>…/workflows/definitions/{id}/edit</c>).</summary>
    internal static string? EditedDefinitionId(HttpRequest request)
    {
        if (!Uri.TryCreate(request.Headers.Referer.ToString(), UriKind.Absolute, out var page)) return null;
        var segments = page.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var at = Array.IndexOf(segments, "definitions");
        return at > 0 && segments[at - 1] == "workflows" && at + 1 < segments.Length ? Uri.UnescapeDataString(segments[at + 1]) : null;
    }
}
