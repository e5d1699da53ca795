using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Vendors;
using SmsActivities.Vendors.Tencent;

namespace SmsActivities.Emulators.Tencent;

/// <summary>
/// Tencent Cloud SMS v5 (<c>POST /v5/tlssmssvr/{api}?sdkappid=…&amp;random=…</c>) on loopback: sdkappid/appkey
/// credentials, the sig (with mobiles for sendsms and sendmultisms2 only), the 10-minute <c>time</c> window,
/// Tencent's result codes, template and signature review state, scripted delivery pushed to the status
/// callback (JSON array) and replies to the reply callback (JSON object), both also served by the pull APIs.
/// </summary>
public sealed partial class TencentEmulator : IVendorEmulator, IScriptedEmulator
{
    public const string SandboxSdkAppId = "1400000001";
    public const string SandboxAppKey = "sandbox-tencent-appkey-0001";
    /// <summary>The account's default signature: approved from the start, used when a send names none.</summary>
    public const string SandboxSign = "SmsSandbox";

    /// <summary>The largest difference between a request's <c>time</c> and the server clock.</summary>
    public static readonly TimeSpan TimeWindow = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The doc gives no resend schedule for unacknowledged callbacks; the emulator resends three times,
    /// after 1, 5 and 15 minutes (scaled by the clock).
    /// </summary>
    public static IReadOnlyList<TimeSpan> PushRetrySchedule { get; } =
        [TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15)];

    private readonly EmulatorContext _context;
    private readonly Dictionary<string, Api> _apis;
    private readonly Lock _gate = new();

    public TencentEmulator(EmulatorContext context)
    {
        _context = context;
        _apis = new Dictionary<string, Api>(StringComparer.Ordinal)
        {
            ["sendsms"] = new(false, SendSms, b => TencentSigCover.Mobiles([RequiredTel(b["tel"]).Mobile])),
            ["sendisms"] = new(false, SendIsms, b => TencentSigCover.Tel(RequiredString(b, "tel"))),
            ["sendmultisms2"] = new(false, SendMultiSms, b => TencentSigCover.Mobiles(RequiredTels(b).Select(t => t.Mobile))),
            ["pullstatus"] = new(false, PullStatus),
            // pullstatus4mobile carries the mobile in its body, but its sig does not cover it.
            ["pullstatus4mobile"] = new(false, PullStatusForMobile),
            ["pullsendstatus"] = new(false, PullSendStatistics),
            ["pullcallbackstatus"] = new(false, PullCallbackStatistics),
            ["add_template"] = new(true, AddTemplate),
            ["mod_template"] = new(true, ModifyTemplate),
            ["del_template"] = new(true, DeleteTemplates),
            ["get_template"] = new(true, GetTemplates),
            ["add_sign"] = new(true, AddSign),
            ["mod_sign"] = new(true, ModifySign),
            ["del_sign"] = new(true, DeleteSigns),
            ["get_sign"] = new(true, GetSigns),
        };
    }

    public string Vendor => VendorNames.Tencent;
    public DeliveryScript Script { get; } = new();

    /// <summary>The SDKAppID this emulator answers to.</summary>
    public string SdkAppId { get; set; } = SandboxSdkAppId;

    /// <summary>The App Key sigs are checked with.</summary>
    public string AppKey { get; set; } = SandboxAppKey;

    public PushCallbacks Callbacks { get; } = new("status", "reply");

    /// <summary>Where delivery statuses are pushed (a JSON array per push); null: pull only.</summary>
    public Uri? StatusCallbackUrl { get => Callbacks["status"]; set => Callbacks["status"] = value; }

    /// <summary>Where handset replies are pushed (one JSON object each); null: kept for pullstatus type 1.</summary>
    public Uri? ReplyCallbackUrl { get => Callbacks["reply"]; set => Callbacks["reply"] = value; }

    /// <summary>When true, new and modified templates and signatures are approved at once instead of pending review.</summary>
    public bool AutoApprove { get; set; }

    public EmulatorFaults Faults { get; } = new();

    public void Map(IEndpointRouteBuilder routes) => routes.MapPost("/v5/tlssmssvr/{api}", HandleAsync);

    /// <param name="ErrorInMsg">Template and signature calls answer their error text under <c>msg</c>; the rest under <c>errmsg</c>.</param>
    /// <param name="SigCover">The number the sig ends with, for the three send calls.</param>
    private sealed record Api(bool ErrorInMsg, Action<JsonObject, JsonObject> Handle, Func<JsonObject, TencentSigCover>? SigCover = null);

    /// <summary>A Tencent <c>result</c> code with its text, answered with HTTP 200 like the real service.</summary>
    private sealed class TencentError(int code, string message) : Exception(message)
    {
        public int Code { get; } = code;
    }

    private async Task<IResult> HandleAsync(string api, HttpContext http)
    {
        if (!_apis.TryGetValue(api, out var spec))
            return Answer(Reply(false, TencentErrorCodes.UnknownApi, $"no such REST API: {api}"));
        try
        {
            var body = await ReadBodyAsync(http).ConfigureAwait(false);
            Authenticate(http.Request.Query, body, spec.SigCover?.Invoke(body));
            var answer = Reply(spec.ErrorInMsg, TencentErrorCodes.Ok, spec.ErrorInMsg ? string.Empty : "OK");
            lock (_gate) spec.Handle(body, answer);
            return Answer(answer);
        }
        catch (TencentError error)
        {
            return Answer(Reply(spec.ErrorInMsg, error.Code, error.Message));
        }
    }

    private static JsonObject Reply(bool errorInMsg, int result, string text) =>
        new() { ["result"] = result, [errorInMsg ? "msg" : "errmsg"] = text };

    private static IResult Answer(JsonObject answer) =>
        Results.Text(answer.ToJsonString(TencentJson.Options), "application/json; charset=utf-8");

    private static async Task<JsonObject> ReadBodyAsync(HttpContext http)
    {
        try
        {
            return await JsonNode.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted).ConfigureAwait(false) as JsonObject
                ?? throw new TencentError(TencentErrorCodes.MalformedRequest, "the request body must be a JSON object");
        }
        catch (JsonException)
        {
            throw new TencentError(TencentErrorCodes.MalformedRequest, "the request body is not valid JSON");
        }
    }

    private void Authenticate(IQueryCollection query, JsonObject body, TencentSigCover? sigCover)
    {
        var sdkAppId = query["sdkappid"].ToString();
        if (sdkAppId.Length == 0) throw new TencentError(TencentErrorCodes.MalformedRequest, "sdkappid is missing from the URL");
        if (!string.Equals(sdkAppId, SdkAppId, StringComparison.Ordinal))
            throw new TencentError(TencentErrorCodes.UnknownSdkAppId, "sdkappid does not exist");
        var random = query["random"].ToString();
        if (random.Length == 0 || !random.All(char.IsAsciiDigit))
            throw new TencentError(TencentErrorCodes.MalformedRequest, "random must be a number in the URL");
        var sig = OptionalString(body, "sig");
        if (string.IsNullOrEmpty(sig)) throw new TencentError(TencentErrorCodes.SigMissing, "the body has no sig");
        var time = RequiredLong(body, "time");
        if (Math.Abs(_context.Clock.Now.ToUnixTimeSeconds() - time) > TimeWindow.TotalSeconds)
            throw new TencentError(TencentErrorCodes.TimeOutOfWindow, "time differs from the server time by more than 10 minutes");
        if (!TencentSigner.Verify(TencentSigner.Sign(AppKey, random, time, sigCover), sig))
            throw new TencentError(TencentErrorCodes.SigMismatch, "sig verification failed");
    }

    // ---- body fields: a missing or mistyped field is result 1004 ----

    private static string? OptionalString(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw Malformed(name, "a string"),
    };

    private static string RequiredString(JsonObject body, string name) =>
        OptionalString(body, name) is { Length: > 0 } s ? s : throw Malformed(name, "a non-empty string");

    private static long? OptionalLong(JsonObject body, string name) => body[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<long>(out var n) => n,
        JsonValue v when v.TryGetValue<double>(out var d) && d == Math.Floor(d) => (long)d,
        _ => throw Malformed(name, "a number"),
    };

    private static long RequiredLong(JsonObject body, string name) => OptionalLong(body, name) ?? throw Malformed(name, "a number");

    private static int RequiredInt(JsonObject body, string name, int min, int max) =>
        RequiredLong(body, name) is var n && n >= min && n <= max ? (int)n : throw Malformed(name, $"a number from {min} to {max}");

    /// <summary>Fields such as <c>tpl_id</c> and <c>sign_id</c> take one id or an array of ids.</summary>
    private static IReadOnlyList<int> RequiredIds(JsonObject body, string name) => body[name] switch
    {
        JsonArray array when array.Count > 0 => array.Select(n => n is JsonValue v && v.TryGetValue<int>(out var id) ? id : throw Malformed(name, "an array of ids")).ToArray(),
        JsonValue v when v.TryGetValue<int>(out var id) => [id],
        _ => throw Malformed(name, "an id or a non-empty array of ids"),
    };

    private static TencentError Malformed(string field, string expected) =>
        new(TencentErrorCodes.MalformedRequest, $"{field} must be {expected}");

    private static string NowChina(DateTimeOffset at) =>
        at.ToOffset(TencentJson.ChinaOffset).ToString(TencentJson.ReceiveTimeFormat, CultureInfo.InvariantCulture);
}
