using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Activities.BuiltIn;

/// <summary>
/// The indexed key under which an <see cref="HttpEndpoint"/> trigger or bookmark is stored, so a request finds its
/// endpoints with one indexed lookup instead of reading every HTTP payload. A template is keyed by its method, its
/// number of segments and its literal segments before the first route parameter (<c>orders/{id}/confirm</c> →
/// <c>GET 3 orders</c>); a request path of n segments can only match templates under one of its n + 1 prefixes.
/// </summary>
internal static class HttpRouteKey
{
    private static readonly string HttpEndpointType = ActivityTypeInfo.TypeNameOf(typeof(HttpEndpoint));

    /// <summary>The key of a stored trigger or bookmark; null for any other kind of payload.</summary>
    public static string? Of(string name, JsonNode? payload)
    {
        if (name != HttpEndpointType || payload is null) return null;
        var endpoint = payload.Deserialize<HttpEndpointPayload>(WorkflowJson.Options);
        return endpoint is null ? null : ForTemplate(endpoint.Method, endpoint.Path);
    }

    /// <inheritdoc cref="Of(string, JsonNode?)"/>
    public static string? Of(string name, string? payloadJson) => name == HttpEndpointType && payloadJson != null ? Of(name, JsonNode.Parse(payloadJson)) : null;

    public static string ForTemplate(string method, string template)
    {
        var segments = Segments(template);
        var literal = segments.TakeWhile(s => !(s.StartsWith('{') && s.EndsWith('}'))).ToList();
        return Key(method, segments.Length, literal);
    }

    /// <summary>Every key a template matching <paramref name="path"/> can have: one per literal prefix of the path.</summary>
    public static IReadOnlyList<string> ForRequest(string method, string path)
    {
        var segments = Segments(path);
        return Enumerable.Range(0, segments.Length + 1).Select(n => Key(method, segments.Length, segments.Take(n))).ToList();
    }

    private static string[] Segments(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);

    // Literal segments match case-insensitively; hashed so a long path still makes a short, fixed-size index key.
    private static string Key(string method, int count, IEnumerable<string> literal)
    {
        var text = method.ToUpperInvariant() + " " + count + " " + string.Join('/', literal).ToLowerInvariant();
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];
    }
}
