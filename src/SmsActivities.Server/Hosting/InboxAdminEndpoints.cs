using Microsoft.Extensions.Options;
using SmsActivities.ElsaApi;
using SmsActivities.Inbox;

namespace SmsActivities.Server.Hosting;

/// <summary>
/// The operator's path to pushes the inbox set aside (<c>/admin/inbox/dead-letters</c>): list them with their error, and
/// queue one again once its cause is mended. Behind the management API's authorization (its key, or the host's policy).
/// </summary>
public static class InboxAdminEndpoints
{
    private const int MaxPageSize = 500;

    public static IEndpointRouteBuilder MapInboxAdmin(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/admin/inbox").WithTags("Admin")
            .RequireAuthorization(routes.ServiceProvider.GetRequiredService<IOptions<ElsaApiOptions>>().Value.AuthorizationPolicy!);
        // Oldest first, a page at a time: the body is the page (an array), and a Link header names the next page while one is left.
        admin.MapGet("/dead-letters", async (long? after, int? limit, HttpResponse response, PushInboxDeadLetters deadLetters, CancellationToken ct) =>
        {
            if (limit is < 1 or > MaxPageSize)
                return Results.Problem($"limit: a page holds 1 to {MaxPageSize} pushes, got {limit}", statusCode: StatusCodes.Status400BadRequest);
            if (after is < 0) return Results.Problem($"after: an id (0 or more), got {after}", statusCode: StatusCodes.Status400BadRequest);
            var size = limit ?? MaxPageSize;
            var page = await deadLetters.ListAsync(after ?? 0, size, ct).ConfigureAwait(false);
            if (page.NextAfter is { } next) response.Headers.Link = $"<{response.HttpContext.Request.PathBase}/admin/inbox/dead-letters?after={next}&limit={size}>; rel=\"next\"";
            return Results.Ok(page.Items);
        });
        admin.MapPost("/dead-letters/{id:long}/retry", async (long id, PushInboxDeadLetters deadLetters, CancellationToken ct) =>
            await deadLetters.RetryAsync(id, ct).ConfigureAwait(false)
                ? Results.Accepted()
                : Results.Problem($"id: no set-aside push {id}", statusCode: StatusCodes.Status404NotFound));
        return routes;
    }
}
