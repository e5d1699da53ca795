using System.Net.Http.Headers;
using System.Text.Json;
using System.Web;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Emulators;
using SmsActivities.Vendors.Yaningai;

namespace SmsActivities.Vendors.Tests.Yaningai;

public class YaningaiMmsVoiceEmailTests
{
    private static readonly EmailAttachment Picture = new("card.png", "image/png", new byte[2048]);
    private static readonly EmailAttachment Contact = new("me.vcf", "text/vcard", "BEGIN:VCARD\nEND:VCARD"u8.ToArray());

    [Fact]
    public async Task Mms_with_attachments_goes_multipart_with_auth_in_the_query()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        await using var receiver = await PushReceiver.StartAsync();
        var emulator = host.Set.Yaningai;
        emulator.ReportCallbackUrl = receiver.Url("status");
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var sender = services.GetRequiredService<YaningaiSender>();

        var receipt = await sender.SendMmsAsync(new YaningaiMmsMessage
        {
            Recipients = TestNumbers.Of("+8613611111111", "+8613722222222"),
            Title = "hello",
            Text = "helloworld",
            Attachments = [Picture, Contact],
        });

        Assert.Equal(2, receipt.AcceptedCount);
        Assert.Equal(emulator.Messages.OrderBy(m => m.Mobile, StringComparer.Ordinal).Select(m => m.MessageId), receipt.Results.Select(r => r.MessageId));
        var message = emulator.Messages[0];
        Assert.Equal(("mms", "hello", "helloworld"), (message.Kind, message.Title, message.Content));
        Assert.Equal(["card.png", "me.vcf"], message.Attachments);
        var call = Assert.Single(host.Set.Requests.For(VendorNames.Yaningai, "/api/v1/sms/mssSend"));
        Assert.StartsWith("multipart/form-data", call.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.NotNull(HttpUtility.ParseQueryString(call.QueryString)["sign"]);

        var push = Assert.Single(await receiver.WaitForAsync(1, "status"));
        var reports = new YaningaiSmsReportReader().Read(push.Request).Reports;
        Assert.Equal(receipt.Results.Select(r => r.MessageId).Order(), reports.Select(r => r.MessageId).Order());
    }

    [Fact]
    public async Task Mms_without_attachments_is_json()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var client = services.GetRequiredService<YaningaiClient>();

        var result = await client.SendMmsAsync(new YaningaiMmsRequest { Numbers = ["13611111111"], CodeId = "10001", Title = "hello", Content = "helloworld" });

