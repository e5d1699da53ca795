using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace SmsActivities.Vendors.Tencent;

/// <summary>
/// The Tencent Cloud SMS v5 (<c>tlssmssvr</c>) API, one method per call. Every call is a JSON POST to
/// <c>v5/tlssmssvr/{api}?sdkappid=…&amp;random=…</c> whose body carries <c>sig</c> and <c>time</c>.
/// A non-zero <c>result</c> becomes a <see cref="VendorException"/> with Tencent's code and text.
/// </summary>
public sealed class TencentSmsClient(HttpClient http, IOptions<TencentOptions> options, TimeProvider? timeProvider = null)
{
    public const int MaxMobilesPerMultiSend = 200;
    public const int MaxPull = 100;
    public const int MaxTemplatePage = 50;

    private readonly TencentOptions _options = options.Value;
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    // ---- SMS ----

    /// <summary><c>sendsms</c>: one number as nationcode + mobile; the sig covers the mobile.</summary>
    public Task<TencentSendResult> SendSmsAsync(TencentTel tel, TencentSmsContent content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tel);
        return PostAsync<TencentSendResult>("sendsms", SendBody(tel, content), TencentSigCover.Mobiles([tel.Mobile]), cancellationToken, deliversMessage: true);
    }

    /// <summary><c>sendisms</c>: one number in the universal "+8613788888888" form; the sig ends with <c>&amp;tel=</c> and that form.</summary>
    public Task<TencentSendResult> SendInternationalSmsAsync(PhoneNumber number, TencentSmsContent content, CancellationToken cancellationToken = default) =>
        PostAsync<TencentSendResult>("sendisms", SendBody(number.E164, content), TencentSigCover.Tel(number.E164), cancellationToken, deliversMessage: true);

    /// <summary><c>sendmultisms2</c>: up to 200 China mainland numbers; the sig covers all mobiles, comma-joined.</summary>
    public Task<TencentMultiSendResult> SendMultiSmsAsync(IReadOnlyList<TencentTel> tels, TencentSmsContent content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tels);
        if (tels.Count is 0 or > MaxMobilesPerMultiSend)
            throw new VendorValidationException("tel", $"1 to {MaxMobilesPerMultiSend} numbers per call, got {tels.Count}");
        return PostAsync<TencentMultiSendResult>("sendmultisms2", SendBody(tels, content), TencentSigCover.Mobiles(tels.Select(t => t.Mobile)), cancellationToken, deliversMessage: true);
    }

    /// <summary><c>pullstatus</c> type 0: delivery statuses not pulled before (a queue: each is returned once).</summary>
    public Task<TencentPullResult<TencentStatusRecord>> PullStatusAsync(int max = MaxPull, CancellationToken cancellationToken = default) =>
        PostAsync<TencentPullResult<TencentStatusRecord>>("pullstatus", new PullBody(0, CheckMax(max)), null, cancellationToken);

    /// <summary><c>pullstatus</c> type 1: replies not pulled before.</summary>
    public Task<TencentPullResult<TencentReplyRecord>> PullRepliesAsync(int max = MaxPull, CancellationToken cancellationToken = default) =>
        PostAsync<TencentPullResult<TencentReplyRecord>>("pullstatus", new PullBody(1, CheckMax(max)), null, cancellationToken);

    /// <summary><c>pullstatus4mobile</c> type 0 for one number and time range; the mobile is in the body but not in the sig.</summary>
    public Task<TencentPullResult<TencentStatusRecord>> PullStatusForMobileAsync(TencentTel tel, DateTimeOffset begin, DateTimeOffset end, int max = MaxPull, CancellationToken cancellationToken = default) =>
        PostAsync<TencentPullResult<TencentStatusRecord>>("pullstatus4mobile", ForMobile(0, tel, begin, end, max), null, cancellationToken);

    /// <summary><c>pullstatus4mobile</c> type 1: replies from one number in a time range.</summary>
    public Task<TencentPullResult<TencentReplyRecord>> PullRepliesForMobileAsync(TencentTel tel, DateTimeOffset begin, DateTimeOffset end, int max = MaxPull, CancellationToken cancellationToken = default) =>
        PostAsync<TencentPullResult<TencentReplyRecord>>("pullstatus4mobile", ForMobile(1, tel, begin, end, max), null, cancellationToken);

    // ---- templates (error text under "msg") ----

    /// <summary><c>add_template</c>: the new template starts pending review. <paramref name="international"/> asks for a template for numbers outside China mainland (<c>international</c> 1).</summary>
    public async Task<TencentTemplate> AddTemplateAsync(string text, TencentTemplateType type, string? title = null, string? remark = null, bool international = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        var answer = await PostAsync<TencentTemplateResult>("add_template", new TemplateBody(null, title, remark, text, type, international ? 1 : 0), null, cancellationToken).ConfigureAwait(false);
        return answer.Data ?? throw MissingData("add_template");
    }

    /// <summary><c>mod_template</c>: the changed template goes through review again.</summary>
    public async Task<TencentTemplate> ModifyTemplateAsync(int templateId, string text, TencentTemplateType type, string? title = null, string? remark = null, bool international = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        var answer = await PostAsync<TencentTemplateResult>("mod_template", new TemplateBody(templateId, title, remark, text, type, international ? 1 : 0), null, cancellationToken).ConfigureAwait(false);
        return answer.Data ?? throw MissingData("mod_template");
    }

    /// <summary><c>del_template</c>.</summary>
    public Task DeleteTemplatesAsync(IReadOnlyList<int> templateIds, CancellationToken cancellationToken = default) =>
        PostAsync<TencentResponse>("del_template", new TemplateIdsBody(Ids(templateIds, "tpl_id")), null, cancellationToken);

    /// <summary><c>get_template</c> by ids.</summary>
    public Task<TencentTemplateList> GetTemplatesAsync(IReadOnlyList<int> templateIds, CancellationToken cancellationToken = default) =>
        PostAsync<TencentTemplateList>("get_template", new TemplateIdsBody(Ids(templateIds, "tpl_id")), null, cancellationToken);

    /// <summary><c>get_template</c> page by page (<c>tpl_page</c>, at most 50 a page); <c>Total</c> counts all templates.</summary>
    public Task<TencentTemplateList> GetTemplatePageAsync(int offset, int max, CancellationToken cancellationToken = default)
    {
        if (offset < 0) throw new VendorValidationException("tpl_page.offset", "must not be negative");
        if (max is < 1 or > MaxTemplatePage) throw new VendorValidationException("tpl_page.max", $"1 to {MaxTemplatePage} per page, got {max}");
        return PostAsync<TencentTemplateList>("get_template", new TemplatePageBody(new TemplatePage(offset, max)), null, cancellationToken);
    }

    // ---- signatures (error text under "msg") ----

    /// <summary><c>add_sign</c>: <paramref name="text"/> without brackets; <paramref name="picture"/> is sent Base64-encoded.</summary>
    public async Task<TencentSign> AddSignAsync(string text, string? remark = null, byte[]? picture = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        var answer = await PostAsync<TencentSignResult>("add_sign", new SignBody(null, text, remark, Picture(picture)), null, cancellationToken).ConfigureAwait(false);
        return answer.Data ?? throw MissingData("add_sign");
    }

    /// <summary><c>mod_sign</c>.</summary>
    public async Task<TencentSign> ModifySignAsync(int signId, string text, string? remark = null, byte[]? picture = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        var answer = await PostAsync<TencentSignResult>("mod_sign", new SignBody(signId, text, remark, Picture(picture)), null, cancellationToken).ConfigureAwait(false);
        return answer.Data ?? throw MissingData("mod_sign");
    }

    /// <summary><c>del_sign</c>.</summary>
    public Task DeleteSignsAsync(IReadOnlyList<int> signIds, CancellationToken cancellationToken = default) =>
        PostAsync<TencentResponse>("del_sign", new SignIdsBody(Ids(signIds, "sign_id")), null, cancellationToken);

    /// <summary><c>get_sign</c>.</summary>
    public Task<TencentSignList> GetSignsAsync(IReadOnlyList<int> signIds, CancellationToken cancellationToken = default) =>
        PostAsync<TencentSignList>("get_sign", new SignIdsBody(Ids(signIds, "sign_id")), null, cancellationToken);

    // ---- statistics (error text under "errmsg") ----

    /// <summary><c>pullsendstatus</c>: submitted, successful and billed messages for whole hours, <paramref name="endHour"/> included.</summary>
    public async Task<TencentSendStatistics> PullSendStatisticsAsync(DateTimeOffset beginHour, DateTimeOffset endHour, CancellationToken cancellationToken = default)
    {
        var answer = await PostAsync<TencentStatisticsResult<TencentSendStatistics>>("pullsendstatus", Hours(beginHour, endHour), null, cancellationToken).ConfigureAwait(false);
        return answer.Data ?? throw MissingData("pullsendstatus");
    }

    /// <summary><c>pullcallbackstatus</c>: delivery reports and their failure distribution for whole hours.</summary>
    public async Task<TencentCallbackStatistics> PullCallbackStatisticsAsync(DateTimeOffset beginHour, DateTimeOffset endHour, CancellationToken cancellationToken = default)
    {
        var answer = await PostAsync<TencentStatisticsResult<TencentCallbackStatistics>>("pullcallbackstatus", Hours(beginHour, endHour), null, cancellationToken).ConfigureAwait(false);
        return answer.Data ?? throw MissingData("pullcallbackstatus");
    }

    // ---- helpers ----

    private static IReadOnlyList<int> Ids(IReadOnlyList<int> ids, string field) =>
        ids is { Count: > 0 } ? ids : throw new VendorValidationException(field, "at least one id is required");

    private static string? Picture(byte[]? picture) => picture is null ? null : Convert.ToBase64String(picture);

    /// <summary>Statistics take hours as the number yyyymmddhh, in Beijing time.</summary>
    private static HoursBody Hours(DateTimeOffset begin, DateTimeOffset end)
    {
        if (end < begin) throw new VendorValidationException("end_date", "must not be before begin_date");
        static long Hour(DateTimeOffset at) => long.Parse(at.ToOffset(TencentJson.ChinaOffset).ToString("yyyyMMddHH", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return new HoursBody(Hour(begin), Hour(end));
    }

    private static VendorException MissingData(string api) =>
        new(VendorNames.Tencent, "0", $"{api}: the answer has no data", isTransient: false, 200);

    private object SendBody(object tel, TencentSmsContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var sign = content.Sign ?? _options.DefaultSign;
        if (content.TemplateId is { } templateId)
            return new TemplateSendBody(tel, sign ?? string.Empty, templateId, content.Params, content.Extend ?? string.Empty, content.Ext ?? string.Empty);
        if (string.IsNullOrEmpty(content.Text))
            throw new VendorValidationException("text", "either a template id or a text is required");
        // A text send carries its signature inside the text, as 【sign】 at the head.
        var text = string.IsNullOrEmpty(sign) || content.Text.StartsWith('【') ? content.Text : $"【{sign}】{content.Text}";
        return new TextSendBody(tel, content.Type, text, content.Extend ?? string.Empty, content.Ext ?? string.Empty);
    }

    private static MobilePullBody ForMobile(int type, TencentTel tel, DateTimeOffset begin, DateTimeOffset end, int max)
    {
        ArgumentNullException.ThrowIfNull(tel);
        if (end < begin) throw new VendorValidationException("end_time", "must not be before begin_time");
        return new MobilePullBody(type, CheckMax(max), begin.ToUnixTimeSeconds(), end.ToUnixTimeSeconds(), tel.Nationcode, tel.Mobile);
    }

    private static int CheckMax(int max) => max is >= 1 and <= MaxPull
        ? max
        : throw new VendorValidationException("max", $"1 to {MaxPull} entries per pull, got {max}");

    /// <summary>Signs and posts one call. <paramref name="sigCover"/> is set only for the send calls, whose sig ends with the number.</summary>
    /// <param name="deliversMessage">Sends an SMS: Tencent v5 has no idempotency key, so an attempt with an unknown outcome is not repeated.</param>
    internal async Task<T> PostAsync<T>(string api, object body, TencentSigCover? sigCover, CancellationToken cancellationToken, bool deliversMessage = false)
        where T : TencentResponse
    {
        var random = NewRandom();
        var time = _time.GetUtcNow().ToUnixTimeSeconds();
        var payload = (JsonObject)JsonSerializer.SerializeToNode(body, body.GetType(), TencentJson.Options)!;
        payload["sig"] = TencentSigner.Sign(_options.AppKey!, random, time, sigCover);
        payload["time"] = time;

        var uri = $"v5/tlssmssvr/{api}?sdkappid={Uri.EscapeDataString(_options.SdkAppId!)}&random={random}";
        using var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = JsonContent.Create(payload, options: TencentJson.Options),
        };
        if (deliversMessage) VendorRetryRules.MarkDeliversMessage(request);

        var response = await http.SendToVendorAsync(VendorNames.Tencent, api, request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccess) throw response.StatusFailure();

        var answer = response.ReadJson<T>(TencentJson.Options);
        if (answer.Result != TencentErrorCodes.Ok)
        {
            throw new VendorException(VendorNames.Tencent, answer.Result.ToString(CultureInfo.InvariantCulture),
                answer.ErrorText, TencentErrorCodes.IsTransient(answer.Result), response.Status);
        }
        return answer;
    }

    /// <summary>A 10-digit random for the query, like the doc's "7226249334".</summary>
    private static string NewRandom() =>
        RandomNumberGenerator.GetInt32(1_000_000_000, int.MaxValue).ToString(CultureInfo.InvariantCulture);

    private sealed record TemplateSendBody(object Tel, string Sign, int TplId, IReadOnlyList<string> Params, string Extend, string Ext);

    private sealed record TextSendBody(object Tel, int Type, string Msg, string Extend, string Ext);

    private sealed record PullBody(int Type, int Max);

    private sealed record MobilePullBody(int Type, int Max, long BeginTime, long EndTime, string Nationcode, string Mobile);

    private sealed record TemplateBody(int? TplId, string? Title, string? Remark, string Text, TencentTemplateType Type, int International);

    private sealed record TemplateIdsBody(IReadOnlyList<int> TplId);

    private sealed record TemplatePage(int Offset, int Max);

    private sealed record TemplatePageBody(TemplatePage TplPage);

    private sealed record SignBody(int? SignId, string Text, string? Remark, string? Pic);

    private sealed record SignIdsBody(IReadOnlyList<int> SignId);

    private sealed record HoursBody(long BeginDate, long EndDate);
}
