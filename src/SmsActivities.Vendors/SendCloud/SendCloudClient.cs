using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace SmsActivities.Vendors.SendCloud;

/// <summary>
/// SendCloud SMS API (<c>smsapi/send</c>, <c>sendVoice</c>, <c>sendCode</c>, <c>timestamp/get</c>): signed form POSTs
/// carrying <c>smsUser</c>; the smsKey only ever goes into the signature. Answers are HTTP 200 with a
/// <c>statusCode</c> in the body. Typed <see cref="HttpClient"/> registered by <see cref="SendCloudServiceCollectionExtensions.AddSendCloud"/>.
/// </summary>
public sealed class SendCloudClient(HttpClient http, IOptions<SendCloudOptions> options, TimeProvider? time = null)
{
    /// <summary>statusCode 400: the sendRequestId was seen within the hour, so the request was not processed again.</summary>
    public const int DuplicateRequest = 400;

    // 501 "server exception" may pass; everything else SendCloud answers is about the request itself.
    private static readonly HashSet<int> TransientCodes = [501];

    public Task<SendCloudSendInfo> SendAsync(SendCloudTemplateSend request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Phones.Count is 0 or > SendCloudFormat.MaxRecipients)
            throw new VendorValidationException("phone", $"1 to {SendCloudFormat.MaxRecipients} numbers per call, got {request.Phones.Count}");
        if (request.MsgType is < SendCloudFormat.MsgTypeSms or > SendCloudFormat.MsgTypeInternational)
            throw new VendorValidationException("msgType", "must be 0 (SMS), 1 (MMS) or 2 (international SMS)");
        foreach (var (name, value) in request.Vars)
        {
            if (value.Length > SendCloudFormat.MaxVarLength)
                throw new VendorValidationException($"vars.{name}", $"at most {SendCloudFormat.MaxVarLength} characters");
            if (value.Contains("http://", StringComparison.OrdinalIgnoreCase) || value.Contains("https://", StringComparison.OrdinalIgnoreCase))
                throw new VendorValidationException($"vars.{name}", "links are not allowed in variables");
        }

        var form = new List<KeyValuePair<string, string>>
        {
            new("templateId", request.TemplateId.ToString(CultureInfo.InvariantCulture)),
            new("msgType", request.MsgType.ToString(CultureInfo.InvariantCulture)),
            new("phone", string.Join(',', request.Phones)),
        };
        if (request.Vars.Count > 0) form.Add(new("vars", JsonSerializer.Serialize(request.Vars, SendCloudFormat.Json)));
        if (request.LabelId is { } labelId)
        {
            if (labelId <= 0) throw new VendorValidationException("labelId", "must be a positive label id");
            form.Add(new("labelId", labelId.ToString(CultureInfo.InvariantCulture)));
        }
        return PostAsync<SendCloudSendInfo>("smsapi/send", form, request.SendRequestId, request.Tag, cancellationToken);
    }

    public Task<SendCloudSendInfo> SendVoiceAsync(SendCloudVoiceSend request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequireCode(request.Code);
        return PostAsync<SendCloudSendInfo>("smsapi/sendVoice", [new("phone", request.Phone), new("code", request.Code)],
            request.SendRequestId, request.Tag, cancellationToken);
    }

    public Task<SendCloudSendInfo> SendCodeAsync(SendCloudCodeSend request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequireCode(request.Code);
        if (request.MsgType is not (SendCloudFormat.MsgTypeSms or SendCloudFormat.MsgTypeInternational))
            throw new VendorValidationException("msgType", "must be 0 (SMS) or 2 (international SMS)");
        var form = new List<KeyValuePair<string, string>>
        {
            new("msgType", request.MsgType.ToString(CultureInfo.InvariantCulture)),
            new("phone", request.Phone),
            new("code", request.Code),
        };
        if (request.SignId is { } signId) form.Add(new("signId", signId.ToString(CultureInfo.InvariantCulture)));
        else if (!string.IsNullOrWhiteSpace(request.SignName)) form.Add(new("signName", request.SignName));
        else throw new VendorValidationException("signId", "either signId or signName is required");
        return PostAsync<SendCloudSendInfo>("smsapi/sendCode", form, request.SendRequestId, request.Tag, cancellationToken);
    }

    /// <summary>SendCloud's clock, for callers whose own clock drifts beyond the 6-second timestamp window.</summary>
    public async Task<DateTimeOffset> GetTimestampAsync(CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("smsapi/timestamp/get", UriKind.Relative));
        var info = Read<SendCloudTimestampInfo>(await http.SendToVendorAsync(VendorNames.SendCloud, "smsapi/timestamp/get", request, cancellationToken).ConfigureAwait(false));
        return DateTimeOffset.FromUnixTimeMilliseconds(info.Timestamp);
    }

    private static void RequireCode(string code)
    {
        if (!SendCloudFormat.IsValidCode(code)) throw new VendorValidationException("code", "must be 4 to 6 digits");
    }

    private async Task<T> PostAsync<T>(string path, List<KeyValuePair<string, string>> form, string? sendRequestId, string? tag, CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (sendRequestId is not null)
        {
            if (sendRequestId.Length is 0 or > SendCloudFormat.MaxSendRequestIdLength)
                throw new VendorValidationException("sendRequestId", $"1 to {SendCloudFormat.MaxSendRequestIdLength} characters");
            form.Add(new("sendRequestId", sendRequestId));
        }
        if (tag is not null)
        {
            if (tag.Length > SendCloudFormat.MaxTagLength || !IsJsonObject(tag))
                throw new VendorValidationException("tag", $"a JSON object of at most {SendCloudFormat.MaxTagLength} characters");
            form.Add(new("tag", tag));
        }
        form.Add(new("smsUser", o.SmsUser!));
        if (o.IncludeTimestamp)
            form.Add(new("timestamp", (time ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)));
        form.Add(new(SendCloudSignature.FieldName, SendCloudSignature.SignRequest(form, o.SmsKey!, o.SignatureAlgorithm)));

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = new FormUrlEncodedContent(form) };
        // SendCloud drops a repeated sendRequestId, so only a send without one must not be repeated when its outcome is unknown.
        if (sendRequestId is null) VendorRetryRules.MarkDeliversMessage(request);
        var answer = await http.SendToVendorAsync(VendorNames.SendCloud, path, request, cancellationToken).ConfigureAwait(false);
        return Read<T>(answer);
    }

    private static bool IsJsonObject(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>SendCloud answers every call with a <c>result</c>/<c>statusCode</c> body, whatever the HTTP status.</summary>
    private static T Read<T>(VendorAnswer answer)
    {
        SendCloudResponse<T>? body = null;
        try
        {
            body = JsonSerializer.Deserialize<SendCloudResponse<T>>(answer.Body, SendCloudFormat.Json);
        }
        catch (JsonException)
        {
        }

        if (body is null) throw answer.IsSuccess ? answer.Unreadable("not SendCloud's answer") : answer.StatusFailure();
        if (!body.Result || body.Info is null)
        {
            var kind = TransientCodes.Contains(body.StatusCode) ? VendorFailureKind.Transient
                : answer.IsSuccess ? VendorFailureKind.Rejected
                : VendorRetryRules.ClassifyStatus(answer.StatusCode);
            throw new VendorException(VendorNames.SendCloud, body.StatusCode.ToString(CultureInfo.InvariantCulture), body.Message ?? "request failed", kind, answer.Status);
        }
        return body.Info;
    }
}
