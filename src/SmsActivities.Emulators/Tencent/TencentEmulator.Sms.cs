using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Vendors;
using SmsActivities.Vendors.Tencent;

namespace SmsActivities.Emulators.Tencent;

// Sending, delivery, replies, the pull APIs and statistics.
public sealed partial class TencentEmulator
{
    private const int MaxTextLength = 450;

    private readonly RecentLog<SentSms> _sent = new(RecentLogs.SentMessages);
    private readonly List<Pending<TencentStatusRecord>> _reports = [];
    private readonly List<Pending<TencentReplyRecord>> _replies = [];
    private long _nextSid;

    /// <summary>Every recipient of every accepted send call, in order (accepted or rejected per number); the newest <see cref="RecentLogs.SentMessages"/>.</summary>
    public IReadOnlyList<SentSms> Sent => _sent.ToArray();

    /// <param name="Text">The text as the handset gets it, signature included.</param>
    public sealed record SentSms(string? Sid, string Mobile, string Text, bool Accepted, int Fee, DateTimeOffset SentAt);

    /// <summary>A status or reply with the moment it comes into being, and whether pullstatus has handed it out.</summary>
    private sealed class Pending<T>(T record, string e164, DateTimeOffset visibleAt, bool pulled)
    {
        public T Record { get; } = record;
        public string E164 { get; } = e164;
        public DateTimeOffset VisibleAt { get; } = visibleAt;
        public bool Pulled { get; set; } = pulled;
    }

    private void SendSms(JsonObject body, JsonObject answer)
    {
        var tel = RequiredTel(body["tel"]);
        var e164 = E164Of(tel) ?? throw new TencentError(TencentErrorCodes.BadMobile, "the mobile number format is wrong");
        AnswerSingle(body, answer, e164);
    }

    private void SendIsms(JsonObject body, JsonObject answer)
    {
        // sendisms takes the universal "+8613788888888" form instead of the tel object.
        var tel = RequiredString(body, "tel");
        if (!tel.StartsWith('+') || !PhoneNumber.TryParse(tel, out var number, out _))
            throw new TencentError(TencentErrorCodes.BadMobile, "tel must be a number in the form +<country code><number>");
        AnswerSingle(body, answer, number.E164);
    }

    private void AnswerSingle(JsonObject body, JsonObject answer, string e164)
    {
        var (text, fee) = Compose(body);
        answer["ext"] = OptionalString(body, "ext") ?? string.Empty;
        answer["fee"] = fee;
        answer["sid"] = Accept(e164, text, fee);
    }

    private void SendMultiSms(JsonObject body, JsonObject answer)
    {
        var tels = RequiredTels(body);
        if (tels.Count > TencentSmsClient.MaxMobilesPerMultiSend)
            throw new TencentError(TencentErrorCodes.TooManyMobiles, $"at most {TencentSmsClient.MaxMobilesPerMultiSend} mobiles per call");
        var abroad = tels.Count(t => t.Nationcode != "86");
        if (abroad > 0)
        {
            throw abroad == tels.Count
                ? new TencentError(TencentErrorCodes.RegionNotSupported, "sendmultisms2 serves China mainland numbers only")
                : new TencentError(TencentErrorCodes.MixedRegions, "the request mixes China mainland and overseas numbers");
        }

        var (text, fee) = Compose(body);
        var detail = new JsonArray();
        foreach (var tel in tels)
        {
            var item = new JsonObject { ["result"] = 0, ["errmsg"] = "OK", ["mobile"] = tel.Mobile, ["nationcode"] = tel.Nationcode };
            if (E164Of(tel) is { } e164)
            {
                item["sid"] = Accept(e164, text, fee);
                item["fee"] = fee;
            }
            else
            {
                _sent.Add(new SentSms(null, "+" + tel.Nationcode + tel.Mobile, text, false, 0, _context.Clock.Now));
                item["result"] = TencentErrorCodes.BadMobile;
                item["errmsg"] = "the mobile number format is wrong";
            }
            detail.Add(item);
        }
        answer["ext"] = OptionalString(body, "ext") ?? string.Empty;
        answer["detail"] = detail;
    }

