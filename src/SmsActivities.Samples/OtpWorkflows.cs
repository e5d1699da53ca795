using System.Net;
using SmsActivities.Activities;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Builder;
using SmsActivities.Workflows.Expressions;
using static SmsActivities.Samples.SampleWorkflows;

namespace SmsActivities.Samples;

/// <summary>
/// POST /workflows/code/otp/send {mobile} → SendSms with a one-time code → 202 with the verify URL →
/// POST that URL {code} → VerifyOtp → 200 Valid / 400 Invalid (try again) / 410 Expired / 429 TooManyAttempts.
/// Sends and checks count against the client's address (429 with Retry-After past the hourly limits); the verify
/// wait ends with the code's lifetime, and the typed code is masked before the request is stored.
/// </summary>
public sealed class OtpSmsWorkflow : IWorkflow
{
    public const string DefinitionId = "otp-sms" + Suffix;
    public const string Prefix = "code/otp";

    public void Build(WorkflowBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WithDefinitionId(DefinitionId).WithName("OTP by SMS (C#)");
        var flow = builder.Flowchart();
        var start = flow.Add(Endpoint("Http1", Prefix + "/send", "POST", start: true));
        var send = flow.Add(OtpSms.Send(failover: "tencent"));
        var sent = flow.Add(OtpSms.AnswerSent(Prefix));
        var notSent = flow.Add(OtpSms.AnswerNotSent());
        var limited = flow.Add(OtpSms.AnswerSendRateLimited());
        // Unknown: the vendor may have sent the code (its answer was lost); it stays verifiable, so the user is told it was sent.
        flow.Connect(start, send).Connect(send, sent, SendSms.Sent).Connect(send, sent, SendSms.PartiallySent).Connect(send, sent, SendSms.Unknown).Connect(send, notSent, SendSms.Failed)
            .Connect(send, limited, SendSms.RateLimited);
        OtpSms.VerifyTail(flow, sent, Prefix);
    }
}

/// <summary>
/// Like <see cref="OtpSmsWorkflow"/>, but when no delivery report says the SMS arrived within 60 s (or it failed),
/// the code is read out by a voice call (YANINGAI voice OTP) before the verify step.
/// </summary>
public sealed class OtpSmsThenVoiceWorkflow : IWorkflow
{
    public const string DefinitionId = "otp-sms-then-voice" + Suffix;
    public const string Prefix = "code/otp-voice";

    public void Build(WorkflowBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WithDefinitionId(DefinitionId).WithName("OTP by SMS, then by voice (C#)");
        var flow = builder.Flowchart();
        var start = flow.Add(Endpoint("Http1", Prefix + "/send", "POST", start: true));
        var send = flow.Add(OtpSms.Send(failover: null));
        var sent = flow.Add(OtpSms.AnswerSent(Prefix));
        var notSent = flow.Add(OtpSms.AnswerNotSent());
        var limited = flow.Add(OtpSms.AnswerSendRateLimited());
        var wait = flow.Add(new WaitForDeliveryReport { Id = "WaitReport", SendSmsActivityId = new("SendOtp"), Timeout = new(TimeSpan.FromSeconds(60)) });
        var voice = flow.Add(new SendVoiceOtp
        {
            Id = "Voice", Vendor = new("yaningai"), Mobile = new(c => BodyText(c, "mobile")), Purpose = new(OtpSms.Purpose), ClientIp = new(OtpSms.ClientIp),
        });
        flow.Connect(start, send).Connect(send, sent, SendSms.Sent).Connect(send, sent, SendSms.Unknown).Connect(send, notSent, SendSms.Failed)
            .Connect(send, limited, SendSms.RateLimited)
            .Connect(sent, wait)
            .Connect(wait, voice, BlockingActivity.TimeoutOutcome).Connect(wait, voice, WaitForDeliveryReport.Failed);
        var verify = OtpSms.VerifyTail(flow, null, Prefix);
        flow.Connect(wait, verify, WaitForDeliveryReport.Delivered).Connect(voice, verify, SendVoiceOtp.Sent).Connect(voice, verify, SendVoiceOtp.Failed)
            .Connect(voice, verify, SendVoiceOtp.RateLimited);
    }
}

/// <summary>The parts both OTP samples share.</summary>
internal static class OtpSms
{
    public const string Purpose = "login";
    public const string Text = "Your verification code is {code}. It expires in 10 minutes.";
    public static readonly TimeSpan CodeLifetime = TimeSpan.FromMinutes(10);

