using System.ComponentModel.DataAnnotations;

namespace SmsActivities.Vendors.Smtp;

/// <summary>How the connection to the SMTP server is secured.</summary>
public enum SmtpSecurity
{
    /// <summary>Plain text throughout (a relay on the same host or network only).</summary>
    None,
    /// <summary>Connects in plain text and upgrades with STARTTLS before anything else is said; fails when the server does not offer it.</summary>
    StartTls,
    /// <summary>TLS from the first byte (port 465).</summary>
    SslOnConnect,
}

/// <summary>An SMTP account (a mail relay or a provider's submission server). Bound from <c>Vendors:Smtp</c>.</summary>
public sealed class SmtpOptions : IValidatableObject
{
    [Required(ErrorMessage = "Vendors:Smtp:Host is required (the SMTP server's host name).")]
    public string? Host { get; set; }

    [Range(1, 65535, ErrorMessage = "Vendors:Smtp:Port must be a TCP port (1-65535).")]
    public int Port { get; set; } = 587;

    public SmtpSecurity Security { get; set; } = SmtpSecurity.StartTls;

    /// <summary>Login; when empty the server is used without authentication.</summary>
    public string? UserName { get; set; }

    /// <summary>Only ever handed to the SMTP server's AUTH exchange; never logged or put into an error.</summary>
    public string? Password { get; set; }

    /// <summary>The sender address (<c>From</c>) when a message names none; also the domain of the generated Message-Ids.</summary>
    [Required(ErrorMessage = "Vendors:Smtp:From is required (the sender address).")]
    public string? From { get; set; }

    /// <summary>Time allowed for connecting and for each SMTP command.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00", ErrorMessage = "Vendors:Smtp:Timeout must be between 1 second and 5 minutes.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Accept a server certificate that does not chain to a trusted root (a self-signed relay). Off by default;
    /// sandbox mode turns it on for its own emulator only.
    /// </summary>
    public bool AcceptAnyCertificate { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (From is not null && !System.Net.Mail.MailAddress.TryCreate(From, out _))
            yield return new ValidationResult("Vendors:Smtp:From must be an email address.", [nameof(From)]);
        if (string.IsNullOrEmpty(UserName) != string.IsNullOrEmpty(Password))
            yield return new ValidationResult("Vendors:Smtp:UserName and Vendors:Smtp:Password are set together or not at all.", [nameof(UserName), nameof(Password)]);
    }
}
