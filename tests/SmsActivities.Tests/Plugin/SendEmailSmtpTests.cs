using System.Globalization;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Activities;
using SmsActivities.Emulators.Smtp;
using SmsActivities.Persistence;
using SmsActivities.Vendors;

namespace SmsActivities.Tests.Plugin;

/// <summary>SendEmail through SMTP against the SMTP emulator on loopback, when the connection drops mid-send.</summary>
public sealed class SendEmailSmtpTests
{
    private const string Ann = "ann@example.com";
    private const string Bob = "bob@example.com";

    private static Dictionary<string, string?> Smtp(SmtpEmulator server) => new()
    {
        ["Vendors:Smtp:Host"] = server.Host,
        ["Vendors:Smtp:Port"] = server.Port.ToString(CultureInfo.InvariantCulture),
        ["Vendors:Smtp:Security"] = "None",
        ["Vendors:Smtp:From"] = "noreply@example.com",
        ["Vendors:Smtp:Timeout"] = "00:00:30",
    };

    private static CodeWorkflow Mail() => new("mail", f => f.Add(new SendEmail
    {
        Id = "mail", Vendor = new(VendorNames.Smtp), To = new($"{Ann}, {Bob}"), Subject = new("Your order"), TextContent = new("It shipped."),
    }));

    [Fact]
    public async Task A_connection_dropped_after_the_message_was_transmitted_leaves_by_Unknown_with_the_address_in_doubt()
    {
        await using var server = SmtpEmulator.Start();
        server.DropAfterData();
        await using var bed = await PluginTestBed.StartAsync([Mail()], Smtp(server));

        var run = await bed.RunAsync("mail");

        var outputs = await bed.OutputsAsync(run.InstanceId, "mail");
        Assert.True((await bed.OutcomesAsync(run.InstanceId, "mail")).SequenceEqual([SendEmail.Unknown]), outputs.ToJsonString());
        Assert.Equal([Ann], outputs["InDoubtRecipients"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(1, outputs["InDoubtCount"]?.GetValue<int>());
        // The server did queue Ann's message: sending it again (or failing it over) would deliver it twice.
        Assert.Single(server.MailboxOf(Ann));
        Assert.Empty(server.MailboxOf(Bob));
        var records = await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().ToListAsync());
        Assert.Equal([(Ann, SendRecordStatus.InDoubt), (Bob, SendRecordStatus.Rejected)],
            records.OrderBy(r => r.Mobile, StringComparer.Ordinal).Select(r => (r.Mobile, r.Status)));
    }

    [Fact]
    public async Task A_connection_dropped_before_any_content_went_out_is_a_failure_not_a_doubt()
    {
        await using var server = SmtpEmulator.Start();
        server.DropAtRecipient();
        await using var bed = await PluginTestBed.StartAsync([Mail()], Smtp(server));

        var run = await bed.RunAsync("mail");

        var outputs = await bed.OutputsAsync(run.InstanceId, "mail");
        Assert.True((await bed.OutcomesAsync(run.InstanceId, "mail")).SequenceEqual([SendEmail.Failed]), outputs.ToJsonString());
        Assert.Empty(outputs["InDoubtRecipients"]!.AsArray());
        Assert.Equal(0, outputs["InDoubtCount"]?.GetValue<int>());
        Assert.Empty(server.Messages);
    }
}
