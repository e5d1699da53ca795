namespace SmsActivities.Server.ElsaApi;

/// <summary>The subset of the Elsa 3 server HTTP API that Elsa Studio 3.8 uses (see ../shared/ELSA-STUDIO.md §3–§5).</summary>
public static class ElsaApiEndpoints
{
    public static IServiceCollection AddElsaApi(this IServiceCollection services) => services;

    public static RouteGroupBuilder MapElsaApi(this IEndpointRouteBuilder routes, string prefix)
    {
        var api = routes.MapGroup(prefix).WithTags("Elsa API");

        var descriptors = api.MapGroup("/descriptors");
        descriptors.MapGet("/expression-descriptors", () => ElsaJson.List(StaticDescriptors.Expressions.ToList()));
        descriptors.MapGet("/variables", () => ElsaJson.Items(StaticDescriptors.VariableTypes.ToList()));
        descriptors.MapGet("/storage-drivers", () => ElsaJson.Items(StaticDescriptors.StorageDrivers.ToList()));
        descriptors.MapGet("/workflow-activation-strategies", () => ElsaJson.List(StaticDescriptors.ActivationStrategies.ToList()));
        descriptors.MapGet("/incident-strategies", () => ElsaJson.List(StaticDescriptors.IncidentStrategies.ToList()));
        descriptors.MapGet("/log-persistence-strategies", () => ElsaJson.List(StaticDescriptors.LogPersistenceStrategies.ToList()));
        descriptors.MapGet("/commit-strategies/workflows", () => ElsaJson.List(StaticDescriptors.CommitStrategies.ToList()));
        descriptors.MapGet("/commit-strategies/activities", () => ElsaJson.List(StaticDescriptors.CommitStrategies.ToList()));
        descriptors.MapGet("/output-converters", () => ElsaJson.Items(Array.Empty<object>()));

        // No SignalR hub: an empty feature catalog makes Studio poll execution-state instead.
        api.MapGet("/features/installed", () => ElsaJson.List(Array.Empty<object>()));
        api.MapGet("/package/version", () => ElsaJson.Ok(new { packageVersion = typeof(ElsaApiEndpoints).Assembly.GetName().Version?.ToString() ?? "0.0.0" }));

        return api;
    }
}
