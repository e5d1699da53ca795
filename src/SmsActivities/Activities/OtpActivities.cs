using ActivityKind = System.Diagnostics.ActivityKind;
using SmsActivities.Otp;
using SmsActivities.Persistence;
using SmsActivities.Routing;
using SmsActivities.Telemetry;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Activities;

[Activity(ActivityInputs.Namespace, "Voice", "Calls the number and reads a one-time code out (SendCloud sendVoice, YANINGAI voice OTP). The code is generated (cryptographic RNG) unless supplied, stored only as a salted hash, and checked later by VerifyOtp.",
    DisplayName = "Send Voice OTP")]
[FlowNode(Sent, Failed, RateLimited)]
public sealed class SendVoiceOtp : Activity
{
    public const string Sent = "Sent";
    public const string Failed = "Failed";
    public const string RateLimited = SendSms.RateLimited;

    [Input(Description = "The vendor account, or Auto for the first configured vendor with voice OTP.", UIHint = InputUIHints.DropDown, OptionsProvider = typeof(VoiceOtpVendorChoices), DefaultValue = "Auto")]
    public Input<string?>? Vendor { get; set; }

    [Input(Description = "The number to call.", IsRequired = true)]
    public Input<string?>? Mobile { get; set; }

    [Input(Description = "A code to read out; empty generates one.", IsSecret = true)]
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
    [Output(Description = "With the RateLimited outcome: seconds until a code can be asked for again (for a Retry-After header).")]
    public Output<int?> RetryAfterSeconds { get; set; } = new();

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
            mobile = ActivityInputs.ParseMobile(context, context.Get(Mobile));
            var digits = context.Get(Digits) ?? 6;
            if (digits is < 4 or > 6) throw new VendorValidationException("digits", "voice codes have 4 to 6 digits");
            code = context.Get(Code) is { Length: > 0 } supplied ? supplied.Trim() : OtpService.GenerateCode(digits);
            context.MarkSecret(code);
            if (code.Length is < 4 or > 6 || !code.All(char.IsAsciiDigit)) throw new VendorValidationException("code", "must be 4 to 6 digits");
        }
        catch (VendorValidationException ex)
        {
            await FailAsync(context, ex.Message);
            return;
        }

        var records = context.GetService<SendRecordStore>()!;
        // One key per execution: a retry of the same call is deduped by the vendor, a later resend in a loop is a new call.
        var key = ActivityInputs.IdempotencyKey(context.WorkflowInstanceId, Id, context.ExecutionKey);
        var send = await SendOnce<VoiceOutputs>.FindAsync(records, SendOwner.Of(context, Id), key, [], ct);
        if (send.Completed is { } completed)
        {
            // This execution already called (a crash came before the workflow committed): the code cannot be told again
            // and need not be; the challenge issued then stays the one to verify.
            await CompleteAsync(context, completed);
            return;
        }
        if (send.Interrupted)
        {
            await send.EndInDoubtAsync(ct);
            await FailAsync(context, "a previous call of this activity was interrupted; its outcome is unknown, so the number was not called again");
            return;
        }

        var issue = await context.GetService<OtpService>()!.IssueAsync(mobile.E164, SendSms.Purpose(context.Get(Purpose)), context.Get(ClientIp), code, ct);
        if (issue.Refused is { } refusal)
        {
            context.Set(Error, $"OTP refused: {refusal.Rule}");
            context.Set(RetryAfterSeconds, OtpRetry.Seconds(refusal.RetryAfter, context.GetService<TimeProvider>()!));
            await context.CompleteActivityAsync(RateLimited);
            return;
        }

        using var span = SmsTelemetry.Source.StartActivity("sms.voice_otp", ActivityKind.Client);
        span?.SetTag("sms.vendor", sender.Vendor);
        var telemetry = context.GetService<SmsTelemetry>()!;
        await send.StartAsync(sender.Vendor, [mobile.E164], ct);
        RecipientResult result;
        try
        {
            var receipt = await sender.SendVoiceOtpAsync(new VoiceOtpRequest
            {
                Recipient = mobile,
                Code = code,
                TemplateId = context.Get(TemplateId),
                IdempotencyKey = key,
            }, ct);
            result = receipt.Results.FirstOrDefault() ?? new RecipientResult(mobile.E164, false, null, null, "the vendor returned no result");
        }
        catch (Exception ex) when (ex is VendorException or VendorValidationException or HttpRequestException)
        {
            result = new RecipientResult(mobile.E164, false, null, (ex as VendorException)?.VendorCode,
                ex is VendorException v ? v.VendorMessage : ex.Message);
        }
        // A vendor could echo the code in an error: it is blanked out of everything kept.
        var error = result.Accepted ? null : result.Error?.Replace(code, "******", StringComparison.Ordinal) ?? "rejected by the vendor";

        if (!result.Accepted)
        {
            telemetry.RecordSent(sender.Vendor, "voice_otp", 0, 1);
            await context.GetService<OtpService>()!.WithdrawAsync(issue.Issued!.ChallengeId, ct);
            context.Log("SendVoiceOtp failed: " + error);
        }
        else
        {
            telemetry.RecordSent(sender.Vendor, "voice_otp", 1, 0);
        }
        var outputs = result.Accepted
            ? new VoiceOutputs(result.MessageId, sender.Vendor, issue.Issued!.ExpiresAt, null, Sent)
            : new VoiceOutputs(null, sender.Vendor, null, error, Failed);
        await send.CompleteAsync([new SmsRecipientOutcome(mobile.E164, sender.Vendor, result.Accepted, result.MessageId, result.VendorCode, error, null, 1)], outputs, ct);
        await CompleteAsync(context, outputs);
    }

    /// <summary>Everything a call completes with: set live, and stored with the send record to be replayed by a repeated execution.</summary>
    private sealed record VoiceOutputs(string? MessageId, string? UsedVendor, DateTimeOffset? ExpiresAt, string? Error, string Outcome);


    private async ValueTask CompleteAsync(ActivityExecutionContext context, VoiceOutputs outputs)
    {
        context.Set(MessageId, outputs.MessageId);
        context.Set(UsedVendor, outputs.UsedVendor);
        context.Set(ExpiresAt, outputs.ExpiresAt);
        context.Set(Error, outputs.Error);
        await context.CompleteActivityAsync(outputs.Outcome);
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
[FlowNode(nameof(OtpVerifyOutcome.Valid), nameof(OtpVerifyOutcome.Invalid), nameof(OtpVerifyOutcome.Expired), nameof(OtpVerifyOutcome.TooManyAttempts), nameof(OtpVerifyOutcome.RateLimited))]
public sealed class VerifyOtp : Activity
{
    [Input(Description = "The number the code was sent to.", IsRequired = true)]
    public Input<string?>? Mobile { get; set; }

    [Input(Description = "The code the user typed: never stored, wherever else the workflow holds it (e.g. the HTTP body it came in).", IsSecret = true, IsRequired = true)]
    public Input<string?>? Code { get; set; }

    [Input(Description = "The purpose the code was issued for.", DefaultValue = "otp")]
    public Input<string?>? Purpose { get; set; }

    [Input(Description = "The end user's address, for the per-IP check limit.")]
    public Input<string?>? ClientIp { get; set; }

    [Output(Description = "Valid, Invalid, Expired, TooManyAttempts (this code is locked) or RateLimited (this client address used up its checks for now; nothing was checked).")]
    public Output<string> Result { get; set; } = new();

    [Output(Description = "With the RateLimited outcome: seconds until this address may check again (for a Retry-After header).")]
    public Output<int?> RetryAfterSeconds { get; set; } = new();

    protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        OtpVerifyOutcome outcome;
        if (!PhoneNumber.TryParse(context.Get(Mobile), out var mobile, out _, ActivityInputs.Region(context)))
        {
            outcome = OtpVerifyOutcome.Invalid;
        }
        else
        {
            var otp = context.GetService<OtpService>()!;
            var clientIp = context.Get(ClientIp);
            outcome = await otp.VerifyAsync(mobile.E164, SendSms.Purpose(context.Get(Purpose)), context.Get(Code)?.Trim(), clientIp, context.CancellationToken);
            if (outcome == OtpVerifyOutcome.RateLimited)
                context.Set(RetryAfterSeconds, OtpRetry.Seconds(await otp.ChecksAllowedAgainAtAsync(clientIp!, context.CancellationToken), context.GetService<TimeProvider>()!));
        }
        context.GetService<SmsTelemetry>()?.OtpVerifications.Add(1, new KeyValuePair<string, object?>("result", outcome.ToString()));
        context.Set(Result, outcome.ToString());
        await context.CompleteActivityAsync(outcome.ToString());
    }
}
