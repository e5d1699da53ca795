using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace SmsActivities.Emulators.Smtp;

/// <summary>
/// A small SMTP server on loopback that records what it is sent: plain, STARTTLS or implicit TLS, with AUTH PLAIN and
/// LOGIN when a login is configured. Each accepted message lands in the mailbox of every envelope recipient
/// (<see cref="MailboxOf"/>); sandbox mode shows those mailboxes over HTTP.
/// </summary>
public sealed class SmtpEmulator : IAsyncDisposable, IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly RecentLog<SmtpReceivedMessage> _messages = new(RecentLogs.SentMessages);
    private readonly ConcurrentDictionary<string, string> _refused = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<Task, bool> _sessions = new();
    private readonly ILogger _logger;
    private readonly Task _accepting;
    private int _authAttempts;
    private int _authFailures;
    private int _dropsAfterData;
    private int _dropsAtRecipient;
    private int _disposed;

    private SmtpEmulator(SmtpEmulatorOptions options, TimeProvider time, ILogger logger, int port)
    {
        if (options.ImplicitTls && options.Certificate is null) throw new ArgumentException("Implicit TLS needs a certificate", nameof(options));
        Options = options;
        Time = time;
        _logger = logger;
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>Starts listening on loopback at once, so the port is known before anything connects.</summary>
    /// <param name="port">0 picks a free port.</param>
    public static SmtpEmulator Start(SmtpEmulatorOptions? options = null, TimeProvider? time = null, ILogger? logger = null, int port = 0) =>
        new(options ?? new SmtpEmulatorOptions(), time ?? TimeProvider.System, logger ?? NullLogger.Instance, port);

    public SmtpEmulatorOptions Options { get; }

    internal TimeProvider Time { get; }

    public string Host => IPAddress.Loopback.ToString();

    public int Port { get; }

    /// <summary>Every accepted message, oldest first.</summary>
    public IReadOnlyList<SmtpReceivedMessage> Messages => _messages.ToArray();

    /// <summary>AUTH exchanges started and refused so far: a client that retries a refused login shows here.</summary>
    public int AuthAttempts => Volatile.Read(ref _authAttempts);

    public int AuthFailures => Volatile.Read(ref _authFailures);

    /// <summary>What <paramref name="address"/> received, oldest first (envelope recipients, compared without case).</summary>
    public IReadOnlyList<SmtpReceivedMessage> MailboxOf(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var wanted = address.Trim();
        return _messages.ToArray().Where(m => m.Recipients.Any(r => string.Equals(r, wanted, StringComparison.OrdinalIgnoreCase))).ToArray();
    }

    /// <summary>RCPT TO this address is answered 550 from now on (a mailbox that does not exist).</summary>
    public void RefuseRecipient(string address) => _refused[address.Trim()] = address;

    public void Clear() => _messages.Clear();

    /// <summary>
    /// The next <paramref name="count"/> messages are received and recorded in full, then the connection is closed
    /// before the server's answer: the message was queued, but the client cannot know it.
    /// </summary>
    public void DropAfterData(int count = 1) => Interlocked.Exchange(ref _dropsAfterData, count);

    /// <summary>The next <paramref name="count"/> RCPT TO commands close the connection: no content of the message was sent.</summary>
    public void DropAtRecipient(int count = 1) => Interlocked.Exchange(ref _dropsAtRecipient, count);

    internal bool TakeDropAfterData() => TakeOne(ref _dropsAfterData);

    internal bool TakeDropAtRecipient() => TakeOne(ref _dropsAtRecipient);

    private static bool TakeOne(ref int counter)
    {
        while (true)
        {
            var left = Volatile.Read(ref counter);
            if (left <= 0) return false;
            if (Interlocked.CompareExchange(ref counter, left - 1, left) == left) return true;
        }
    }

    /// <summary>A self-signed certificate for <paramref name="host"/> and 127.0.0.1, valid for a day, with its private key.</summary>
    public static X509Certificate2 CreateSelfSignedCertificate(string host = "localhost")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(host);
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        using var created = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        // Through PKCS#12 so the key is usable by SslStream on every platform, not only as an ephemeral key.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    internal bool IsRefused(string address) => _refused.ContainsKey(address);

    internal void Record(SmtpReceivedMessage message) => _messages.Add(message);

    internal void CountAuth(bool succeeded)
    {
        Interlocked.Increment(ref _authAttempts);
        if (!succeeded) Interlocked.Increment(ref _authFailures);
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            var session = RunSessionAsync(client);
            _sessions[session] = true;
            _ = session.ContinueWith(t => _sessions.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task RunSessionAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                await new SmtpSession(this, client.GetStream()).RunAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
            {
                _logger.LogDebug("SMTP emulator session ended: {Error}", ex.Message);
            }
        }
    }

    /// <summary>For hosts that dispose their services synchronously.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        await Task.WhenAll(_sessions.Keys).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
