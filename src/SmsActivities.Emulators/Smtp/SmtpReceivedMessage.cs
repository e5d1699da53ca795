using MimeKit;

namespace SmsActivities.Emulators.Smtp;

/// <summary>One message the SMTP emulator accepted, as the mailbox of each recipient shows it.</summary>
/// <param name="Recipients">The envelope recipients (RCPT TO), which are who actually gets it, whatever the headers say.</param>
/// <param name="MessageId">The Message-Id header, without angle brackets.</param>
/// <param name="Tls">Whether the message came over TLS (STARTTLS or implicit).</param>
/// <param name="AuthenticatedAs">The login that sent it, or null without AUTH.</param>
public sealed record SmtpReceivedMessage(
    string EnvelopeFrom,
    IReadOnlyList<string> Recipients,
    string? MessageId,
    string? From,
    string? Subject,
    string? TextBody,
    string? HtmlBody,
    IReadOnlyList<string> AttachmentNames,
    bool Tls,
    string? AuthenticatedAs,
    DateTimeOffset At)
{
    internal static SmtpReceivedMessage Parse(byte[] data, string envelopeFrom, IReadOnlyList<string> recipients, bool tls, string? user, DateTimeOffset at)
    {
        using var stream = new MemoryStream(data, writable: false);
        var mime = MimeMessage.Load(stream);
        return new SmtpReceivedMessage(envelopeFrom, recipients, mime.MessageId, mime.From.ToString(), mime.Subject, mime.TextBody, mime.HtmlBody,
            mime.Attachments.Select(a => a.ContentDisposition?.FileName ?? a.ContentType.Name ?? "attachment").ToArray(), tls, user, at);
    }
}
