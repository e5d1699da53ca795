using System.Net.Security;
using System.Text;

namespace SmsActivities.Emulators.Smtp;

/// <summary>One client connection to the <see cref="SmtpEmulator"/>: the RFC 5321 command loop, STARTTLS and AUTH.</summary>
internal sealed class SmtpSession(SmtpEmulator server, Stream network)
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(2);

    private readonly List<string> _recipients = [];
    private Stream _stream = network;
    private readonly SmtpLineReader _reader = new(network);
    private bool _tls;
    private bool _greeted;
    private string? _user;
    private string? _envelopeFrom;
    private CancellationTokenSource? _idle;

    private SmtpEmulatorOptions Options => server.Options;

    private bool LoginRequired => !string.IsNullOrEmpty(Options.UserName);

    public async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            await ConverseAsync(stopping).ConfigureAwait(false);
        }
        finally
        {
            _idle?.Dispose();
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task ConverseAsync(CancellationToken stopping)
    {
        if (Options.ImplicitTls) await StartTlsAsync(stopping).ConfigureAwait(false);
        await ReplyAsync("220 localhost SmsActivities SMTP emulator ready", stopping).ConfigureAwait(false);
        while (true)
        {
            var line = await ReadAsync(stopping).ConfigureAwait(false);
            if (line is null) return;
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var verb = (space < 0 ? line : line[..space]).ToUpperInvariant();
            var argument = space < 0 ? string.Empty : line[(space + 1)..].Trim();
            var reply = verb switch
            {
                "EHLO" => Ehlo(),
                "HELO" => Helo(),
                "STARTTLS" => await StartTlsCommandAsync(stopping).ConfigureAwait(false),
                "AUTH" => await AuthAsync(argument, stopping).ConfigureAwait(false),
                "MAIL" => Mail(argument),
                "RCPT" => Rcpt(argument),
                "DATA" => await DataAsync(stopping).ConfigureAwait(false),
                "RSET" => Reset("250 2.0.0 OK"),
                "NOOP" => "250 2.0.0 OK",
                "VRFY" => "252 2.5.0 Cannot verify, but will accept",
                "QUIT" => null,
                _ => "500 5.5.2 Command not recognized",
            };
            if (reply is null)
            {
                await ReplyAsync("221 2.0.0 Bye", stopping).ConfigureAwait(false);
                return;
            }
            if (reply.Length > 0) await ReplyAsync(reply, stopping).ConfigureAwait(false);
        }
    }

    private string Ehlo()
    {
        _greeted = true;
        Reset(string.Empty);
        var lines = new List<string> { "localhost", $"SIZE {Options.MaxMessageBytes}", "8BITMIME" };
        if (Options.Certificate is not null && !_tls) lines.Add("STARTTLS");
        if (LoginRequired) lines.Add("AUTH PLAIN LOGIN");
        return string.Join("\r\n", lines.Select((l, i) => (i == lines.Count - 1 ? "250 " : "250-") + l));
    }

    private string Helo()
    {
        _greeted = true;
        return Reset("250 localhost");
    }

    /// <returns>An empty string: the 220 is already sent before the handshake.</returns>
    private async Task<string> StartTlsCommandAsync(CancellationToken cancellationToken)
    {
        if (Options.Certificate is null) return "502 5.5.1 STARTTLS not offered";
        if (_tls) return "503 5.5.1 TLS already active";
        await ReplyAsync("220 2.0.0 Ready to start TLS", cancellationToken).ConfigureAwait(false);
        await StartTlsAsync(cancellationToken).ConfigureAwait(false);
        // RFC 3207: the client starts over with EHLO, and nothing said before the handshake counts.
        _greeted = false;
        _user = null;
        Reset(string.Empty);
        return string.Empty;
    }

    private async Task StartTlsAsync(CancellationToken cancellationToken)
    {
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = Options.Certificate }, cancellationToken).ConfigureAwait(false);
        _stream = ssl;
        _reader.Reset(ssl);
        _tls = true;
    }

    private async Task<string> AuthAsync(string argument, CancellationToken cancellationToken)
    {
        if (!LoginRequired) return "502 5.5.1 AUTH not offered";
        if (!_greeted) return "503 5.5.1 EHLO first";
        if (_user is not null) return "503 5.5.1 Already authenticated";
        var parts = argument.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        var mechanism = parts.Length > 0 ? parts[0].ToUpperInvariant() : string.Empty;
        string? user, password;
        switch (mechanism)
        {
            case "PLAIN":
                var response = parts.Length > 1 ? parts[1] : await ChallengeAsync(string.Empty, cancellationToken).ConfigureAwait(false);
                if (response is null) return "501 5.7.0 Authentication cancelled";
                // authzid \0 authcid \0 passwd
                var fields = Decode(response)?.Split('\0');
                if (fields is not { Length: 3 }) return "501 5.5.2 Malformed AUTH PLAIN response";
                (user, password) = (fields[1], fields[2]);
                break;
            case "LOGIN":
                var userLine = parts.Length > 1 ? parts[1] : await ChallengeAsync("VXNlcm5hbWU6", cancellationToken).ConfigureAwait(false);
                user = userLine is null ? null : Decode(userLine);
                if (user is null) return "501 5.7.0 Authentication cancelled";
                var passwordLine = await ChallengeAsync("UGFzc3dvcmQ6", cancellationToken).ConfigureAwait(false);
                password = passwordLine is null ? null : Decode(passwordLine);
                if (password is null) return "501 5.7.0 Authentication cancelled";
                break;
            default:
                return "504 5.5.4 Unrecognized authentication type";
        }
        var succeeded = user == Options.UserName && password == Options.Password;
        server.CountAuth(succeeded);
        if (!succeeded) return "535 5.7.8 Authentication credentials invalid";
        _user = user;
        return "235 2.7.0 Authentication successful";
    }

    /// <returns>The client's answer, or null when it cancelled the exchange with <c>*</c>.</returns>
    private async Task<string?> ChallengeAsync(string challenge, CancellationToken cancellationToken)
    {
        await ReplyAsync("334 " + challenge, cancellationToken).ConfigureAwait(false);
        var line = await ReadAsync(cancellationToken).ConfigureAwait(false) ?? throw new IOException("connection closed during AUTH");
        return line == "*" ? null : line;
    }

    private static string? Decode(string base64)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(base64));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private string Mail(string argument)
    {
        if (!_greeted) return "503 5.5.1 EHLO first";
        if (LoginRequired && _user is null) return "530 5.7.0 Authentication required";
        if (_envelopeFrom is not null) return "503 5.5.1 Sender already given";
        var address = PathOf(argument, "FROM:");
        if (address is null) return "501 5.5.4 Syntax: MAIL FROM:<address>";
        _envelopeFrom = address;
        return "250 2.1.0 Sender OK";
    }

    private string Rcpt(string argument)
    {
        if (_envelopeFrom is null) return "503 5.5.1 MAIL first";
        var address = PathOf(argument, "TO:");
        if (string.IsNullOrEmpty(address)) return "501 5.5.4 Syntax: RCPT TO:<address>";
        if (server.IsRefused(address)) return "550 5.1.1 Mailbox unavailable";
        if (server.TakeDropAtRecipient()) throw new IOException("fault: connection dropped at RCPT TO");
        _recipients.Add(address);
        return "250 2.1.5 Recipient OK";
    }

    private async Task<string> DataAsync(CancellationToken cancellationToken)
    {
        if (_envelopeFrom is null || _recipients.Count == 0) return "503 5.5.1 RCPT first";
        await ReplyAsync("354 End data with <CR><LF>.<CR><LF>", cancellationToken).ConfigureAwait(false);
        using var data = new MemoryStream();
        var tooLarge = false;
        while (true)
        {
            var line = await _reader.ReadLineAsync(Idle(cancellationToken)).ConfigureAwait(false) ?? throw new IOException("connection closed during DATA");
            if (line is [(byte)'.']) break;
            if (tooLarge) continue;
            // Dot-stuffing: a line the client started with '.' had one more '.' put in front.
            var content = line is [(byte)'.', ..] ? line.AsSpan(1) : line;
            data.Write(content);
            data.Write("\r\n"u8);
            tooLarge = data.Length > Options.MaxMessageBytes;
        }
        if (tooLarge) return Reset("552 5.3.4 Message too big");
        var message = SmtpReceivedMessage.Parse(data.ToArray(), _envelopeFrom, [.. _recipients], _tls, _user, server.Time.GetUtcNow());
        server.Record(message);
        if (server.TakeDropAfterData()) throw new IOException("fault: connection dropped after the message was queued, before the answer");
        return Reset($"250 2.0.0 OK queued as {message.MessageId}");
    }

    private string Reset(string reply)
    {
        _envelopeFrom = null;
        _recipients.Clear();
        return reply;
    }

    /// <summary>The address inside <c>FROM:&lt;a@b&gt; SIZE=…</c>; empty for the null sender <c>&lt;&gt;</c>; null when malformed.</summary>
    private static string? PathOf(string argument, string keyword)
    {
        if (!argument.StartsWith(keyword, StringComparison.OrdinalIgnoreCase)) return null;
        var rest = argument[keyword.Length..].TrimStart();
        var open = rest.IndexOf('<', StringComparison.Ordinal);
        var close = rest.IndexOf('>', StringComparison.Ordinal);
        if (open != 0 || close < open) return null;
        return rest[1..close].Trim();
    }

    private async Task<string?> ReadAsync(CancellationToken cancellationToken)
    {
        var line = await _reader.ReadLineAsync(Idle(cancellationToken)).ConfigureAwait(false);
        return line is null ? null : Encoding.UTF8.GetString(line);
    }

    private async Task ReplyAsync(string reply, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(reply + "\r\n"), cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A silent client is dropped after <see cref="IdleTimeout"/>, so an abandoned connection does not hold a session forever.</summary>
    private CancellationToken Idle(CancellationToken stopping)
    {
        _idle ??= CancellationTokenSource.CreateLinkedTokenSource(stopping);
        _idle.CancelAfter(IdleTimeout); // restarts the countdown on every read
        return _idle.Token;
    }
}
