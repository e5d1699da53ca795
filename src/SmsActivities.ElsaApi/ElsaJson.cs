using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace SmsActivities.Server.ElsaApi;

/// <summary>
/// JSON as Elsa's server writes it and Studio's Refit client reads it: camelCase (case-sensitive on the client),
/// string enums, nulls omitted.
/// </summary>
public static class ElsaJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    public static IResult Ok(object value) => Results.Json(value, Options);

    /// <summary><c>ListResponse&lt;T&gt;</c>: <c>{"items":[…],"count":n}</c>.</summary>
    public static IResult List<T>(IReadOnlyCollection<T> items) => Results.Json(new { items, count = items.Count }, Options);

    /// <summary>A list without <c>count</c> (storage drivers, variable types answer that way).</summary>
    public static IResult Items<T>(IReadOnlyCollection<T> items) => Results.Json(new { items }, Options);

    public static IResult Node(JsonNode? node, int statusCode = StatusCodes.Status200OK) =>
        Results.Text(node?.ToJsonString(Options) ?? "null", "application/json", statusCode: statusCode);
}
