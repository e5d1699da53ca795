using System.Security.Cryptography.X509Certificates;

namespace SmsActivities.Emulators.Smtp;

/// <summary>How the SMTP emulator listens and whom it lets in.</summary>
public sealed record SmtpEmulatorOptions
{
    /// <summary>When set, STARTTLS is offered (or, with <see cref="ImplicitTls"/>, TLS starts on connect) with this certificate and its private key.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>TLS from the first byte (port-465 style) instead of STARTTLS; needs <see cref="Certificate"/>.</summary>
    public bool ImplicitTls { get; init; }

    /// <summary>When set with <see cref="Password"/>, AUTH PLAIN and LOGIN are offered and required before MAIL FROM.</summary>
    public string? UserName { get; init; }

    public string? Password { get; init; }

    /// <summary>Largest message accepted (advertised as SIZE); larger ones get 552.</summary>
    public int MaxMessageBytes { get; init; } = 10 * 1024 * 1024;
}
