using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SmsActivities.Vendors.Smtp;

/// <summary>
/// Email through any SMTP server, with MailKit. One connection per send; each recipient gets its own message in it
/// (see <see cref="SmtpMessageBuilder"/>), so one refused address does not fail the others. Nothing is retried: SMTP
/// has no idempotency key, so a message whose answer was lost after its content went out may have been queued (it is
/// reported <see cref="EmailRecipientResult.InDoubt"/>), and a refused login stays refused.
/// MailKit's protocol log is never enabled: it would carry the AUTH exchange.
/// </summary>
public sealed class SmtpEmailSender(IOptions<SmtpOptions> options, ILogger<SmtpEmailSender> logger) : IEmailSender
{
    private readonly SmtpOptions _options = options.Value;

    public string Vendor => VendorNames.Smtp;

    public VendorCapabilities Capabilities => VendorCapabilities.Email;

    public async Task<EmailReceipt> SendEmailAsync(EmailMessage message, CancellationToken cancellationToken = default)
    {
        var from = SmtpMessageBuilder.Validate(message, _options);
        using var client = new SmtpClient { Timeout = (int)_options.Timeout.TotalMilliseconds };
        if (_options.AcceptAnyCertificate) client.ServerCertificateValidationCallback = static (_, _, _, _) => true;
        await OpenAsync(client, cancellationToken).ConfigureAwait(false);

        var results = new List<EmailRecipientResult>(message.To.Count);
        foreach (var to in message.To)
        {
            if (!client.IsConnected)
            {
                results.Add(new EmailRecipientResult(to, false, null, "not sent: the SMTP connection was lost before this recipient") { Failure = VendorFailureKind.Transient });
                continue;
            }
            var mime = SmtpMessageBuilder.Build(message, from, to);
            var data = new DataProgress();
            try
            {
                await client.SendAsync(mime, cancellationToken, data).ConfigureAwait(false);
                results.Add(new EmailRecipientResult(to, true, mime.MessageId));
            }
            catch (SmtpCommandException ex)
            {
                // The server refused this message (a recipient, the sender or the content): others may still go.
                results.Add(new EmailRecipientResult(to, false, null, $"[{(int)ex.StatusCode}] {ex.Message}")
                {
                    Failure = (int)ex.StatusCode is >= 400 and < 500 ? VendorFailureKind.Transient : VendorFailureKind.Rejected,
                });
            }
            catch (Exception ex) when (ex is IOException or SmtpProtocolException or SocketException or TimeoutException)
            {
                logger.LogWarning("SMTP connection to {Host}:{Port} lost while sending: {Error}", _options.Host, _options.Port, ex.Message);
                // Once the whole message is transmitted, the server may have queued it although its answer is lost: in
                // doubt, not sent again. Before that (envelope, or part of the content) a server takes nothing: not sent.
                results.Add(data.Transmitted
                    ? new EmailRecipientResult(to, false, mime.MessageId, $"outcome unknown: the connection was lost after the message was transmitted, before the server answered ({ex.Message}); not sent again") { InDoubt = true }
                    : new EmailRecipientResult(to, false, null, $"not sent: the connection was lost before the message was transmitted ({ex.Message})") { Failure = VendorFailureKind.Transient });
            }
        }
        if (client.IsConnected)
        {
            try
            {
                await client.DisconnectAsync(quit: true, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SmtpProtocolException or SocketException or TimeoutException)
            {
                // Every message already has its answer; a failed QUIT changes none of them.
            }
        }
        return new EmailReceipt(Vendor, results);
    }

    /// <summary>How much of a message's content MailKit has written during DATA (or BDAT).</summary>
    private sealed class DataProgress : ITransferProgress
    {
        private long _transferred;
        private long? _total;

        /// <summary>True once the whole content went out: only then can the server have queued the message.</summary>
        public bool Transmitted => _transferred > 0 && (_total is not { } total || _transferred >= total);

        public void Report(long bytesTransferred, long totalSize)
        {
            _transferred = bytesTransferred;
            _total = totalSize;
        }

        public void Report(long bytesTransferred) => _transferred = bytesTransferred;
    }

    /// <summary>Connects and logs in. Failures here happen before any message left, so they are whole-send errors.</summary>
    private async Task OpenAsync(SmtpClient client, CancellationToken cancellationToken)
    {
        var security = _options.Security switch
        {
            SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
            SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
            _ => SecureSocketOptions.None,
        };
        try
        {
            await client.ConnectAsync(_options.Host!, _options.Port, security, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException or SmtpProtocolException or SslHandshakeException)
        {
            throw new VendorException(Vendor, null, $"could not connect to the SMTP server {_options.Host}:{_options.Port} ({_options.Security}): {ex.Message}", VendorFailureKind.Transient, inner: ex);
        }
        catch (NotSupportedException ex)
        {
            // StartTls asked for, but the server does not offer it: sending in plain text instead would leak the login.
            throw new VendorException(Vendor, null, $"the SMTP server {_options.Host}:{_options.Port} does not support {_options.Security}: {ex.Message}", VendorFailureKind.Rejected, inner: ex);
        }

        if (string.IsNullOrEmpty(_options.UserName)) return;
        try
        {
            // One mechanism only: MailKit would otherwise try the next offered mechanism after a refusal, and each try
            // is one more failed login on the account (servers lock accounts or ban addresses after a few).
            var credentials = new System.Net.NetworkCredential(_options.UserName, _options.Password);
            if (client.AuthenticationMechanisms.Contains("PLAIN"))
                await client.AuthenticateAsync(new SaslMechanismPlain(credentials), cancellationToken).ConfigureAwait(false);
            else if (client.AuthenticationMechanisms.Contains("LOGIN"))
                await client.AuthenticateAsync(new SaslMechanismLogin(credentials), cancellationToken).ConfigureAwait(false);
            else
                await client.AuthenticateAsync(credentials, cancellationToken).ConfigureAwait(false);
        }
        catch (AuthenticationException ex)
        {
            logger.LogError("The SMTP server {Host}:{Port} refused the configured login (Vendors:Smtp:UserName/Password)", _options.Host, _options.Port);
            throw new VendorException(Vendor, "535", $"the SMTP server refused the configured login (Vendors:Smtp:UserName/Password): {ex.Message}", VendorFailureKind.Rejected, inner: ex);
        }
        catch (NotSupportedException ex)
        {
            throw new VendorException(Vendor, null, $"the SMTP server {_options.Host}:{_options.Port} offers no login, but Vendors:Smtp:UserName is set: {ex.Message}", VendorFailureKind.Rejected, inner: ex);
        }
    }
}