    /// <summary>The text the handset gets (【sign】 + rendered template or checked text) and its fee in SMS units.</summary>
    private (string Text, int Fee) Compose(JsonObject body)
    {
        string sign, text;
        if (body.ContainsKey("tpl_id"))
        {
            var id = RequiredInt(body, "tpl_id", 1, int.MaxValue);
            if (!_templates.TryGetValue(id, out var template) || template.Status != TencentReviewStatus.Approved)
                throw new TencentError(TencentErrorCodes.TemplateMismatch, $"template {id} does not exist or is not approved");
            var parameters = body["params"] switch
            {
                null => [],
                JsonArray a => a.Select(p => p is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Malformed("params", "an array of strings")).ToArray(),
                _ => throw Malformed("params", "an array of strings"),
            };
            text = Render(template.Text, parameters);
            sign = CheckSign(OptionalString(body, "sign"));
        }
        else if (body.ContainsKey("msg"))
        {
            RequiredInt(body, "type", 0, 1);
            var msg = RequiredString(body, "msg");
            // A text send carries its signature at the head, as 【sign】.
            var close = msg.StartsWith('【') ? msg.IndexOf('】', StringComparison.Ordinal) : -1;
            sign = CheckSign(close > 0 ? msg[1..close] : null);
            text = close > 0 ? msg[(close + 1)..] : msg;
            if (!_templates.Values.Any(t => t.Status == TencentReviewStatus.Approved && t.Matches(text)))
                throw new TencentError(TencentErrorCodes.TemplateMismatch, "the text matches no approved template");
        }
        else
        {
            throw new TencentError(TencentErrorCodes.MalformedRequest, "either tpl_id with params or msg with type is required");
        }

        var full = $"【{sign}】{text}";
        if (full.Length > MaxTextLength)
            throw new TencentError(TencentErrorCodes.TextTooLong, $"the text is longer than {MaxTextLength} characters");
        // One SMS holds 70 characters; a long one is split into parts of 67.
        return (full, full.Length <= 70 ? 1 : (full.Length + 66) / 67);
    }

    private string CheckSign(string? sign)
    {
        sign = sign?.Trim();
        if (string.IsNullOrEmpty(sign) || sign == SandboxSign) return SandboxSign;
        return _signs.Values.Any(s => s.Status == TencentReviewStatus.Approved && s.Text == sign)
            ? sign
            : throw new TencentError(TencentErrorCodes.SignNotApproved, "the signature is not approved or does not exist");
    }

    private static string Render(string template, IReadOnlyList<string> parameters) =>
        TemplateEntry.Placeholder().Replace(template, m =>
        {
            var index = int.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
            return index >= 1 && index <= parameters.Count
                ? parameters[index - 1]
                : throw new TencentError(TencentErrorCodes.TemplateMismatch, $"params has no value for {{{index}}}");
        });

    /// <summary>Records an accepted message and plays its scripted delivery: a status to pull and, if set, to push.</summary>
    private string Accept(string e164, string text, int fee)
    {
        var now = _context.Clock.Now;
        var sid = $"{now.ToUnixTimeSeconds()}:{++_nextSid:D10}";
        _sent.Add(new SentSms(sid, e164, text, true, fee, now));
        HandsetAnswers.Play(this, e164);

        var plan = Script.PlanFor(e164);
        if (plan.Outcome == DeliveryOutcome.NeverReported) return sid;
        var at = now + _context.Clock.Scaled(plan.After);
        var tel = TencentTel.From(PhoneNumber.Parse(e164));
        var delivered = plan.Outcome == DeliveryOutcome.Delivered;
        var record = new TencentStatusRecord
        {
            UserReceiveTime = NowChina(at),
            Nationcode = tel.Nationcode,
            Mobile = tel.Mobile,
            ReportStatus = delivered ? "SUCCESS" : "FAIL",
            Errmsg = delivered ? "DELIVRD" : plan.FailureCode,
            Description = delivered ? "user received the message" : "the message was not delivered",
            Sid = sid,
        };
        _reports.Add(new Pending<TencentStatusRecord>(record, e164, at, false));
        if (StatusCallbackUrl is { } url)
            _context.Pushes.Send(NewPush("status", url, JsonSerializer.Serialize(new[] { record }, TencentJson.Options)), plan.After);
        return sid;
    }

