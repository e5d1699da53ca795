using SmsActivities.Workflows.Activities;

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
    }
}
