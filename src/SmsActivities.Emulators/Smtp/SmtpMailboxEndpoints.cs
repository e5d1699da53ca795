using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SmsActivities.Emulators.Smtp;

public static class SmtpMailboxEndpoints
{
    /// <summary>
    /// <c>GET {prefix}/_mailbox/{address}/messages</c>: what the SMTP emulator delivered to one address, oldest first,
    /// as a sandbox user reads their inbox (the email counterpart of the handset inbox).
    /// </summary>
    public static IEndpointRouteBuilder MapSmtpMailbox(this IEndpointRouteBuilder routes, SmtpEmulator smtp, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(smtp);
        routes.MapGet($"{prefix}/_mailbox/{{address}}/messages", (string address) =>
                System.Net.Mail.MailAddress.TryCreate(address, out var parsed) && parsed.Address == address.Trim()
                    ? Results.Json(smtp.MailboxOf(parsed.Address))
                    : Results.BadRequest(new { field = "address", error = "is not an email address" }))
            .WithTags("Sandbox");
        return routes;
    }
}