    public void InjectReply(HandsetReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var number = PhoneNumber.Parse(reply.Mobile);
        var tel = TencentTel.From(number);
        lock (_gate)
        {
            var now = _context.Clock.Now;
            var record = new TencentReplyRecord
            {
                Nationcode = tel.Nationcode,
                Mobile = tel.Mobile,
                Text = reply.Text,
                Sign = SignOfLastMessageTo(number.E164),
                Time = now.ToUnixTimeSeconds(),
                Extend = reply.Extend ?? string.Empty,
            };
            // A pushed reply is not queued for pullstatus, but pullstatus4mobile still finds it.
            _replies.Add(new Pending<TencentReplyRecord>(record, number.E164, now, pulled: ReplyCallbackUrl is not null));
            if (ReplyCallbackUrl is { } url)
                _context.Pushes.Send(NewPush("reply", url, JsonSerializer.Serialize(record, TencentJson.Options)));
        }
    }

    private string SignOfLastMessageTo(string e164)
    {
        var text = _sent.ToArray().LastOrDefault(s => s.Accepted && s.Mobile == e164)?.Text;
        var close = text?.IndexOf('】', StringComparison.Ordinal) ?? -1;
        return close > 1 ? text![1..close] : SandboxSign;
    }

    private Push NewPush(string kind, Uri url, string body) =>
        new(Vendor, kind, url, "application/json; charset=utf-8", body, IsAcknowledged, PushRetrySchedule);

