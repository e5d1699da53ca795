using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SmsActivities.Emulators.Smtp;

public static class SmtpMailboxEndpoints
{
    /// <summary>
    /// <c>GET {prefix}/_mailbox/{address}/messages</c>: what the SMTP emulator delivered to one address, oldest first,
    /// as a sandbox user reads their inbox (the email counterpart of the handset inbox); <c>POST {prefix}/_mailbox/_faults</c>
    /// (<see cref="SmtpFaultsRequest"/>): dropped connections, in the standalone emulator and in sandbox mode alike.
    /// </summary>
    public static IEndpointRouteBuilder MapSmtpMailbox(this IEndpointRouteBuilder routes, SmtpEmulator smtp, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(smtp);
        routes.MapGet($"{prefix}/_mailbox/{{address}}/messages", (string address) =>
                System.Net.Mail.MailAddress.TryCreate(address, out var parsed) && parsed.Address == address.Trim()
                    ? Results.Json(smtp.MailboxOf(parsed.Address))
                    : Results.BadRequest(new { field = "address", error = "is not an email address" }))
            .WithTags("Sandbox");
        routes.MapPost($"{prefix}/_mailbox/_faults", (SmtpFaultsRequest request) =>
            {
                if (request.DropAfterData < 0) return Results.BadRequest(new { field = "dropAfterData", error = "must be 0 or more" });
                if (request.DropAtRecipient < 0) return Results.BadRequest(new { field = "dropAtRecipient", error = "must be 0 or more" });
                smtp.DropAfterData(request.DropAfterData);
                smtp.DropAtRecipient(request.DropAtRecipient);
                return Results.Ok(request);
            })
            .WithTags("Sandbox");
        return routes;
    }
}

/// <summary>
/// Body of <c>POST {prefix}/_mailbox/_faults</c>: how many of the next messages the SMTP emulator queues and then drops
/// the connection before answering (the sender cannot know: in doubt), and how many RCPT TO commands drop it (nothing
/// sent). Zeros clear them.
/// </summary>
public sealed record SmtpFaultsRequest(int DropAfterData = 0, int DropAtRecipient = 0);
