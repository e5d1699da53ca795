namespace SmsActivities.Server.ElsaApi;

/// <summary>The subset of the Elsa 3 server HTTP API that Elsa Studio 3.8 uses (see docs/architecture.md, "The Elsa server API Studio uses").</summary>
internal static class ElsaApiEndpoints
{
    internal static IServiceCollection AddElsaApiServices(this IServiceCollection services) => services.AddSingleton<ExecutionRecordIndex>().AddSingleton<CodeFirstDefinitions>().AddSingleton<StudioModels>();

    internal static RouteGroupBuilder MapElsaApiEndpoints(this IEndpointRouteBuilder routes, string prefix)
    {
        var api = routes.MapGroup(prefix).WithTags("Elsa API");

        DescriptorEndpoints.Map(api);
        DefinitionEndpoints.Map(api);
        InstanceEndpoints.Map(api);
        ScriptingEndpoints.Map(api);
        TestEndpoints.Map(api);
        AlterationEndpoints.Map(api);

        // No SignalR hub: an empty feature catalog makes Studio poll execution-state instead.
        api.MapGet("/features/installed", () => ElsaJson.List(Array.Empty<object>()));
        api.MapGet("/package/version", () => ElsaJson.Ok(new { packageVersion = typeof(ElsaApiEndpoints).Assembly.GetName().Version?.ToString() ?? "0.0.0" }));

        return api;
    }
}
