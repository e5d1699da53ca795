using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace SmsActivities.Vendors.Yunpian;

/// <summary>
/// Yunpian v2 API: every call is a form POST carrying <c>apikey</c>, sent as <c>application/x-www-form-urlencoded;charset=utf-8</c>
/// with <c>Accept: application/json;charset=utf-8</c> like Yunpian's SDKs; failures come back as HTTP 400 with
/// <c>{"http_status_code":400,"code":…,"msg":…,"detail":…}</c>. Typed <see cref="HttpClient"/> registered by
/// <see cref="YunpianServiceCollectionExtensions.AddYunpian"/>.
/// </summary>
public sealed class YunpianClient(HttpClient http, IOptions<YunpianOptions> options)
{
    // Codes that say "try again later" rather than "this request is wrong": access frequency/count limits,
    // unknown exception, system busy, submit failure.
    private static readonly HashSet<int> TransientCodes = [-4, -5, -50, -51, -53];

    private static readonly MediaTypeHeaderValue FormUtf8 = new("application/x-www-form-urlencoded") { CharSet = "utf-8" };
    private static readonly MediaTypeWithQualityHeaderValue JsonUtf8 = new("application/json") { CharSet = "utf-8" };

    public Task<YunpianUser> GetUserAsync(CancellationToken cancellationToken = default) =>
        PostAsync<YunpianUser>("v2/user/get.json", [], cancellationToken);

    public Task<YunpianSendResult> SingleSendAsync(YunpianSingleSend request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var form = new List<KeyValuePair<string, string>> { new("mobile", request.Mobile), new("text", request.Text) };
        AddOptional(form, request.Extend, request.Uid, request.CallbackUrl);
        if (request.Register is { } register) form.Add(new("register", register ? "true" : "false"));
        return PostAsync<YunpianSendResult>("v2/sms/single_send.json", form, cancellationToken, deliversMessage: true);
    }

    public Task<YunpianBatchResult> BatchSendAsync(YunpianBatchSend request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckBatch(request.Mobiles, "batch_send");
        var form = new List<KeyValuePair<string, string>> { new("mobile", string.Join(',', request.Mobiles)), new("text", request.Text) };
        AddOptional(form, request.Extend, request.Uid, request.CallbackUrl);
        return PostAsync<YunpianBatchResult>("v2/sms/batch_send.json", form, cancellationToken, deliversMessage: true);
    }

    /// <summary><c>multi_send</c>: a different text per number, answered per number in the order sent.</summary>
    public Task<YunpianBatchResult> MultiSendAsync(YunpianMultiSend request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckBatch(request.Mobiles, "multi_send");
        if (request.Texts.Count != request.Mobiles.Count)
            throw new VendorValidationException("text", $"multi_send takes one text per number: {request.Mobiles.Count} numbers, {request.Texts.Count} texts");
        for (var i = 0; i < request.Texts.Count; i++)
        {
            if (string.IsNullOrEmpty(request.Texts[i]) || request.Texts[i].Length > YunpianFormat.MaxTextLength)
                throw new VendorValidationException($"text[{i}]", $"1 to {YunpianFormat.MaxTextLength} characters");
        }
        var form = new List<KeyValuePair<string, string>>
        {
            new("mobile", string.Join(',', request.Mobiles)),
            new("text", YunpianFormat.MultiText(request.Texts)),
        };
        AddOptional(form, request.Extend, request.Uid, request.CallbackUrl);
        return PostAsync<YunpianBatchResult>("v2/sms/multi_send.json", form, cancellationToken, deliversMessage: true);
    }

