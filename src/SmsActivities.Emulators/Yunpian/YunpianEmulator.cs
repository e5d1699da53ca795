using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SmsActivities.Vendors;
using SmsActivities.Vendors.Yunpian;

namespace SmsActivities.Emulators.Yunpian;

/// <summary>A message the emulator accepted, as the caller sent it.</summary>
public sealed record YunpianSentMessage(long Sid, string Mobile, string E164, string Text, string? Extend, string? Uid, Uri? CallbackUrl, bool? Register, DateTimeOffset At);

/// <summary>
/// Yunpian v2 on loopback: <c>/v2/user/get.json</c>, <c>/v2/sms/single_send.json</c>, <c>/v2/sms/batch_send.json</c>,
/// <c>/v2/sms/multi_send.json</c> (a URL-encoded text per number), <c>/v2/sms/tpl_single_send.json</c> and
/// <c>/v2/sms/tpl_batch_send.json</c> (templates seeded with <see cref="SeedTemplate"/>, filled from <c>tpl_value</c>),
/// <c>/v2/sms/pull_status.json</c>, <c>/v2/sms/pull_reply.json</c>. Form POSTs with <c>apikey</c>; errors as HTTP 400
/// <c>{"http_status_code":400,"code","msg","detail"}</c> with Yunpian's codes; harassment prevention (same text to the
/// same number once per 30 s, three times per 5 min); status and reply pushes as <c>sms_status=</c>/<c>sms_reply=</c>
/// URL-encoded JSON, retried until the body is exactly <c>SUCCESS</c> or <c>0</c>. Without a push URL records wait for the pull APIs.
/// </summary>
public sealed class YunpianEmulator(EmulatorContext context) : IVendorEmulator, IScriptedEmulator
{
    /// <summary>The apikey the emulator accepts unless <see cref="ApiKey"/> is changed (32 characters, like a real one).</summary>
    public const string SandboxApiKey = "5a9c1d2e3f4b5a6c7d8e9f0a1b2c3d4e";

    /// <summary>Price of one billed SMS segment, in <see cref="Unit"/>.</summary>
    public const decimal PricePerSegment = 0.05m;
    public const string Unit = "RMB";

    private static readonly TimeSpan SameTextInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan SameTextWindow = TimeSpan.FromMinutes(5);
    private const int SameTextPerWindow = 3;