    /// <summary>The receiver must answer <c>{"result":0,…}</c>.</summary>
    private static bool IsAcknowledged(int status, string body)
    {
        try
        {
            return JsonNode.Parse(body) is JsonObject answer && answer["result"] is JsonValue result
                && result.TryGetValue<int>(out var code) && code == 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private void PullStatus(JsonObject body, JsonObject answer)
    {
        var type = RequiredInt(body, "type", 0, 1);
        var max = RequiredInt(body, "max", 1, TencentSmsClient.MaxPull);
        var now = _context.Clock.Now;
        // A queue: what is handed out once is not returned again.
        JsonNode? data = type == 0 ? JsonSerializer.SerializeToNode(Take(_reports, now, max), TencentJson.Options) : JsonSerializer.SerializeToNode(Take(_replies, now, max), TencentJson.Options);
        answer["count"] = data!.AsArray().Count;
        answer["data"] = data;
    }

    private static T[] Take<T>(List<Pending<T>> entries, DateTimeOffset now, int max)
    {
        var taken = entries.Where(e => !e.Pulled && e.VisibleAt <= now).OrderBy(e => e.VisibleAt).Take(max).ToArray();
        foreach (var entry in taken) entry.Pulled = true;
        return taken.Select(e => e.Record).ToArray();
    }

    private void PullStatusForMobile(JsonObject body, JsonObject answer)
    {
        var type = RequiredInt(body, "type", 0, 1);
        var max = RequiredInt(body, "max", 1, TencentSmsClient.MaxPull);
        var begin = DateTimeOffset.FromUnixTimeSeconds(RequiredLong(body, "begin_time"));
        var end = DateTimeOffset.FromUnixTimeSeconds(RequiredLong(body, "end_time"));
        var tel = new TencentTel(RequiredString(body, "nationcode"), RequiredString(body, "mobile"));
        var e164 = E164Of(tel) ?? throw new TencentError(TencentErrorCodes.BadMobile, "the mobile number format is wrong");
        var now = _context.Clock.Now;
        var data = type == 0
            ? JsonSerializer.SerializeToNode(Find(_reports, e164, begin, end, now, max), TencentJson.Options)
            : JsonSerializer.SerializeToNode(Find(_replies, e164, begin, end, now, max), TencentJson.Options);
        answer["count"] = data!.AsArray().Count;
        answer["data"] = data;
    }

    private static T[] Find<T>(List<Pending<T>> entries, string e164, DateTimeOffset begin, DateTimeOffset end, DateTimeOffset now, int max) =>
        entries.Where(e => e.E164 == e164 && e.VisibleAt <= now && e.VisibleAt >= begin && e.VisibleAt <= end)
            .OrderBy(e => e.VisibleAt).Take(max).Select(e => e.Record).ToArray();

    private void PullSendStatistics(JsonObject body, JsonObject answer)
    {
        var (begin, end) = HourRange(body);
        var sent = _sent.ToArray().Where(s => s.SentAt >= begin && s.SentAt < end).ToArray();
        answer["data"] = JsonSerializer.SerializeToNode(new TencentSendStatistics
        {
            Request = sent.Length,
            Success = sent.Count(s => s.Accepted),
            BillNumber = sent.Where(s => s.Accepted).Sum(s => s.Fee),
        }, TencentJson.Options);
    }

    private void PullCallbackStatistics(JsonObject body, JsonObject answer)
    {
        var (begin, end) = HourRange(body);
        var now = _context.Clock.Now;
        var sids = _sent.ToArray().Where(s => s.Accepted && s.SentAt >= begin && s.SentAt < end).Select(s => s.Sid!).ToHashSet(StringComparer.Ordinal);
        var reports = _reports.Where(r => r.VisibleAt <= now && sids.Contains(r.Record.Sid!)).Select(r => r.Record).ToArray();
        var failures = reports.Where(r => r.ReportStatus == "FAIL").Select(r => FailureCategory(r.Errmsg)).ToArray();
        answer["data"] = JsonSerializer.SerializeToNode(new TencentCallbackStatistics
        {
            Success = sids.Count,
            Status = reports.Length,
            StatusSuccess = reports.Length - failures.Length,
            StatusFail = failures.Length,
            StatusFailOperator = failures.Count(c => c == 0),
            StatusFailInvalidNumber = failures.Count(c => c == 1),
            StatusFailPoweredOff = failures.Count(c => c == 2),
            StatusFailBlacklist = failures.Count(c => c == 3),
            StatusFailFrequency = failures.Count(c => c == 4),
        }, TencentJson.Options);
    }

    /// <summary>
    /// Which <c>status_fail_N</c> a scripted failure code counts under. The doc names the categories, not the
    /// codes, so the emulator takes these: EMPTY/UNKNOWN → 1 invalid number, POWEROFF/ABSENT → 2,
    /// BLACKLIST → 3, FREQLIMIT → 4, anything else → 0 operator error.
    /// </summary>
    private static int FailureCategory(string? code) => code?.ToUpperInvariant() switch
    {
        "EMPTY" or "UNKNOWN" => 1,
        "POWEROFF" or "ABSENT" => 2,
        "BLACKLIST" => 3,
        "FREQLIMIT" => 4,
        _ => 0,
    };

    /// <summary><c>begin_date</c>/<c>end_date</c> are yyyymmddhh in Beijing time; the end hour is included.</summary>
    private static (DateTimeOffset Begin, DateTimeOffset End) HourRange(JsonObject body)
    {
        var begin = Hour(body, "begin_date");
        var end = Hour(body, "end_date").AddHours(1);
        return end > begin ? (begin, end) : throw Malformed("end_date", "an hour not before begin_date");
    }

    private static DateTimeOffset Hour(JsonObject body, string name) =>
        DateTime.TryParseExact(RequiredLong(body, name).ToString(CultureInfo.InvariantCulture), "yyyyMMddHH", CultureInfo.InvariantCulture, DateTimeStyles.None, out var hour)
            ? new DateTimeOffset(hour, TencentJson.ChinaOffset)
            : throw Malformed(name, "an hour as yyyymmddhh");

    private static TencentTel RequiredTel(JsonNode? node) =>
        node is JsonObject tel
            ? new TencentTel(RequiredString(tel, "nationcode"), RequiredString(tel, "mobile"))
            : throw Malformed("tel", "an object with nationcode and mobile");

    private static IReadOnlyList<TencentTel> RequiredTels(JsonObject body) =>
        body["tel"] is JsonArray { Count: > 0 } tels
            ? tels.Select(RequiredTel).ToArray()
            : throw Malformed("tel", "a non-empty array of {nationcode, mobile}");

    private static string? E164Of(TencentTel tel) =>
        tel.Nationcode.All(char.IsAsciiDigit) && tel.Mobile.All(char.IsAsciiDigit) ? tel.ToE164() : null;
}