    /// <summary><c>tpl_single_send</c>: an approved template to one number.</summary>
    public Task<YunpianSendResult> TemplateSingleSendAsync(YunpianTemplateSend request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Mobiles.Count != 1) throw new VendorValidationException("mobile", $"tpl_single_send takes exactly one number, got {request.Mobiles.Count}");
        return PostAsync<YunpianSendResult>("v2/sms/tpl_single_send.json", TemplateForm(request), cancellationToken, deliversMessage: true);
    }

    /// <summary><c>tpl_batch_send</c>: an approved template to up to 1000 numbers, answered per number in the order sent.</summary>
    public Task<YunpianBatchResult> TemplateBatchSendAsync(YunpianTemplateSend request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckBatch(request.Mobiles, "tpl_batch_send");
        return PostAsync<YunpianBatchResult>("v2/sms/tpl_batch_send.json", TemplateForm(request), cancellationToken, deliversMessage: true);
    }

    /// <summary>Status records not fetched before (each is returned once).</summary>
    public Task<IReadOnlyList<YunpianStatusRecord>> PullStatusAsync(int pageSize = 20, CancellationToken cancellationToken = default) =>
        PostAsync<IReadOnlyList<YunpianStatusRecord>>("v2/sms/pull_status.json", [PageSize(pageSize)], cancellationToken);

    /// <summary>Replies not fetched before (each is returned once).</summary>
    public Task<IReadOnlyList<YunpianReplyRecord>> PullReplyAsync(int pageSize = 20, CancellationToken cancellationToken = default) =>
        PostAsync<IReadOnlyList<YunpianReplyRecord>>("v2/sms/pull_reply.json", [PageSize(pageSize)], cancellationToken);

    private static void CheckBatch(IReadOnlyList<string> mobiles, string api)
    {
        if (mobiles.Count is 0 or > YunpianFormat.MaxBatchSize)
            throw new VendorValidationException("mobile", $"{api} takes 1 to {YunpianFormat.MaxBatchSize} numbers, got {mobiles.Count}");
    }

    private static List<KeyValuePair<string, string>> TemplateForm(YunpianTemplateSend request)
    {
        if (request.TemplateId <= 0) throw new VendorValidationException("tpl_id", "must be a positive template id");
        var form = new List<KeyValuePair<string, string>>
        {
            new("mobile", string.Join(',', request.Mobiles)),
            new("tpl_id", request.TemplateId.ToString(CultureInfo.InvariantCulture)),
            new("tpl_value", YunpianFormat.TemplateValue(request.Values)),
        };
        AddOptional(form, request.Extend, request.Uid, callbackUrl: null);
        return form;
    }

    private static KeyValuePair<string, string> PageSize(int pageSize) =>
        pageSize is < 1 or > YunpianFormat.MaxPageSize
            ? throw new VendorValidationException("page_size", $"must be 1 to {YunpianFormat.MaxPageSize}, got {pageSize}")
            : new("page_size", pageSize.ToString(CultureInfo.InvariantCulture));

    private static void AddOptional(List<KeyValuePair<string, string>> form, string? extend, string? uid, Uri? callbackUrl)
    {
        if (!string.IsNullOrEmpty(extend)) form.Add(new("extend", extend));
        if (!string.IsNullOrEmpty(uid)) form.Add(new("uid", uid));
        if (callbackUrl is not null) form.Add(new("callback_url", callbackUrl.AbsoluteUri));
    }

    /// <param name="deliversMessage">Sends an SMS: Yunpian's <c>uid</c> only labels it (no dedupe), so an attempt with an unknown outcome is not repeated.</param>
    private async Task<T> PostAsync<T>(string path, List<KeyValuePair<string, string>> form, CancellationToken cancellationToken, bool deliversMessage = false)
    {
        form.Insert(0, new("apikey", options.Value.ApiKey!));
        var content = new FormUrlEncodedContent(form);
        content.Headers.ContentType = FormUtf8;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = content };
        request.Headers.Accept.Add(JsonUtf8);
        if (deliversMessage) VendorRetryRules.MarkDeliversMessage(request);

        var answer = await http.SendToVendorAsync(VendorNames.Yunpian, path, request, cancellationToken).ConfigureAwait(false);
        // Errors are meant to come with HTTP 400, but an error body under 200 must not pass for an empty result.
        var isErrorBody = answer.Body.Contains("\"http_status_code\"", StringComparison.Ordinal);
        if (answer.IsSuccess && !isErrorBody) return answer.ReadJson<T>(YunpianFormat.Json);
        throw ToException(answer);
    }

    private static VendorException ToException(VendorAnswer answer)
    {
        YunpianError? error = null;
        try
        {
            error = JsonSerializer.Deserialize<YunpianError>(answer.Body, YunpianFormat.Json);
        }
        catch (JsonException)
        {
        }
        if (error is null || (error.Msg is null && error.Code == 0)) return answer.StatusFailure();

        var message = string.IsNullOrEmpty(error.Detail) ? error.Msg ?? "error" : $"{error.Msg}: {error.Detail}";
        var kind = TransientCodes.Contains(error.Code) ? VendorFailureKind.Transient
            : answer.IsSuccess ? VendorFailureKind.Rejected
            : VendorRetryRules.ClassifyStatus(answer.StatusCode);
        return new VendorException(VendorNames.Yunpian, error.Code.ToString(CultureInfo.InvariantCulture), message, kind, answer.Status);
    }
}
