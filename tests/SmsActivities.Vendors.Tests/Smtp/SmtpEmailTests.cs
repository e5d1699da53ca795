using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmsActivities.Emulators.Smtp;
using SmsActivities.Vendors.Smtp;

namespace SmsActivities.Vendors.Tests.Smtp;

public sealed class SmtpEmailTests
{
    private const string User = "mailer@example.com";
    private const string Password = "s3cret-smtp-pass";

    [Fact]
    public async Task Plain_smtp_delivers_html_text_and_attachment_to_each_recipient_with_the_message_id_as_receipt()
    {
        await using var server = SmtpEmulator.Start();
        using var services = Build(server, "None");
        var sender = services.GetRequiredService<IEmailSender>();

        var receipt = await sender.SendEmailAsync(new EmailMessage
        {
            To = ["ann@example.com", "bob@example.com"],
            Subject = "Hello %name%",
            HtmlContent = "<p>Dear %name%</p>",
            TextContent = "Dear %name%",
            SenderName = "Acme Shop",
            Placeholders = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["ann@example.com"] = new Dictionary<string, string> { ["name"] = "Ann" } },
            Attachments = [new EmailAttachment("invoice.txt", "text/plain", Encoding.UTF8.GetBytes("total 12"))],
        });

        Assert.Equal(VendorNames.Smtp, receipt.Vendor);
        Assert.All(receipt.Results, r => Assert.True(r.Accepted, r.Error));
        var ann = Assert.Single(server.MailboxOf("ANN@example.com"));
        Assert.Equal(receipt.Results[0].MessageId, ann.MessageId);
        Assert.Equal(["ann@example.com"], ann.Recipients);
        Assert.Equal("Hello Ann", ann.Subject);
        Assert.Contains("<p>Dear Ann</p>", ann.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("Dear Ann", ann.TextBody, StringComparison.Ordinal);
        Assert.Equal(["invoice.txt"], ann.AttachmentNames);
        Assert.Contains("Acme Shop", ann.From, StringComparison.Ordinal);
        Assert.Contains("<noreply@example.com>", ann.From, StringComparison.Ordinal);
        Assert.False(ann.Tls);
        // One message per recipient: Bob neither sees Ann's address nor her placeholder values.
        var bob = Assert.Single(server.MailboxOf("bob@example.com"));
        Assert.Equal(receipt.Results[1].MessageId, bob.MessageId);
        Assert.NotEqual(ann.MessageId, bob.MessageId);
        Assert.Equal("Hello %name%", bob.Subject);
    }

    [Fact]
    public async Task StartTls_with_a_self_signed_certificate_and_login_sends_over_tls_as_the_configured_user()
    {
        using var certificate = SmtpEmulator.CreateSelfSignedCertificate();
        await using var server = SmtpEmulator.Start(new SmtpEmulatorOptions { Certificate = certificate, UserName = User, Password = Password });
        using var services = Build(server, "StartTls", User, Password, acceptAnyCertificate: true);

        var receipt = await services.GetRequiredService<IEmailSender>().SendEmailAsync(new EmailMessage { To = ["ann@example.com"], Subject = "s", TextContent = "code 1234" });

        Assert.True(receipt.Results.Single().Accepted, receipt.Results.Single().Error);
        var message = Assert.Single(server.Messages);
        Assert.True(message.Tls);
        Assert.Equal(User, message.AuthenticatedAs);
        Assert.Null(message.HtmlBody);
        Assert.Equal(1, server.AuthAttempts);
    }

