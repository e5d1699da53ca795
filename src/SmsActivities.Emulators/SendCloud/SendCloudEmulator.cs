using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SmsActivities.Emulators.Yunpian;
using SmsActivities.Vendors;
using SmsActivities.Vendors.SendCloud;

namespace SmsActivities.Emulators.SendCloud;

/// <summary>An SMS template registered with the account; only approved ones can be sent.</summary>
public sealed record SendCloudTemplate(string Text, bool Approved = true);

/// <summary>A message the emulator accepted: <paramref name="Api"/> is send, sendVoice or sendCode.</summary>
public sealed record SendCloudSentMessage(string SmsId, string Api, string Phone, string Content, int MsgType, string? SendRequestId, string? Tag, DateTimeOffset At)
{
    /// <summary>The SMS label the send is counted under (<c>labelId</c>), if any.</summary>
    public int? LabelId { get; init; }
}

/// <summary>
/// SendCloud SMS on loopback: <c>POST /smsapi/send</c>, <c>/smsapi/sendVoice</c>, <c>/smsapi/sendCode</c> and
/// <c>GET /smsapi/timestamp/get</c>. Checks smsUser (471/472), signature (421/422; SHA-256 or MD5), the 6-second
/// timestamp window (461), templates (431/432/433), phones (411/412/413, 311/312 partial), vars (441/483) and
/// drops a <c>sendRequestId</c> seen within the hour (400). Delivery reports and handset replies go to the SMSHook
/// URLs as signed form posts, retried until answered with a 2xx.
/// </summary>
public sealed class SendCloudEmulator(EmulatorContext context) : IVendorEmulator, IScriptedEmulator
{
    public const string SandboxSmsUser = "sandbox_sms_user";
    public const string SandboxSmsKey = "sandbox-sms-key-7d3f9a1c5e2b8046";
    public const string SandboxAppKey = "sandbox-app-key-4b8e2f6a0c9d1357";

    private static readonly TimeSpan TimestampWindow = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan SendRequestIdMemory = TimeSpan.FromHours(1);

