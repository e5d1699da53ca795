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
    private const int MaxListed = 500;

    public static IEndpointRouteBuilder MapInboxAdmin(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/admin/inbox").WithTags("Admin")
            .RequireAuthorization(routes.ServiceProvider.GetRequiredService<IOptions<ElsaApiOptions>>().Value.AuthorizationPolicy!);
        admin.MapGet("/dead-letters", async (PushInboxDeadLetters deadLetters, CancellationToken ct) =>
            Results.Ok(await deadLetters.ListAsync(MaxListed, ct).ConfigureAwait(false)));
        admin.MapPost("/dead-letters/{id:long}/retry", async (long id, PushInboxDeadLetters deadLetters, CancellationToken ct) =>
            await deadLetters.RetryAsync(id, ct).ConfigureAwait(false)
                ? Results.Accepted()
                : Results.Problem($"id: no set-aside push {id}", statusCode: StatusCodes.Status404NotFound));
        return routes;
    }
}