    [Fact]
    public async Task StartTls_refuses_an_untrusted_certificate_unless_told_to_accept_it()
    {
        using var certificate = SmtpEmulator.CreateSelfSignedCertificate();
        await using var server = SmtpEmulator.Start(new SmtpEmulatorOptions { Certificate = certificate });
        using var services = Build(server, "StartTls");

        var ex = await Assert.ThrowsAsync<VendorException>(() => services.GetRequiredService<IEmailSender>().SendEmailAsync(new EmailMessage { To = ["ann@example.com"], Subject = "s", TextContent = "t" }));

        Assert.Contains("could not connect", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task StartTls_asked_of_a_server_without_it_fails_instead_of_sending_the_login_in_plain_text()
    {
        await using var server = SmtpEmulator.Start(new SmtpEmulatorOptions { UserName = User, Password = Password });
        using var services = Build(server, "StartTls", User, Password);

        var ex = await Assert.ThrowsAsync<VendorException>(() => services.GetRequiredService<IEmailSender>().SendEmailAsync(new EmailMessage { To = ["ann@example.com"], Subject = "s", TextContent = "t" }));

        Assert.False(ex.IsTransient);
        Assert.Contains("does not support StartTls", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.AuthAttempts);
    }

    [Fact]
    public async Task A_refused_login_is_one_clear_non_transient_error_without_the_password_and_is_not_retried()
    {
        await using var server = SmtpEmulator.Start(new SmtpEmulatorOptions { UserName = User, Password = Password });
        using var services = Build(server, "None", User, "wrong-password-123");
        var sender = services.GetRequiredService<IEmailSender>();

        var ex = await Assert.ThrowsAsync<VendorException>(() => sender.SendEmailAsync(new EmailMessage { To = ["ann@example.com", "bob@example.com"], Subject = "s", HtmlContent = "<p/>" }));

        Assert.False(ex.IsTransient);
        Assert.Equal(VendorNames.Smtp, ex.Vendor);
        Assert.Contains("refused the configured login (Vendors:Smtp:UserName/Password)", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password-123", ex.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, server.AuthAttempts);
        Assert.Equal(1, server.AuthFailures);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task A_refused_recipient_fails_alone_and_the_others_are_delivered()
    {
        await using var server = SmtpEmulator.Start();
        server.RefuseRecipient("gone@example.com");
        using var services = Build(server, "None");

        var receipt = await services.GetRequiredService<IEmailSender>().SendEmailAsync(new EmailMessage { To = ["gone@example.com", "bob@example.com"], Subject = "s", HtmlContent = "<p/>" });

        Assert.False(receipt.Results[0].Accepted);
        Assert.Null(receipt.Results[0].MessageId);
        Assert.Contains("550", receipt.Results[0].Error, StringComparison.Ordinal);
        Assert.True(receipt.Results[1].Accepted);
        Assert.Single(server.MailboxOf("bob@example.com"));
        Assert.Empty(server.MailboxOf("gone@example.com"));
    }

    [Fact]
    public async Task A_connection_lost_after_the_message_was_transmitted_leaves_it_in_doubt_and_the_rest_not_sent()
    {
        await using var server = SmtpEmulator.Start();
        // The server queues Ann's message, then the connection drops before its 250 reaches the client.
        server.DropAfterData();
        using var services = Build(server, "None");

        var receipt = await services.GetRequiredService<IEmailSender>().SendEmailAsync(new EmailMessage { To = ["ann@example.com", "bob@example.com"], Subject = "s", TextContent = "t" });

        var ann = receipt.Results[0];
        Assert.False(ann.Accepted);
        Assert.True(ann.InDoubt, $"Ann's message was queued by the server but the result is {ann}");
        Assert.Equal(VendorFailureKind.UnknownOutcome, ann.Failure);
        // Its Message-Id is kept: a later bounce or a look in the mailbox can settle it.
        Assert.Equal(Assert.Single(server.MailboxOf("ann@example.com")).MessageId, ann.MessageId);
        var bob = receipt.Results[1];
        Assert.False(bob.InDoubt, $"Bob's message never left, yet: {bob}");
        Assert.Equal(VendorFailureKind.Transient, bob.Failure);
        Assert.Empty(server.MailboxOf("bob@example.com"));
    }

    [Fact]
    public async Task A_connection_lost_before_the_message_content_was_sent_is_not_in_doubt()
    {
        await using var server = SmtpEmulator.Start();
        server.DropAtRecipient();
        using var services = Build(server, "None");

        var receipt = await services.GetRequiredService<IEmailSender>().SendEmailAsync(new EmailMessage { To = ["ann@example.com"], Subject = "s", TextContent = "t" });

        var ann = Assert.Single(receipt.Results);
        Assert.False(ann.Accepted);
        Assert.False(ann.InDoubt, $"nothing of the message was sent, yet: {ann}");
        Assert.Equal(VendorFailureKind.Transient, ann.Failure);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task Bad_input_names_the_field_before_any_connection()
    {
        await using var server = SmtpEmulator.Start();
        using var services = Build(server, "None");
        var sender = services.GetRequiredService<IEmailSender>();

        var to = await Assert.ThrowsAsync<VendorValidationException>(() => sender.SendEmailAsync(new EmailMessage { To = ["ann@example.com", "not-an-address"], Subject = "s", HtmlContent = "<p/>" }));
        var body = await Assert.ThrowsAsync<VendorValidationException>(() => sender.SendEmailAsync(new EmailMessage { To = ["ann@example.com"], Subject = "s" }));
        var type = await Assert.ThrowsAsync<VendorValidationException>(() => sender.SendEmailAsync(new EmailMessage
        {
            To = ["ann@example.com"], Subject = "s", TextContent = "t", Attachments = [new EmailAttachment("a.bin", "no type", [1])],
        }));

        Assert.Equal("to[1]", to.Field);
        Assert.Equal("htmlContent", body.Field);
        Assert.Equal("attachments[0].contentType", type.Field);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public void Options_are_validated_on_start_naming_the_setting()
    {
        var missing = Failures(new() { ["Vendors:Smtp:Port"] = "70000" });
        var inconsistent = Failures(new() { ["Vendors:Smtp:Host"] = "mail.example.com", ["Vendors:Smtp:From"] = "not an address", ["Vendors:Smtp:UserName"] = "u" });

        Assert.Contains(missing, f => f.Contains("Vendors:Smtp:Host is required", StringComparison.Ordinal));
        Assert.Contains(missing, f => f.Contains("Vendors:Smtp:From is required", StringComparison.Ordinal));
        Assert.Contains(missing, f => f.Contains("Vendors:Smtp:Port must be a TCP port", StringComparison.Ordinal));
        Assert.Contains(inconsistent, f => f.Contains("Vendors:Smtp:From must be an email address", StringComparison.Ordinal));
        Assert.Contains(inconsistent, f => f.Contains("UserName and Vendors:Smtp:Password are set together", StringComparison.Ordinal));

        static IEnumerable<string> Failures(Dictionary<string, string?> settings)
        {
            var services = new ServiceCollection().AddLogging();
            services.AddSmsVendors(new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Vendors"));
            using var provider = services.BuildServiceProvider();
            return Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<SmtpOptions>>().Value).Failures;
        }
    }

    [Fact]
    public async Task The_emulator_takes_auth_login_and_plain_from_mailkit_and_refuses_mail_before_login()
    {
        await using var server = SmtpEmulator.Start(new SmtpEmulatorOptions { UserName = User, Password = Password });
        foreach (var mechanism in new[] { "LOGIN", "PLAIN" })
        {
            using var client = new SmtpClient();
            await client.ConnectAsync(server.Host, server.Port, SecureSocketOptions.None);
            Assert.Contains(mechanism, client.AuthenticationMechanisms);
            // Leave only the mechanism under test, so MailKit cannot pick the other.
            client.AuthenticationMechanisms.RemoveWhere(m => m != mechanism);
            await client.AuthenticateAsync(User, Password);
            await client.DisconnectAsync(true);
        }
        Assert.Equal(2, server.AuthAttempts);
        Assert.Equal(0, server.AuthFailures);

        using var anonymous = new SmtpClient();
        await anonymous.ConnectAsync(server.Host, server.Port, SecureSocketOptions.None);
        var refused = await Assert.ThrowsAsync<MailKit.ServiceNotAuthenticatedException>(() => anonymous.SendAsync(new MimeKit.MimeMessage(
            [MimeKit.MailboxAddress.Parse("a@example.com")], [MimeKit.MailboxAddress.Parse("b@example.com")], "s", new MimeKit.TextPart("plain") { Text = "t" })));
        Assert.Contains("Authentication required", refused.Message, StringComparison.Ordinal);
        Assert.Empty(server.Messages);
    }

    private static ServiceProvider Build(SmtpEmulator server, string security, string? user = null, string? password = null, bool acceptAnyCertificate = false)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Vendors:Smtp:Host"] = server.Host,
            ["Vendors:Smtp:Port"] = server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Vendors:Smtp:Security"] = security,
            ["Vendors:Smtp:From"] = "noreply@example.com",
            ["Vendors:Smtp:UserName"] = user,
            ["Vendors:Smtp:Password"] = password,
            ["Vendors:Smtp:AcceptAnyCertificate"] = acceptAnyCertificate ? "true" : "false",
            ["Vendors:Smtp:Timeout"] = "00:00:20",
        };
        var services = new ServiceCollection().AddLogging();
        services.AddSmsVendors(new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Vendors"));
        return services.BuildServiceProvider();
    }
}
