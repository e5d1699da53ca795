using ActivityKind = System.Diagnostics.ActivityKind;
using SmsActivities.Otp;
using SmsActivities.Telemetry;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Activities;

[Activity(ActivityInputs.Namespace, "Voice", "Calls the number and reads a one-time code out (SendCloud sendVoice, YANINGAI voice OTP). The code is generated (cryptographic RNG) unless supplied, stored only as a salted hash, and checked later by VerifyOtp.",
    DisplayName = "Send Voice OTP")]
[FlowNode(Sent, Failed)]
public sealed class SendVoiceOtp : Activity
{
    public const string Sent = "Sent";
    public const string Failed = "Failed";

    [Input(Description = "The vendor account, or Auto for the first configured vendor with voice OTP.", UIHint = InputUIHints.DropDown, OptionsProvider = typeof(VoiceOtpVendorChoices), DefaultValue = "Auto")]
    public Input<string?>? Vendor { get; set; }

    [Input(Description = "The number to call.", IsRequired = true)]
    public Input<string?>? Mobile { get; set; }

    [Input(Description = "A code to read out; empty generates one.", IsSensitive = true)]
    public Input<string?>? Code { get; set; }

    [Input(Description = "Digits of a generated code (4 to 6).", DefaultValue = 6)]
    public Input<int?>? Digits { get; set; }

    [Input(Description = "Voice template id where the vendor asks for one.")]
    public Input<string?>? TemplateId { get; set; }

    [Input(Description = "What the code is for; VerifyOtp must name the same purpose.", DefaultValue = "otp")]
    public Input<string?>? Purpose { get; set; }

    [Input(Description = "The end user's address, for the per-IP rate limit.")]
    public Input<string?>? ClientIp { get; set; }

    [Output] public Output<string?> MessageId { get; set; } = new();
    [Output] public Output<string?> UsedVendor { get; set; } = new();
    [Output] public Output<DateTimeOffset?> ExpiresAt { get; set; } = new();
    [Output] public Output<string?> Error { get; set; } = new();

    protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var ct = context.CancellationToken;
        IVoiceOtpSender sender;
        PhoneNumber mobile;
        string code;
        try
        {
            sender = ActivityInputs.PickVendor(context.GetService<IEnumerable<IVoiceOtpSender>>() ?? [], context.Get(Vendor), "voice OTP");
            mobile = PhoneNumber.Parse(context.Get(Mobile));
            var digits = context.Get(Digits) ?? 6;
            if (digits is < 4 or > 6) throw new VendorValidationException("digits", "voice codes have 4 to 6 digits");
            code = context.Get(Code) is { Length: > 0 } supplied ? supplied.Trim() : OtpService.GenerateCode(digits);
            if (code.Length is < 4 or > 6 || !code.All(char.IsAsciiDigit)) throw new VendorValidationException("code", "must be 4 to 6 digits");
        }
        catch (VendorValidationException ex)
        {
            await FailAsync(context, ex.Message);
            return;
        }

        var issue = await context.GetService<OtpService>()!.IssueAsync(mobile.E164, SendSms.Purpose(context.Get(Purpose)), context.Get(ClientIp), code, ct);
        if (issue.Refused is { } refusal)
        {
            await FailAsync(context, $"OTP refused: {refusal.Rule} (retry after {refusal.RetryAfter:O})");
            return;
        }

        using var span = SmsTelemetry.Source.StartActivity("sms.voice_otp", ActivityKind.Client);
        span?.SetTag("sms.vendor", sender.Vendor);
        var telemetry = context.GetService<SmsTelemetry>()!;
        var tag = new KeyValuePair<string, object?>("vendor", sender.Vendor);
        RecipientResult result;
        try
        {
            var receipt = await sender.SendVoiceOtpAsync(new VoiceOtpRequest
            {
                Recipient = mobile,
                Code = code,
                TemplateId = context.Get(TemplateId),
                // One key per execution: a retry of the same call is deduped, a later resend in a loop is a new call.
                IdempotencyKey = ActivityInputs.IdempotencyKey(context.WorkflowInstanceId, Id, context.Id),
            }, ct);
            result = receipt.Results.FirstOrDefault() ?? new RecipientResult(mobile.E164, false, null, null, "the vendor returned no result");
        }
        catch (Exception ex) when (ex is VendorException or VendorValidationException or HttpRequestException)
        {
            result = new RecipientResult(mobile.E164, false, null, (ex as VendorException)?.VendorCode,
                ex is VendorException v ? v.VendorMessage : ex.Message);
        }

        if (!result.Accepted)
        {
            telemetry.MessagesFailed.Add(1, tag);
            await context.GetService<OtpService>()!.WithdrawAsync(issue.Issued!.ChallengeId, ct);
            context.Set(UsedVendor, sender.Vendor);
            await FailAsync(context, result.Error?.Replace(code, "******", StringComparison.Ordinal) ?? "rejected by the vendor");
            return;
        }
        telemetry.MessagesSent.Add(1, tag);
        context.Set(MessageId, result.MessageId);
        context.Set(UsedVendor, sender.Vendor);
        context.Set(ExpiresAt, issue.Issued!.ExpiresAt);
        context.Set(Error, null);
        await context.CompleteActivityAsync(Sent);
    }

    private async ValueTask FailAsync(ActivityExecutionContext context, string error)
    {
        context.Log("SendVoiceOtp failed: " + error);
        context.Set(Error, error);
        await context.CompleteActivityAsync(Failed);
    }
}

[Activity(ActivityInputs.Namespace, "OTP", "Checks a one-time code sent by SendSms (OTP on) or SendVoiceOtp: constant-time comparison, at most 5 checks per code, expiry, per-IP limits.",
    DisplayName = "Verify OTP")]
[FlowNode(nameof(OtpVerifyOutcome.Valid), nameof(OtpVerifyOutcome.Invalid), nameof(OtpVerifyOutcome.Expired), nameof(OtpVerifyOutcome.TooManyAttempts))]
public sealed class VerifyOtp : Activity
{
    [Input(Description = "The number the code was sent to.", IsRequired = true)]
    public Input<string?>? Mobile { get; set; }

    [Input(Description = "The code the user typed.", IsSensitive = true, IsRequired = true)]
    public Input<string?>? Code { get; set; }

    [Input(Description = "The purpose the code was issued for.", DefaultValue = "otp")]
    public Input<string?>? Purpose { get; set; }

    [Input(Description = "The end user's address, for the per-IP check limit.")]
    public Input<string?>? ClientIp { get; set; }

    [Output(Description = "Valid, Invalid, Expired or TooManyAttempts.")]
    public Output<string> Result { get; set; } = new();

    protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        OtpVerifyOutcome outcome;
        if (!PhoneNumber.TryParse(context.Get(Mobile), out var mobile, out _))
        {
            outcome = OtpVerifyOutcome.Invalid;
        }
        else
        {
            outcome = await context.GetService<OtpService>()!.VerifyAsync(mobile.E164, SendSms.Purpose(context.Get(Purpose)), context.Get(Code)?.Trim(), context.Get(ClientIp), context.CancellationToken);
        }
        context.Set(Result, outcome.ToString());
        await context.CompleteActivityAsync(outcome.ToString());
    }
}
