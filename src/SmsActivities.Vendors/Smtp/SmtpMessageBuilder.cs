using MimeKit;
using MimeKit.Utils;

namespace SmsActivities.Vendors.Smtp;

/// <summary>
/// Turns the normalized <see cref="EmailMessage"/> into one MIME message per recipient: each person gets their own
/// <c>To</c> (no one sees the other recipients), their own placeholder values and their own Message-Id, which is
/// the receipt a later bounce or reply can be matched by.
/// </summary>
internal static class SmtpMessageBuilder
{
    /// <summary>Checks everything about <paramref name="message"/> before a connection is opened; names the field that is wrong.</summary>
    public static MailboxAddress Validate(EmailMessage message, SmtpOptions options)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.To is null || message.To.Count == 0) throw new VendorValidationException("to", "at least one recipient is required");
        for (var i = 0; i < message.To.Count; i++)
        {
            if (!IsAddress(message.To[i])) throw new VendorValidationException($"to[{i}]", "is not an email address");
        }
        if (string.IsNullOrWhiteSpace(message.Subject)) throw new VendorValidationException("subject", "a subject is required");
        if (string.IsNullOrWhiteSpace(message.HtmlContent) && string.IsNullOrWhiteSpace(message.TextContent))
            throw new VendorValidationException("htmlContent", "an HTML or a text body is required");
        for (var i = 0; i < message.Attachments.Count; i++)
        {
            var attachment = message.Attachments[i];
            if (string.IsNullOrWhiteSpace(attachment.FileName)) throw new VendorValidationException($"attachments[{i}].fileName", "must not be empty");
            if (!ContentType.TryParse(attachment.ContentType, out _)) throw new VendorValidationException($"attachments[{i}].contentType", "is not a MIME type (e.g. application/pdf)");
        }

        var fromAddress = string.IsNullOrWhiteSpace(message.From) ? options.From! : message.From.Trim();
        if (!IsAddress(fromAddress)) throw new VendorValidationException("from", "is not an email address");
        var from = MailboxAddress.Parse(fromAddress);
        if (!string.IsNullOrWhiteSpace(message.SenderName)) from.Name = message.SenderName.Trim();
        return from;
    }

    public static MimeMessage Build(EmailMessage message, MailboxAddress from, string to)
    {
        var values = message.Placeholders.GetValueOrDefault(to);
        var mime = new MimeMessage { Subject = Fill(message.Subject, values) };
        mime.From.Add(from);
        mime.To.Add(MailboxAddress.Parse(to));
        mime.MessageId = MimeUtils.GenerateMessageId(from.Domain is { Length: > 0 } domain ? domain : "localhost");
        var body = new BodyBuilder
        {
            HtmlBody = string.IsNullOrWhiteSpace(message.HtmlContent) ? null : Fill(message.HtmlContent, values),
            TextBody = string.IsNullOrWhiteSpace(message.TextContent) ? null : Fill(message.TextContent, values),
        };
        foreach (var attachment in message.Attachments)
            body.Attachments.Add(attachment.FileName, attachment.Content, ContentType.Parse(attachment.ContentType));
        mime.Body = body.ToMessageBody();
        return mime;
    }

    /// <summary>Placeholders are written <c>%name%</c> in the subject and bodies, as for the other email vendors.</summary>
    private static string Fill(string text, IReadOnlyDictionary<string, string>? values)
    {
        if (values is null) return text;
        foreach (var (name, value) in values) text = text.Replace($"%{name}%", value, StringComparison.Ordinal);
        return text;
    }

    private static bool IsAddress(string? value) =>
        !string.IsNullOrWhiteSpace(value) && MailboxAddress.TryParse(value, out var parsed) && parsed.Address.Contains('@', StringComparison.Ordinal);
}