    // SendCloud does not publish its SMSHook retry schedule; the emulator retries three times, after 1, 5 and 15 minutes.
    private static readonly TimeSpan[] HookRetries = [TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15)];

    // SMSHook statusCode texts, from SendCloud's table.
    private static readonly Dictionary<string, string> HookCodes = new(StringComparer.Ordinal)
    {
        ["410"] = "处理失败，号码在全局拦截列表", ["420"] = "处理失败，号码在本地拦截列表", ["430"] = "处理失败，退订",
        ["440"] = "处理失败，关键词过滤", ["450"] = "处理失败，替换变量错误", ["460"] = "处理失败，短信内容超过500字",
        ["500"] = "发送失败，空号", ["510"] = "发送失败，停机", ["550"] = "发送失败，模板内容被投诉",
        ["580"] = "发送失败，关机", ["590"] = "发送失败，其他原因",
    };

    private readonly RecentLog<SendCloudSentMessage> _sent = new(RecentLogs.SentMessages);
    private readonly ConcurrentQueue<HandsetReply> _unpushedReplies = new();
    private readonly Dictionary<string, DateTimeOffset> _sendRequestIds = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _sequence;

    public string Vendor => VendorNames.SendCloud;
    public DeliveryScript Script { get; } = new();
    public EmulatorContext Context { get; } = context;
    public EmulatorFaults Faults { get; } = new();

    public string SmsUser { get; set; } = SandboxSmsUser;
    public string SmsKey { get; set; } = SandboxSmsKey;
    /// <summary>Signs SMSHook pushes.</summary>
    public string AppKey { get; set; } = SandboxAppKey;

    public PushCallbacks Callbacks { get; } = new("status", "reply");

    /// <summary>SMSHook address for delivery events (deliver, workererror, delivererror). Null: reports are not pushed.</summary>
    public Uri? DeliveryHookUrl { get => Callbacks["status"]; set => Callbacks["status"] = value; }

    /// <summary>SMSHook address for inbound replies. Null: replies wait in <see cref="UnpushedReplies"/>.</summary>
    public Uri? ReplyHookUrl { get => Callbacks["reply"]; set => Callbacks["reply"] = value; }

    /// <summary>The account's templates by id. Template 1 is an approved verification template; 2 is awaiting review.</summary>
    public ConcurrentDictionary<int, SendCloudTemplate> Templates { get; } = new()
    {
        [1] = new("【SendCloud】您的验证码是%code%，10分钟内有效。"),
        [2] = new("【SendCloud】%name%，您的订单已发货。", Approved: false),
    };

    /// <summary>The account's SMS signatures (sign names) by id, for sendCode.</summary>
    public ConcurrentDictionary<int, string> Signs { get; } = new() { [1] = "SendCloud" };

    public IReadOnlyList<SendCloudSentMessage> Sent => _sent.ToArray();
    public IReadOnlyList<HandsetReply> UnpushedReplies => _unpushedReplies.ToArray();

    public void Map(IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        routes.MapGet("/smsapi/timestamp/get", () => Answer(200, "请求成功", new { timestamp = Context.Clock.Now.ToUnixTimeMilliseconds() }));
        MapApi(routes, "/smsapi/send", Send);
        MapApi(routes, "/smsapi/sendVoice", SendVoice);
        MapApi(routes, "/smsapi/sendCode", SendCode);
    }

    private void MapApi(IEndpointRouteBuilder routes, string path, Func<IFormCollection, IResult> handler) =>
        routes.MapPost(path, async (HttpContext http) =>
        {
            var form = http.Request.HasFormContentType
                ? await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false)
                : FormCollection.Empty;
            if (Authenticate(form) is { } refused) return refused;

            var sendRequestId = form["sendRequestId"].ToString();
            if (sendRequestId.Length > SendCloudFormat.MaxSendRequestIdLength) return Fail(400, "sendRequestId 超过128个字符");
            if (sendRequestId.Length > 0 && !TryReserve(sendRequestId)) return Fail(400, "重复请求");

            var result = handler(form);
            // Only a processed request claims its sendRequestId; a refused one may be corrected and sent again.
            if (sendRequestId.Length > 0 && !Succeeded(result)) Release(sendRequestId);
            return result;
        });

    private bool TryReserve(string sendRequestId)
    {
        lock (_gate)
        {
            var now = Context.Clock.Now;
            if (_sendRequestIds.TryGetValue(sendRequestId, out var seen) && now - seen < SendRequestIdMemory) return false;
            // A standalone emulator runs for days: forget ids past their hour now and then.
            if (_sendRequestIds.Count > 10_000)
            {
                foreach (var expired in _sendRequestIds.Where(p => now - p.Value >= SendRequestIdMemory).Select(p => p.Key).ToArray())
                    _sendRequestIds.Remove(expired);
            }
            _sendRequestIds[sendRequestId] = now;
            return true;
        }
    }

    private void Release(string sendRequestId)
    {
        lock (_gate) _sendRequestIds.Remove(sendRequestId);
    }

    private IResult? Authenticate(IFormCollection form)
    {
        var user = form["smsUser"].ToString();
        if (user.Length == 0) return Fail(472, "smsUser不能为空");
        if (!string.Equals(user, SmsUser, StringComparison.Ordinal)) return Fail(471, "smsUser不存在");

        var signature = form[SendCloudSignature.FieldName].ToString();
        if (signature.Length == 0) return Fail(421, "签名参数错误");
        var parameters = form.Select(f => new KeyValuePair<string, string>(f.Key, f.Value.ToString())).ToArray();
        var valid = SendCloudSignature.HexEquals(SendCloudSignature.SignRequest(parameters, SmsKey, SendCloudSignatureAlgorithm.Sha256), signature)
            || SendCloudSignature.HexEquals(SendCloudSignature.SignRequest(parameters, SmsKey, SendCloudSignatureAlgorithm.Md5), signature);
        if (!valid) return Fail(422, "签名错误");

        var timestamp = form["timestamp"].ToString();
        if (timestamp.Length > 0)
        {
            if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
                || Math.Abs(Context.Clock.Now.ToUnixTimeMilliseconds() - ms) > TimestampWindow.TotalMilliseconds)
                return Fail(461, "时间戳无效，与服务器时间间隔大于6秒");
        }
        return null;
    }

    private IResult Send(IFormCollection form)
    {
        var templateText = form["templateId"].ToString();
        if (templateText.Length == 0) return Fail(433, "模板ID不能为空");
        if (!int.TryParse(templateText, NumberStyles.None, CultureInfo.InvariantCulture, out var templateId) || !Templates.TryGetValue(templateId, out var template))
            return Fail(431, "模板不存在");
        if (!template.Approved) return Fail(432, "模板未提交审核或者未审核通过");
        var msgType = ParseMsgType(form, SendCloudFormat.MsgTypeSms, SendCloudFormat.MsgTypeMms, SendCloudFormat.MsgTypeInternational);
        if (msgType is null) return Fail(412, "msgType 取值错误");
        var labelText = form["labelId"].ToString();
        if (labelText.Length > 0 && (!int.TryParse(labelText, NumberStyles.None, CultureInfo.InvariantCulture, out var labelId) || labelId <= 0))
            return Fail(412, "labelId 应为正整数");

        var vars = new Dictionary<string, string>(StringComparer.Ordinal);
        var varsText = form["vars"].ToString();
        if (varsText.Length > 0)
        {
            try
            {
                vars = JsonSerializer.Deserialize<Dictionary<string, string>>(varsText) ?? vars;
            }
            catch (JsonException)
            {
                return Fail(441, "替换变量格式错误");
            }
            if (vars.Values.Any(v => v.Length > SendCloudFormat.MaxVarLength)) return Fail(483, "替换变量长度不能超过32个字符");
            if (vars.Values.Any(v => v.Contains("http", StringComparison.OrdinalIgnoreCase))) return Fail(441, "替换变量格式错误");
        }

        var phones = form["phone"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (phones.Length == 0) return Fail(411, "手机号不能为空");
        if (phones.Length > SendCloudFormat.MaxRecipients) return Fail(412, "手机号数量不能超过2000");
        if (phones.Distinct(StringComparer.Ordinal).Count() != phones.Length) return Fail(413, "手机号重复");

        var content = vars.Aggregate(template.Text, (text, v) => text.Replace($"%{v.Key.Trim('%')}%", v.Value, StringComparison.Ordinal));
        var smsIds = new List<string>();
        var failed = new List<object>();
        foreach (var phone in phones)
        {
            if (ParsePhone(phone) is { } number) smsIds.Add(Accept("send", phone, number, content, msgType.Value, form));
            else failed.Add(new { phone, vars, message = "手机号格式错误" });
        }

        if (smsIds.Count == 0)
            return phones.Length == 1
                ? Fail(412, "手机号格式错误")
                : Answer(312, "全部失败", new { successCount = 0, failedCount = failed.Count, items = failed, smsIds }, result: false);
        return failed.Count == 0
            ? Answer(200, "请求成功", new { successCount = smsIds.Count, smsIds })
            : Answer(311, "部分成功", new { successCount = smsIds.Count, failedCount = failed.Count, items = failed, smsIds });
    }

    private IResult SendVoice(IFormCollection form)
    {
        var phone = form["phone"].ToString();
        if (phone.Length == 0) return Fail(411, "手机号不能为空");
        if (ParsePhone(phone) is not { } number || phone.Contains(',', StringComparison.Ordinal)) return Fail(412, "手机号格式错误");
        var code = form["code"].ToString();
        if (!SendCloudFormat.IsValidCode(code)) return Fail(482, "验证码格式错误，应为4-6位数字");
        var smsId = Accept("sendVoice", phone, number, $"您的验证码是 {code}", SendCloudFormat.MsgTypeSms, form);
        return Answer(200, "请求成功", new { successCount = 1, smsIds = new[] { smsId } });
    }

    private IResult SendCode(IFormCollection form)
    {
        var msgType = ParseMsgType(form, SendCloudFormat.MsgTypeSms, SendCloudFormat.MsgTypeInternational);
        if (msgType is null) return Fail(412, "msgType 取值错误");
        var phone = form["phone"].ToString();
        if (phone.Length == 0) return Fail(411, "手机号不能为空");
        if (ParsePhone(phone) is not { } number || number.IsChinaMainland == (msgType == SendCloudFormat.MsgTypeInternational))
            return Fail(412, "手机号格式错误");
        var code = form["code"].ToString();
        if (!SendCloudFormat.IsValidCode(code)) return Fail(482, "验证码格式错误，应为4-6位数字");

        // signId wins over signName; without either there is no template to build the SMS from.
        string? sign;
        var signIdText = form["signId"].ToString();
        if (signIdText.Length > 0)
            sign = int.TryParse(signIdText, NumberStyles.None, CultureInfo.InvariantCulture, out var signId) && Signs.TryGetValue(signId, out var name) ? name : null;
        else
            sign = form["signName"].ToString() is { Length: > 0 } signName ? signName : null;
        if (sign is null) return Fail(431, "签名不存在：signId 或 signName 必须有效");

        var smsId = Accept("sendCode", phone, number, $"【{sign}】您的验证码是{code}", msgType.Value, form);
        return Answer(200, "请求成功", new { successCount = 1, smsIds = new[] { smsId } });
    }

    private static int? ParseMsgType(IFormCollection form, params int[] allowed)
    {
        var text = form["msgType"].ToString();
        if (text.Length == 0) return SendCloudFormat.MsgTypeSms;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && allowed.Contains(value) ? value : null;
    }

    // Mainland numbers come bare (11 digits), others with "+" and the country code.
    private static PhoneNumber? ParsePhone(string phone) =>
        (phone.StartsWith('+') || (phone.Length == 11 && phone[0] == '1')) && PhoneNumber.TryParse(phone, out var number, out _) ? number : null;

    private string Accept(string api, string phone, PhoneNumber number, string content, int msgType, IFormCollection form)
    {
        var now = Context.Clock.Now;
        var random = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        // SendCloud's ids look like "1458113381893_15_3_11_1ainnq$131112345678": time, internal counters, random, then "$" + phone.
        var smsId = $"{now.ToUnixTimeMilliseconds()}_{Interlocked.Increment(ref _sequence)}_{msgType}_11_{random}${phone}";
        var tag = form["tag"].ToString();
        var sent = new SendCloudSentMessage(smsId, api, phone, content, msgType, NullIfEmpty(form["sendRequestId"].ToString()), NullIfEmpty(tag), now)
        {
            LabelId = int.TryParse(form["labelId"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var label) ? label : null,
        };
        _sent.Add(sent);
        PlanReport(sent, number);
        HandsetAnswers.Play(this, number.E164);
        return smsId;
    }

    private void PlanReport(SendCloudSentMessage sent, PhoneNumber number)
    {
        var plan = sent.Content.Length > SendCloudFormat.MaxTextLength
            ? DeliveryPlan.Fail("460")
            : Script.PlanFor(number.E164);
        if (plan.Outcome == DeliveryOutcome.NeverReported || DeliveryHookUrl is not { } url) return;

        var fields = new Dictionary<string, string>(StringComparer.Ordinal) { ["smsId"] = sent.SmsId, ["phone"] = sent.Phone, ["smsUser"] = SmsUser };
        if (plan.Outcome == DeliveryOutcome.Delivered)
        {
            fields["event"] = SendCloudSmsHookReader.Events.Deliver;
            fields["statusCode"] = "200";
            fields["message"] = "送达";
        }
        else
        {
            var code = plan.FailureCode ?? "590";
            // 4xx: SendCloud refused to send; 5xx: the carrier could not deliver.
            fields["event"] = code.StartsWith('4') ? SendCloudSmsHookReader.Events.WorkerError : SendCloudSmsHookReader.Events.DeliverError;
            fields["statusCode"] = code;
            fields["message"] = HookCodes.GetValueOrDefault(code, "发送失败");
        }
        if (sent.Tag is not null) fields["tag"] = sent.Tag;
        Context.Scheduler.After(plan.After, () => Hook("report", url, fields));
    }

    public void InjectReply(HandsetReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (ReplyHookUrl is not { } url)
        {
            _unpushedReplies.Enqueue(reply);
            return;
        }
        var fields = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["event"] = SendCloudSmsHookReader.Events.Reply,
            ["phone"] = SendCloudFormat.ToWire(PhoneNumber.Parse(reply.Mobile)),
            ["content"] = reply.Text,
            ["smsUser"] = SmsUser,
        };
        if (!string.IsNullOrEmpty(reply.Extend)) fields["extend"] = reply.Extend;
        Hook("reply", url, fields);
    }

    /// <summary>Adds timestamp, token and the HMAC signature, then pushes the form.</summary>
    private void Hook(string kind, Uri url, Dictionary<string, string> fields)
    {
        var timestamp = Context.Clock.Now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(25));
        fields["timestamp"] = timestamp;
        fields["token"] = token;
        fields["signature"] = SendCloudSignature.SignHook(AppKey, timestamp, token);
        var body = string.Join('&', fields.Select(f => Uri.EscapeDataString(f.Key) + "=" + Uri.EscapeDataString(f.Value)));
        Context.Pushes.Send(new Push(Vendor, kind, url, "application/x-www-form-urlencoded; charset=utf-8", body,
            static (status, _) => status is >= 200 and < 300, HookRetries));
    }

    private static bool Succeeded(IResult result) =>
        result is IValueHttpResult { Value: SendCloudAnswer { Result: true } };

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static IResult Fail(int statusCode, string message) => Answer(statusCode, message, new { }, result: false);

    // SendCloud answers HTTP 200 and puts the outcome in the body.
    private static IResult Answer(int statusCode, string message, object info, bool result = true) =>
        Results.Json(new SendCloudAnswer(message, info, result, statusCode), SendCloudFormat.Json);

    private sealed record SendCloudAnswer(string Message, object Info, bool Result, int StatusCode);
}
