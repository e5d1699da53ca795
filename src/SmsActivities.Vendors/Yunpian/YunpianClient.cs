using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace SmsActivities.Vendors.Yunpian;

/// <summary>
/// Yunpian v2 API: every call is a form POST carrying <c>apikey</c>; failures come back as HTTP 400 with
/// <c>{"http_status_code":400,"code":…,"msg":…,"detail":…}</c>. Typed <see cref="HttpClient"/> registered by
/// <see cref="YunpianServiceCollectionExtensions.AddYunpian"/>.
/// </summary>
public sealed class YunpianClient(HttpClient http, IOptions<YunpianOptions> options)
{
    // Codes that say "try again later" rather than "this request is wrong": access frequency/count limits,
    // unknown exception, system busy, submit failure.
    private static readonly HashSet<int> TransientCodes = [-4, -5, -50, -51, -53];

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
        if (request.Mobiles.Count is 0 or > YunpianFormat.MaxBatchSize)
            throw new VendorValidationException("mobile", $"batch_send takes 1 to {YunpianFormat.MaxBatchSize} numbers, got {request.Mobiles.Count}");
        var form = new List<KeyValuePair<string, string>> { new("mobile", string.Join(',', request.Mobiles)), new("text", request.Text) };
        AddOptional(form, request.Extend, request.Uid, request.CallbackUrl);
        return PostAsync<YunpianBatchResult>("v2/sms/batch_send.json", form, cancellationToken, deliversMessage: true);
    }

    /// <summary>Status records not fetched before (each is returned once).</summary>
    public Task<IReadOnlyList<YunpianStatusRecord>> PullStatusAsync(int pageSize = 20, CancellationToken cancellationToken = default) =>
        PostAsync<IReadOnlyList<YunpianStatusRecord>>("v2/sms/pull_status.json", [PageSize(pageSize)], cancellationToken);

    /// <summary>Replies not fetched before (each is returned once).</summary>
    public Task<IReadOnlyList<YunpianReplyRecord>> PullReplyAsync(int pageSize = 20, CancellationToken cancellationToken = default) =>
        PostAsync<IReadOnlyList<YunpianReplyRecord>>("v2/sms/pull_reply.json", [PageSize(pageSize)], cancellationToken);

    private static KeyValuePair<string, string> PageSize(int pageSize) =>
        pageSize is < 1 or > YunpianFormat.MaxPageSize
            ? throw new VendorValidationException("page_size", $"must be 1 to {YunpianFormat.MaxPageSize}, got {pageSize}")
            : new("page_size", pageSize.ToString(System.Globalization.CultureInfo.InvariantCulture));

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
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = new FormUrlEncodedContent(form) };
        if (deliversMessage) TransientRetryHandler.MarkDeliversMessage(request);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            // Connection failures and per-attempt timeouts after the retries ran out. The message holds no request data.
            throw new VendorException(VendorNames.Yunpian, null, ex.Message, isTransient: true, (int?)ex.StatusCode, ex);
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            // Errors are meant to come with HTTP 400, but an error body under 200 must not pass for an empty result.
            var isErrorBody = body.Contains("\"http_status_code\"", StringComparison.Ordinal);
            if (response.IsSuccessStatusCode && !isErrorBody && TryDeserialize<T>(body, out var result)) return result;
            throw ToException(response.StatusCode, body);
        }
    }

    private static bool TryDeserialize<T>(string body, out T result)
    {
        try
        {
            result = JsonSerializer.Deserialize<T>(body, YunpianFormat.Json)!;
            return result is not null;
        }
        catch (JsonException)
        {
            result = default!;
            return false;
        }
    }

    private static VendorException ToException(HttpStatusCode status, string body)
    {
        var http = (int)status;
        if (TryDeserialize<YunpianError>(body, out var error) && (error.Msg is not null || error.Code != 0))
        {
            var message = string.IsNullOrEmpty(error.Detail) ? error.Msg ?? "error" : $"{error.Msg}: {error.Detail}";
            return new VendorException(VendorNames.Yunpian, error.Code.ToString(System.Globalization.CultureInfo.InvariantCulture), message,
                http >= 500 || TransientCodes.Contains(error.Code), http);
        }
        return new VendorException(VendorNames.Yunpian, null, $"HTTP {http} with an unreadable body", http >= 500, http);
    }
}