    public static SendSms Send(string? failover) => new()
    {
        Id = "SendOtp",
        Vendor = new("yunpian"),
        Failover = failover is null ? null : new(failover),
        Recipients = new(c => BodyText(c, "mobile")),
        Text = new(Text),
        Otp = new(true),
        OtpPurpose = new(Purpose),
        ClientIp = new(ClientIp),
    };

    /// <summary>The address the code was asked from (the connection's, or what a trusted proxy forwarded).</summary>
    public static string? ClientIp(ExpressionContext context) => ClientIpOf(context, "Http1");

    private static string? ClientIpOf(ExpressionContext context, string httpActivityId) =>
        context.GetOutput(httpActivityId, nameof(HttpEndpoint.RemoteIpAddress))?.ToString();

    /// <summary>A 429 whose Retry-After says when asking again can succeed.</summary>
    private static WriteHttpResponse TooManyRequests(string id, string fromActivity, Func<ExpressionContext, object?> content)
    {
        var answer = Answer(id, HttpStatusCode.TooManyRequests, content);
        answer.ResponseHeaders = new(c => new Dictionary<string, string> { ["Retry-After"] = c.GetOutput(fromActivity, nameof(SendSms.RetryAfterSeconds))?.ToString() ?? "60" });
        return answer;
    }

    public static WriteHttpResponse AnswerSendRateLimited() =>
        TooManyRequests("AnswerSendRateLimited", "SendOtp", c => new { error = c.GetOutput("SendOtp", nameof(SendSms.Error)) });

    public static WriteHttpResponse AnswerSent(string prefix) => Answer("AnswerSent", HttpStatusCode.Accepted, c => new
    {
        verifyUrl = $"/workflows/{prefix}/verify/{Self(c)}",
        expiresAt = c.GetOutput("SendOtp", nameof(SendSms.OtpExpiresAt)),
    });

    public static WriteHttpResponse AnswerNotSent() =>
        Answer("AnswerNotSent", HttpStatusCode.BadGateway, c => new { error = c.GetOutput("SendOtp", nameof(SendSms.Error)) });

    /// <summary>The verify endpoint and one answer per VerifyOtp outcome; a wrong code waits for the next try.</summary>
    public static Activity VerifyTail(FlowchartBuilder flow, Activity? from, string prefix)
    {
        var endpoint = Endpoint("HttpVerify", c => $"{prefix}/verify/{Self(c)}", "POST");
        // The typed code is masked before the request is stored; the wait ends when the code does.
        endpoint.SensitiveFields = new(["code"]);
        endpoint.Timeout = new(CodeLifetime);
        flow.Add(endpoint);
        var verify = flow.Add(new VerifyOtp
        {
            Id = "Verify",
            Mobile = new(c => BodyText(c, "mobile")),
            Code = new(c => BodyText(c, "code", "HttpVerify")),
            Purpose = new(Purpose),
            ClientIp = new(c => ClientIpOf(c, "HttpVerify")),
        });
        var valid = flow.Add(Answer("AnswerValid", HttpStatusCode.OK, _ => new { result = "Valid" }));
        var invalid = flow.Add(Answer("AnswerInvalid", HttpStatusCode.BadRequest, c => new { result = "Invalid", retry = $"/workflows/{prefix}/verify/{Self(c)}" }));
        var expired = flow.Add(Answer("AnswerExpired", HttpStatusCode.Gone, _ => new { result = "Expired" }));
        var tooMany = flow.Add(Answer("AnswerTooMany", HttpStatusCode.TooManyRequests, _ => new { result = "TooManyAttempts" }));
        var limited = flow.Add(TooManyRequests("AnswerCheckRateLimited", "Verify", c => new { result = "RateLimited", retry = $"/workflows/{prefix}/verify/{Self(c)}" }));
        if (from is not null) flow.Connect(from, endpoint);
        flow.Connect(endpoint, verify)
            .Connect(verify, valid, "Valid").Connect(verify, invalid, "Invalid").Connect(verify, expired, "Expired").Connect(verify, tooMany, "TooManyAttempts")
            .Connect(verify, limited, "RateLimited")
            .Connect(invalid, endpoint).Connect(limited, endpoint);
        return endpoint;
    }
}