    // Yunpian retries unacknowledged status pushes every 5 minutes 3 times, replies every minute 5 times.
    private static readonly TimeSpan[] StatusRetries = [TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5)];
    private static readonly TimeSpan[] ReplyRetries = Enumerable.Repeat(TimeSpan.FromMinutes(1), 5).ToArray();

    private readonly RecentLog<YunpianSentMessage> _sent = new(RecentLogs.SentMessages);
    private readonly ConcurrentQueue<YunpianStatusRecord> _statusForPull = new();
    private readonly ConcurrentQueue<YunpianReplyRecord> _repliesForPull = new();
    private readonly Dictionary<(string Mobile, string Text), List<DateTimeOffset>> _recentSends = [];
    private readonly ConcurrentDictionary<long, string> _templates = new();
    private readonly Lock _gate = new();
    private long _nextTemplateId = 1_000_000;
    private long _nextSid = 16_741_236_146_000; // beyond 32 bits on purpose: sids are 64-bit.
    private decimal _balance = 1000m;

    public string Vendor => VendorNames.Yunpian;
    public DeliveryScript Script { get; } = new();
    public EmulatorContext Context { get; } = context;
    public EmulatorFaults Faults { get; } = new();

    /// <summary>The account's apikey; requests with another get code -1.</summary>
    public string ApiKey { get; set; } = SandboxApiKey;

    public PushCallbacks Callbacks { get; } = new("status", "reply");

    /// <summary>The dashboard's status push address; a send's <c>callback_url</c> overrides it. Null: keep for pull_status.</summary>
    public Uri? StatusCallbackUrl { get => Callbacks["status"]; set => Callbacks["status"] = value; }

    /// <summary>The dashboard's reply push address. Null: keep for pull_reply.</summary>
    public Uri? ReplyCallbackUrl { get => Callbacks["reply"]; set => Callbacks["reply"] = value; }

    /// <summary>Imitate senders that URL-encode the pushed JSON twice.</summary>
    public bool DoubleEncodePushes { get; set; }

    /// <summary>The account's system extend number, reported as <c>base_extend</c>.</summary>
    public string BaseExtend { get; set; } = "8888";

    public decimal Balance
    {
        get { lock (_gate) return _balance; }
        set { lock (_gate) _balance = value; }
    }

    public IReadOnlyList<YunpianSentMessage> Sent => _sent.ToArray();

    /// <summary>Adds an approved template (e.g. <c>【Acme】Your code is #code#</c>) and returns its <c>tpl_id</c>.</summary>
    public long SeedTemplate(string content)
    {
        ArgumentException.ThrowIfNullOrEmpty(content);
        var id = Interlocked.Increment(ref _nextTemplateId);
        _templates[id] = content;
        return id;
    }

    public void Map(IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        MapApi(routes, "/v2/user/get.json", _ => Results.Json(new YunpianUser("sandbox", "2012-09-11 15:14:00", "13812341234", "sandbox@example.com",
            null, "v2", Balance, 100m, "sandbox", "13812341234"), YunpianFormat.Json));
        MapApi(routes, "/v2/sms/single_send.json", SingleSend);
        MapApi(routes, "/v2/sms/batch_send.json", BatchSend);
        MapApi(routes, "/v2/sms/multi_send.json", MultiSend);
        MapApi(routes, "/v2/sms/tpl_single_send.json", TemplateSingleSend);
        MapApi(routes, "/v2/sms/tpl_batch_send.json", TemplateBatchSend);
        MapApi(routes, "/v2/sms/pull_status.json", form => Pull(form, _statusForPull));
        MapApi(routes, "/v2/sms/pull_reply.json", form => Pull(form, _repliesForPull));
    }

    private void MapApi(IEndpointRouteBuilder routes, string path, Func<IFormCollection, IResult> handler)
    {
        routes.MapGet(path, () => Error(11, "接口不支持GET方式调用", "请使用POST方式调用"));
        routes.MapPost(path, async (HttpContext http) =>
        {
            var form = http.Request.HasFormContentType
                ? await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false)
                : FormCollection.Empty;
            var apikey = form["apikey"].ToString();
            if (apikey.Length == 0) return Missing("apikey");
            if (!string.Equals(apikey, ApiKey, StringComparison.Ordinal)) return Error(-1, "非法的apikey", "请检查的apikey是否正确");
            return handler(form);
        });
    }

    private IResult SingleSend(IFormCollection form)
    {
        if (ReadSendFields(form, out var text, out var extend, out var uid, out var callback) is { } invalid) return invalid;
        var mobile = form["mobile"].ToString();
        if (mobile.Length == 0) return Missing("mobile");
        if (mobile.Contains(',', StringComparison.Ordinal)) return BadFormat("mobile", "single_send 只支持单个号码");
        bool? register = null;
        if (form.TryGetValue("register", out var registerValue))
        {
            if (!bool.TryParse(registerValue, out var flag)) return BadFormat("register", "只能为 true 或 false");
            register = flag;
        }

        var result = Accept(mobile, text, extend, uid, callback, register);
        return result.Code == 0 ? Results.Json(result, YunpianFormat.Json) : Error(result.Code, result.Msg!, result.Msg!);
    }

    private IResult BatchSend(IFormCollection form)
    {
        if (ReadSendFields(form, out var text, out var extend, out var uid, out var callback) is { } invalid) return invalid;
        if (ReadMobiles(form, out var mobiles) is { } badMobiles) return badMobiles;
        return BatchAnswer(mobiles.Select(m => Accept(m, text, extend, uid, callback, register: null)).ToArray());
    }

    /// <summary>multi_send: the i-th text (URL-encoded on its own, then comma-joined) goes to the i-th number.</summary>
    private IResult MultiSend(IFormCollection form)
    {
        if (ReadSendFields(form, out var joined, out var extend, out var uid, out var callback, checkLength: false) is { } invalid) return invalid;
        if (ReadMobiles(form, out var mobiles) is { } badMobiles) return badMobiles;
        var texts = YunpianFormat.ParseMultiText(joined);
        if (texts.Count != mobiles.Length) return BadFormat("text", $"短信内容个数({texts.Count})与手机号个数({mobiles.Length})不一致");
        if (texts.FirstOrDefault(t => t.Length == 0 || t.Length > YunpianFormat.MaxTextLength) is not null)
            return BadFormat("text", $"每条内容长度须为1-{YunpianFormat.MaxTextLength}个字");
        return BatchAnswer(mobiles.Select((m, i) => Accept(m, texts[i], extend, uid, callback, register: null)).ToArray());
    }

    private IResult TemplateSingleSend(IFormCollection form)
    {
        if (ReadTemplate(form, out var text) is { } invalid) return invalid;
        var mobile = form["mobile"].ToString();
        if (mobile.Length == 0) return Missing("mobile");
        if (mobile.Contains(',', StringComparison.Ordinal)) return BadFormat("mobile", "tpl_single_send 只支持单个号码");
        var result = Accept(mobile, text, NullIfEmpty(form["extend"].ToString()), NullIfEmpty(form["uid"].ToString()), null, register: null);
        return result.Code == 0 ? Results.Json(result, YunpianFormat.Json) : Error(result.Code, result.Msg!, result.Msg!);
    }

    private IResult TemplateBatchSend(IFormCollection form)
    {
        if (ReadTemplate(form, out var text) is { } invalid) return invalid;
        if (ReadMobiles(form, out var mobiles) is { } badMobiles) return badMobiles;
        var (extend, uid) = (NullIfEmpty(form["extend"].ToString()), NullIfEmpty(form["uid"].ToString()));
        return BatchAnswer(mobiles.Select(m => Accept(m, text, extend, uid, null, register: null)).ToArray());
    }

    /// <summary>The template's text with every <c>#name#</c> replaced from <c>tpl_value</c>; a placeholder left unfilled is an error, as at Yunpian.</summary>
    private IResult? ReadTemplate(IFormCollection form, out string text)
    {
        text = string.Empty;
        var rawId = form["tpl_id"].ToString();
        if (rawId.Length == 0) return Missing("tpl_id");
        if (!long.TryParse(rawId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || !_templates.TryGetValue(id, out var template))
            return Error(5, "未找到对应id的模板", $"模板 {rawId} 不存在或未审核通过");
        var rawValue = form["tpl_value"].ToString();
        var values = YunpianFormat.ParseTemplateValue(rawValue);
        if (values is null) return BadFormat("tpl_value", "应为 urlencode(#key#)=urlencode(value) 以 & 连接");
        foreach (var (name, value) in values) template = template.Replace($"#{name}#", value, StringComparison.Ordinal);
        if (System.Text.RegularExpressions.Regex.IsMatch(template, "#[^#\\s]+#")) return BadFormat("tpl_value", "模板变量未全部赋值");
        if (template.Length > YunpianFormat.MaxTextLength) return BadFormat("tpl_value", $"替换后内容长度不能超过{YunpianFormat.MaxTextLength}个字");
        text = template;
        return null;
    }

    private static IResult? ReadMobiles(IFormCollection form, out string[] mobiles)
    {
        mobiles = form["mobile"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (mobiles.Length == 0) return Missing("mobile");
        return mobiles.Length > YunpianFormat.MaxBatchSize ? BadFormat("mobile", $"号码个数不能超过{YunpianFormat.MaxBatchSize}个") : null;
    }

    private static IResult BatchAnswer(YunpianSendResult[] data)
    {
        var accepted = data.Where(d => d.Code == 0).ToArray();
        return Results.Json(new
        {
            total_count = accepted.Sum(d => d.Count),
            // Yunpian sends the total as a string with four decimals.
            total_fee = accepted.Sum(d => d.Fee).ToString("0.0000", CultureInfo.InvariantCulture),
            unit = Unit,
            data,
        }, YunpianFormat.Json);
    }

    private static IResult? ReadSendFields(IFormCollection form, out string text, out string? extend, out string? uid, out Uri? callback, bool checkLength = true)
    {
        text = form["text"].ToString();
        extend = NullIfEmpty(form["extend"].ToString());
        uid = NullIfEmpty(form["uid"].ToString());
        callback = null;
        if (text.Length == 0) return Missing("text");
        if (checkLength && text.Length > YunpianFormat.MaxTextLength) return BadFormat("text", $"长度不能超过{YunpianFormat.MaxTextLength}个字");
        if (extend is not null && !extend.All(char.IsAsciiDigit)) return BadFormat("extend", "只能为数字");
        var url = form["callback_url"].ToString();
        if (url.Length > 0 && (!Uri.TryCreate(url, UriKind.Absolute, out callback) || (callback.Scheme != Uri.UriSchemeHttp && callback.Scheme != Uri.UriSchemeHttps)))
            return BadFormat("callback_url", "必须为 http(s) 地址");
        return null;
    }

    /// <summary>Checks one number against the format, harassment and balance rules; on success records it and plans its report.</summary>
    private YunpianSendResult Accept(string mobile, string text, string? extend, string? uid, Uri? callback, bool? register)
    {
        // Mainland numbers come bare; international ones must carry "+" and the country code.
        if (!(mobile.StartsWith('+') || (mobile.Length == 11 && mobile[0] == '1'))
            || !PhoneNumber.TryParse(mobile, out var number, out _))
            return new YunpianSendResult(2, "请求参数格式错误", 0, 0, Unit, mobile, 0);

        var count = Segments(text);
        var fee = count * PricePerSegment;
        var now = Context.Clock.Now;
        long sid;
        lock (_gate)
        {
            var key = (number.E164, text);
            // A standalone emulator runs for days: forget pairs whose last send is out of the window now and then.
            if (_recentSends.Count > 10_000)
            {
                foreach (var stale in _recentSends.Where(p => p.Value.TrueForAll(t => now - t >= SameTextWindow)).Select(p => p.Key).ToArray())
                    _recentSends.Remove(stale);
            }
            if (!_recentSends.TryGetValue(key, out var times)) _recentSends[key] = times = [];
            times.RemoveAll(t => now - t >= SameTextWindow);
            if (times.Exists(t => now - t < SameTextInterval))
                return new YunpianSendResult(8, "同一手机号码同一内容30秒内重复提交", 0, 0, Unit, mobile, 0);
            if (times.Count >= SameTextPerWindow)
                return new YunpianSendResult(9, "同一手机号5分钟内重复提交相同的内容超过3次", 0, 0, Unit, mobile, 0);
            if (_balance < fee) return new YunpianSendResult(3, "账户余额不足", 0, 0, Unit, mobile, 0);
            times.Add(now);
            _balance -= fee;
            sid = ++_nextSid;
        }

        var sent = new YunpianSentMessage(sid, mobile, number.E164, text, extend, uid, callback, register, now);
        _sent.Add(sent);
        PlanReport(sent);
        HandsetAnswers.Play(this, sent.E164);
        return new YunpianSendResult(0, "发送成功", count, fee, Unit, mobile, sid);
    }

    // One segment holds 70 characters; longer texts are split into 67-character parts.
    private static int Segments(string text) => text.Length <= 70 ? 1 : (text.Length + 66) / 67;

    private void PlanReport(YunpianSentMessage sent)
    {
        var plan = Script.PlanFor(sent.E164);
        if (plan.Outcome == DeliveryOutcome.NeverReported) return;
        Context.Scheduler.After(plan.After, () =>
        {
            var delivered = plan.Outcome == DeliveryOutcome.Delivered;
            var record = new YunpianStatusRecord(sent.Sid, sent.Uid, YunpianFormat.FormatTime(Context.Clock.Now),
                delivered ? string.Empty : plan.FailureCode ?? "UNDELIV", sent.Mobile, delivered ? "SUCCESS" : "FAIL")
            {
                ErrorDetail = delivered ? string.Empty : FailureDetail(plan.FailureCode),
            };
            var url = sent.CallbackUrl ?? StatusCallbackUrl;
            if (url is null) _statusForPull.Enqueue(record);
            else Push("sms_status", "status", url, JsonSerializer.Serialize(new[] { record }, YunpianFormat.Json), StatusRetries);
        });
    }

    // What Yunpian's error_detail says for the operator codes the sandbox scripts use most.
    private static string FailureDetail(string? code) => code switch
    {
        null or "UNDELIV" => "用户不在服务区或关机",
        "MK:0001" or "BLACK" => "号码在黑名单中",
        "EXPIRED" => "短信过期未送达",
        _ => $"运营商返回 {code}",
    };

    public void InjectReply(HandsetReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var number = PhoneNumber.Parse(reply.Mobile);
        var record = new YunpianReplyRecord(Guid.NewGuid().ToString("N"), YunpianFormat.ToWire(number),
            YunpianFormat.FormatTime(Context.Clock.Now), reply.Text, reply.Extend ?? string.Empty, BaseExtend);
        if (ReplyCallbackUrl is not { } url)
        {
            _repliesForPull.Enqueue(record);
            return;
        }

        var fields = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["id"] = record.Id, ["mobile"] = record.Mobile, ["reply_time"] = record.ReplyTime,
            ["text"] = record.Text, ["extend"] = record.Extend, ["base_extend"] = record.BaseExtend,
        };
        fields[YunpianReplySignature.FieldName] = YunpianReplySignature.Compute(fields, ApiKey);
        Push("sms_reply", "reply", url, JsonSerializer.Serialize(fields, YunpianFormat.Json), ReplyRetries);
    }

    private void Push(string field, string kind, Uri url, string json, IReadOnlyList<TimeSpan> retries)
    {
        var value = Uri.EscapeDataString(json);
        if (DoubleEncodePushes) value = Uri.EscapeDataString(value);
        Context.Pushes.Send(new Push(Vendor, kind, url, "application/x-www-form-urlencoded; charset=utf-8", $"{field}={value}",
            static (_, body) => body is "SUCCESS" or "0", retries));
    }

    private static IResult Pull<T>(IFormCollection form, ConcurrentQueue<T> queue)
    {
        var pageSize = 20;
        var raw = form["page_size"].ToString();
        if (raw.Length > 0 && (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > YunpianFormat.MaxPageSize))
            return BadFormat("page_size", $"取值范围为1-{YunpianFormat.MaxPageSize}");
        var page = new List<T>(pageSize);
        while (page.Count < pageSize && queue.TryDequeue(out var item)) page.Add(item);
        return Results.Json(page, YunpianFormat.Json);
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static IResult Missing(string field) => Error(1, "请求参数缺失", $"参数 {field} 必须传入");

    private static IResult BadFormat(string field, string rule) => Error(2, "请求参数格式错误", $"参数 {field} 格式不正确，{rule}");

    private static IResult Error(int code, string msg, string detail) =>
        Results.Json(new YunpianError(StatusCodes.Status400BadRequest, code, msg, detail), YunpianFormat.Json, statusCode: StatusCodes.Status400BadRequest);
}