        Assert.NotNull(result.BatchNo);
        Assert.Equal("8613611111111", Assert.Single(result.Accepted).Target);
        using var body = JsonDocument.Parse(Assert.Single(host.Set.Requests.For(VendorNames.Yaningai, "/api/v1/sms/mssSend")).Body);
        Assert.Equal("hello", body.RootElement.GetProperty("title").GetString());
    }

    [Theory]
    [InlineData("big.png", 100 * 1024 + 1)]
    [InlineData("tool.exe", 10)]
    public async Task Mms_attachment_rules_are_checked_before_any_call(string fileName, int size)
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var sender = services.GetRequiredService<YaningaiSender>();

        var ex = await Assert.ThrowsAsync<VendorValidationException>(() => sender.SendMmsAsync(new YaningaiMmsMessage
        {
            Recipients = TestNumbers.Of("+8613611111111"),
            Title = "t",
            Text = "x",
            Attachments = [new EmailAttachment(fileName, "application/octet-stream", new byte[size])],
        }));
        Assert.Equal("attachment", ex.Field);
        Assert.Empty(host.Set.Requests.For(VendorNames.Yaningai));
    }

    [Fact]
    public async Task The_emulator_refuses_attachments_over_100_kb()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        using var http = new HttpClient { BaseAddress = host.BaseUrlFor(VendorNames.Yaningai) };
        using var form = new MultipartFormDataContent
        {
            { new StringContent("13611111111"), "numbers" },
            { new StringContent("hi"), "content" },
            { new StringContent("10001"), "codeId" },
            { new StringContent("t"), "title" },
        };
        var file = new ByteArrayContent(new byte[100 * 1024 + 1]);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "attachment[]", "big.png");

        using var response = await http.PostAsync(new Uri("api/v1/sms/mssSend?" + YaningaiTestKit.AuthQuery(), UriKind.Relative), form);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(2, answer.RootElement.GetProperty("status").GetInt32());
        Assert.Empty(host.Set.Yaningai.Messages);
    }

    [Fact]
    public async Task Voice_notice_returns_the_batch_number_and_its_reports_come_as_vos_pushes()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        await using var receiver = await PushReceiver.StartAsync();
        var emulator = host.Set.Yaningai;
        emulator.VoiceReportCallbackUrl = receiver.Url("voice");
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var sender = services.GetRequiredService<YaningaiSender>();

        var receipt = await sender.SendVoiceNoticeAsync(new VoiceNoticeRequest { Recipients = TestNumbers.Of("+8613611111111", "+8613722222222"), Text = "test" });

        Assert.Equal(2, receipt.AcceptedCount);
        Assert.All(receipt.Results, r => Assert.Null(r.MessageId)); // vos/notice answers with counts only
        Assert.Equal(emulator.Messages[0].BatchNo, receipt.BatchId);
        var call = Assert.Single(host.Set.Requests.For(VendorNames.Yaningai, "/api/v1/vos/notice"));
        using var body = JsonDocument.Parse(call.Body);
        Assert.Equal("13611111111,13722222222", body.RootElement.GetProperty("numbers").GetString());
        Assert.Equal("test", body.RootElement.GetProperty("content").GetString());

        var push = Assert.Single(await receiver.WaitForAsync(1, "voice"));
        using var pushed = JsonDocument.Parse(push.Request.Body);
        Assert.Equal("vos", pushed.RootElement.GetProperty("type").GetString());
        Assert.Equal(6, pushed.RootElement.GetProperty("array")[0].GetArrayLength());
        var reports = new YaningaiVoiceReportReader().Read(push.Request).Reports;
        Assert.Equal(emulator.Messages.Select(m => m.MessageId).Order(), reports.Select(r => r.MessageId).Order());
        Assert.All(reports, r => Assert.Equal(DeliveryStatus.Delivered, r.Status));
    }

    [Fact]
    public async Task Voice_otp_reads_the_code_to_one_number_and_returns_its_message_id()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var sender = services.GetRequiredService<IVoiceOtpSender>();

        var receipt = await sender.SendVoiceOtpAsync(new VoiceOtpRequest { Recipient = PhoneNumber.Parse("+8615039123456"), Code = "482913" });
        var templated = await sender.SendVoiceOtpAsync(new VoiceOtpRequest { Recipient = PhoneNumber.Parse("+8615039123456"), Code = "1234", TemplateId = "V1" });

        var messages = host.Set.Yaningai.Messages;
        Assert.Equal(messages[0].MessageId, Assert.Single(receipt.Results).MessageId);
        Assert.Equal(("vos-otp", "482913", "15039123456"), (messages[0].Kind, messages[0].Content, messages[0].Mobile[3..]));
        Assert.True(Assert.Single(templated.Results).Accepted);
        Assert.Equal(("V1", "1234"), (messages[1].TemplateId, Assert.Single(messages[1].TemplateParams)));
        await Assert.ThrowsAsync<VendorValidationException>(() => sender.SendVoiceOtpAsync(new VoiceOtpRequest { Recipient = PhoneNumber.Parse("+8615039123456"), Code = "12 34" }));

        var twoNumbers = await YaningaiSmsTests.RawPostAsync(host, "api/v1/vos/otp?" + YaningaiTestKit.AuthQuery(),
            """{"content":"test","numbers":"15039123456,15039123457","codeId":"10001"}""");
        Assert.Equal(-7, twoNumbers.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task An_email_call_taken_but_answered_500_leaves_its_recipients_in_doubt_and_is_not_repeated()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        var emulator = host.Set.Yaningai;
        emulator.Faults.FailNextCalls(1, EmulatorFault.AcceptThenFail, 500);
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));

        var receipt = await services.GetRequiredService<IEmailSender>().SendEmailAsync(new EmailMessage
        {
            To = ["tom@example.com"], Subject = "s", HtmlContent = "<p/>", SenderName = "Acme",
        });

        var tom = Assert.Single(receipt.Results);
        Assert.True(tom.InDoubt, $"the emulator took the email before answering 500, yet: {tom}");
        Assert.Equal(VendorFailureKind.UnknownOutcome, tom.Failure);
        Assert.Single(emulator.Emails);
        Assert.Single(host.Set.Requests.For(VendorNames.Yaningai, "/api/v1/email/sendEmail"));
    }

    [Fact]
    public async Task Email_with_placeholders_and_attachment_is_sent_reported_and_tracked()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        await using var receiver = await PushReceiver.StartAsync();
        var emulator = host.Set.Yaningai;
        emulator.EmailReportCallbackUrl = receiver.Url("email-status");
        emulator.EmailTrackingCallbackUrl = receiver.Url("email-tracking");
        emulator.EmailScript.For("yan@example.com", DeliveryPlan.Fail("-9"));
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var sender = services.GetRequiredService<IEmailSender>();

        var receipt = await sender.SendEmailAsync(new EmailMessage
        {
            To = ["tom@example.com", "yan@example.com"],
            Subject = "Hello {name}",
            HtmlContent = "<p>Dear {name}</p>",
            SenderName = "Acme Shop",
            Placeholders = new Dictionary<string, IReadOnlyDictionary<string, string>>
            {
                ["tom@example.com"] = new Dictionary<string, string> { ["name"] = "tom" },
                ["yan@example.com"] = new Dictionary<string, string> { ["name"] = "yan" },
            },
            Attachments = [new EmailAttachment("terms.txt", "text/plain", "terms"u8.ToArray())],
        });

        Assert.Equal(["tom@example.com", "yan@example.com"], receipt.Results.Select(r => r.Email));
        Assert.All(receipt.Results, r => Assert.True(r.Accepted));
        var emails = emulator.Emails.OrderBy(e => e.To, StringComparer.Ordinal).ToArray();
        Assert.Equal(emails.Select(e => e.MessageId), receipt.Results.Select(r => r.MessageId));
        Assert.Equal(("Acme Shop", "Hello {name}", "yan", "terms.txt"), (emails[1].From, emails[1].Theme, emails[1].Placeholders["name"], Assert.Single(emails[1].Attachments)));
        var call = Assert.Single(host.Set.Requests.For(VendorNames.Yaningai, "/api/v1/email/sendEmail"));
        Assert.StartsWith("multipart/form-data", call.Headers["Content-Type"], StringComparison.Ordinal);

        var reportReader = new YaningaiEmailReportReader();
        // Both reports are due at the same moment, so they share one push.
        var events = (await receiver.WaitForAsync(1, "email-status")).SelectMany(p => reportReader.Read(p.Request).EmailEvents).ToDictionary(e => e.Email);
        Assert.Equal(EmailEventKind.Delivered, events["tom@example.com"].Kind);
        Assert.Equal(EmailEventKind.Failed, events["yan@example.com"].Kind);
        Assert.Equal(receipt.Results[1].MessageId, events["yan@example.com"].MessageId);

        Assert.True(emulator.TrackEmail(receipt.Results[0].MessageId!, "CLICKED", "Jakarta", "Indonesia", "Phone", "Android"));
        var tracked = Assert.Single(new YaningaiEmailTrackingReader().Read(Assert.Single(await receiver.WaitForAsync(1, "email-tracking")).Request).EmailEvents);
        Assert.Equal((EmailEventKind.Clicked, "tom@example.com", receipt.Results[0].MessageId), (tracked.Kind, tracked.Email, tracked.MessageId));
    }

    [Fact]
    public async Task Plain_email_is_json_with_a_comma_list_and_the_configured_sender_name()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var sender = services.GetRequiredService<IEmailSender>();

        var receipt = await sender.SendEmailAsync(new EmailMessage { To = ["a@example.com", "b@example.com"], Subject = "s", HtmlContent = "c" });

        Assert.Equal(2, receipt.Results.Count(r => r.Accepted));
        using var body = JsonDocument.Parse(Assert.Single(host.Set.Requests.For(VendorNames.Yaningai, "/api/v1/email/sendEmail")).Body);
        Assert.Equal("a@example.com,b@example.com", body.RootElement.GetProperty("emails").GetString());
        Assert.Equal("Acme", body.RootElement.GetProperty("from").GetString());
        Assert.Equal("s", body.RootElement.GetProperty("theme").GetString());
    }

    [Fact]
    public async Task Over_10000_email_recipients_are_split_in_order()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var to = Enumerable.Range(0, 10_001).Select(i => $"user{i}@example.com").ToArray();

        var receipt = await services.GetRequiredService<IEmailSender>().SendEmailAsync(new EmailMessage { To = to, Subject = "s", HtmlContent = "c" });

        Assert.Equal(to, receipt.Results.Select(r => r.Email));
        Assert.All(receipt.Results, r => Assert.NotNull(r.MessageId));
        Assert.Equal(2, host.Set.Requests.For(VendorNames.Yaningai, "/api/v1/email/sendEmail").Count);
    }

    [Theory]
    [InlineData("""{"from":"a","theme":"s","content":"c"}""", -9)]
    [InlineData("""{"emails":"a@example.com","from":"a","content":"c"}""", -4)]
    [InlineData("""{"emails":"a@example.com","from":"a","theme":"s"}""", -5)]
    [InlineData("""{"emails":"nobody","from":"a","theme":"s","content":"c"}""", -3)]
    public async Task Bad_email_input_gets_the_documented_status(string body, int status)
    {
        await using var host = await YaningaiSmsTests.StartAsync();

        var answer = await YaningaiSmsTests.RawPostAsync(host, "api/v1/email/sendEmail?" + YaningaiTestKit.AuthQuery(), body);

        Assert.Equal(status, answer.GetProperty("status").GetInt32());
        Assert.Empty(host.Set.Yaningai.Emails);
    }
}
