using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SmsActivities.Vendors;
using SmsActivities.Vendors.Yaningai;

namespace SmsActivities.Emulators.Yaningai;

/// <summary>
/// YANINGAI on loopback: sendbatchsms (GET/POST), mssSend, vos/notice, vos/otp and email/sendEmail under
/// <c>/yaningai/api/v1/…</c>, with the doc's account/sign/datetime check, its negative status codes for bad input,
/// scripted delivery reports, uplink pushes for handset replies, and email report/tracking pushes.
/// YANINGAI has no pull API, so whatever cannot be pushed (no callback URL set) is only kept for inspection.
/// </summary>
public sealed class YaningaiEmulator(EmulatorContext context) : IVendorEmulator, IScriptedEmulator
{
    /// <summary>The account and key of the doc's signature example.</summary>
    public const string SandboxAccount = "yn00001";
    public const string SandboxApiKey = "7bz1lzh9";

    /// <summary>
    /// The doc asks for a 200 answer to every push but gives no retry schedule; the emulator retries an
    /// unacknowledged push after 1, 5 and 15 minutes (scaled by the clock), a common vendor pattern.
    /// </summary>
    public static IReadOnlyList<TimeSpan> PushRetrySchedule { get; } =
        [TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15)];

    /// <summary>The doc caps one push at 50 reports.</summary>
    public const int MaxReportsPerPush = 50;

    private static readonly TimeSpan ChinaTime = TimeSpan.FromHours(8);
    private static readonly string[] Actions = ["MARKETING", "VERIFY", "NOTIFICATION"];

    private readonly RecentLog<YaningaiSentMessage> _messages = new(RecentLogs.SentMessages);
    private readonly ConcurrentQueue<YaningaiSentEmail> _emails = new();
    private readonly ConcurrentQueue<HandsetReply> _unpushedReplies = new();
    private readonly ConcurrentDictionary<string, byte> _blacklist = new(StringComparer.Ordinal);
    private readonly Queue<DateTimeOffset> _recentCalls = new();
    private long _batchCounter;

    public string Vendor => VendorNames.Yaningai;

    public EmulatorContext Context { get; } = context;
    public EmulatorFaults Faults { get; } = new();

    /// <summary>Outcomes per number (E.164) for SMS, MMS and voice.</summary>
    public DeliveryScript Script { get; } = new();

    /// <summary>Outcomes per email address for email reports.</summary>
    public DeliveryScript EmailScript { get; } = new();

    public string Account { get; set; } = SandboxAccount;
    public string ApiKey { get; set; } = SandboxApiKey;

    /// <summary>
    /// How far <c>datetime</c> may be from now: the doc asks for "the current half-hour", so both the current second
    /// and a value rounded down to the half hour pass, and anything older or newer fails with -1 (its "expiration error").
    /// </summary>
    public TimeSpan DatetimeWindow { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>codeId → country calling code (the account's country table). Starts with the codeIds of the doc's examples.</summary>
    public ConcurrentDictionary<string, int> CodeIds { get; } = new(YaningaiCountryCodes.DocumentedCodeIds, StringComparer.Ordinal);

    /// <summary>Longest content accepted before status -5.</summary>
    public int MaxContentLength { get; set; } = 1000;

    /// <summary>Calls allowed per second before status -15 ("request frequency too fast"); null, the default, for no limit (the doc names none).</summary>
    public int? MaxCallsPerSecond { get; set; }

    /// <summary>Words that make a call fail with -3 (sensitive content).</summary>
    public ConcurrentBag<string> SensitiveWords { get; } = [];

    /// <summary>Price of one billing unit, reported in each SMS report.</summary>
    public decimal PricePerUnit { get; set; } = 0.1m;

    /// <summary>The platform number handset replies are addressed to (<c>fromNum</c>) when the reply names none.</summary>
    public string UplinkNumber { get; set; } = "1069000001";

    /// <summary>The sending domain named in tracking pushes (the doc's example shows the sender's domain, not the recipient's).</summary>
    public string SendingDomain { get; set; } = "mail.yaningai-sandbox.test";

    public PushCallbacks Callbacks { get; } = new("status", "voice-status", "reply", "email-status", "email-tracking");

    /// <summary>SMS and MMS status reports.</summary>
    public Uri? ReportCallbackUrl { get => Callbacks["status"]; set => Callbacks["status"] = value; }
    public Uri? VoiceReportCallbackUrl { get => Callbacks["voice-status"]; set => Callbacks["voice-status"] = value; }
    public Uri? ReplyCallbackUrl { get => Callbacks["reply"]; set => Callbacks["reply"] = value; }
    public Uri? EmailReportCallbackUrl { get => Callbacks["email-status"]; set => Callbacks["email-status"] = value; }
    public Uri? EmailTrackingCallbackUrl { get => Callbacks["email-tracking"]; set => Callbacks["email-tracking"] = value; }

    public IReadOnlyList<YaningaiSentMessage> Messages => _messages.ToArray();
    public IReadOnlyList<YaningaiSentEmail> Emails => _emails.ToArray();

    /// <summary>Handset replies injected while no reply callback was set (there is no pull API to serve them).</summary>
    public IReadOnlyList<HandsetReply> UnpushedReplies => _unpushedReplies.ToArray();

    /// <summary>Numbers (E.164) refused with status 5.</summary>
    public void Blacklist(string e164) => _blacklist[e164] = 0;

    public void Map(IEndpointRouteBuilder routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        routes.MapMethods("/api/v1/sms/sendbatchsms", [HttpMethods.Get, HttpMethods.Post], (HttpContext http) =>
            HandleAsync(http, fields => SendNumbers(fields, "sms", HttpMethods.IsGet(http.Request.Method) ? YaningaiClient.MaxNumbersPerGet : YaningaiClient.MaxNumbersPerPost)));
        routes.MapPost("/api/v1/sms/mssSend", (HttpContext http) => HandleAsync(http, fields => SendNumbers(fields, "mms", YaningaiClient.MaxNumbersPerPost)));
        routes.MapPost("/api/v1/vos/notice", (HttpContext http) => HandleAsync(http, fields => SendNumbers(fields, "vos-notice", YaningaiClient.MaxNumbersPerPost)));
        routes.MapPost("/api/v1/vos/otp", (HttpContext http) => HandleAsync(http, fields => SendNumbers(fields, "vos-otp", 1)));
        routes.MapPost("/api/v1/email/sendEmail", (HttpContext http) => HandleAsync(http, SendEmails));
    }

    public void InjectReply(HandsetReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var mobile = PhoneNumber.Parse(reply.Mobile);
        var url = ReplyCallbackUrl;
        if (url is null)
        {
            _unpushedReplies.Enqueue(reply);
            return;
        }
        var body = new JsonObject
        {
            ["fromNum"] = reply.Extend ?? UplinkNumber,
            ["to"] = YaningaiCountryCodes.ToReportedNumber(mobile),
            ["content"] = reply.Text,
            ["datetime"] = Context.Clock.Now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        };
        Push("reply", url, body);
    }

    /// <summary>Pushes an email tracking event (e.g. OPENED, CLICKED) for a sent email. False when the id is unknown or no URL is set.</summary>
    public bool TrackEmail(string messageId, string actionType = "OPENED", string? city = null, string? countryName = null, string? deviceType = null, string? deviceName = null)
    {
        var email = _emails.FirstOrDefault(e => e.MessageId == messageId);
        var url = EmailTrackingCallbackUrl;
        if (email is null || url is null) return false;
        var item = new JsonObject
        {
            ["mssId"] = email.MessageId,
            ["taskName"] = email.BatchNo,
            ["domain"] = SendingDomain,
            ["receive_email"] = email.To,
            ["time"] = Context.Clock.Now.ToUnixTimeSeconds(),
            ["action_type"] = actionType,
            ["country_name"] = countryName,
            ["city"] = city,
            ["device_type"] = deviceType,
            ["device_name"] = deviceName,
        };
        Push("email-tracking", url, new JsonObject { ["type"] = "MailUserEvent", ["cnt"] = 1, ["array"] = new JsonArray(item) });
        return true;
    }

    private async Task HandleAsync(HttpContext http, Func<CallFields, JsonObject> handle)
    {
        var answer = Authenticate(http.Request.Query)
            ?? (TooFast() ? Error(YaningaiStatus.TooFast, "Request frequency too fast") : null)
            ?? handle(await CallFields.ReadAsync(http.Request, http.RequestAborted).ConfigureAwait(false));
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(answer.ToJsonString(), http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>account, sign and datetime must be in the query, even for POST ("cannot be submitted in JSON").</summary>
    private JsonObject? Authenticate(IQueryCollection query)
    {
        string? account = query["account"], sign = query["sign"], datetime = query["datetime"];
        if (string.IsNullOrEmpty(account) || string.IsNullOrEmpty(sign) || string.IsNullOrEmpty(datetime))
            return Error(YaningaiStatus.AuthenticationError, "account, sign and datetime are required in the URL");
        if (!string.Equals(account, Account, StringComparison.Ordinal))
            return Error(YaningaiStatus.AuthenticationError, "Account error");
        if (!long.TryParse(datetime, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            return Error(YaningaiStatus.AuthenticationError, "datetime must be a timestamp in seconds");
        var skew = Context.Clock.Now - DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, 0, 253402300799));
        if (skew.Duration() > DatetimeWindow)
            return Error(YaningaiStatus.AuthenticationError, "Expiration error: datetime is outside the allowed window");
        if (!YaningaiSigner.Verify(Account, ApiKey, seconds, sign))
            return Error(YaningaiStatus.AuthenticationError, "Authentication error");
        return null;
    }

    private bool TooFast()
    {
        if (MaxCallsPerSecond is not { } max) return false;
        lock (_recentCalls)
        {
            var now = Context.Clock.Now;
            while (_recentCalls.Count > 0 && now - _recentCalls.Peek() >= TimeSpan.FromSeconds(1)) _recentCalls.Dequeue();
            if (_recentCalls.Count >= max) return true;
            _recentCalls.Enqueue(now);
            return false;
        }
    }

    private JsonObject SendNumbers(CallFields fields, string kind, int maxNumbers)
    {
        var numbers = (fields["numbers"] ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (numbers.Length == 0) return Error(YaningaiStatus.NumberEmpty, "Number is empty");
        if (numbers.Length > maxNumbers) return Error(YaningaiStatus.TooManyNumbers, $"Too many numbers: at most {maxNumbers}");
        var content = fields["content"];
        var templateId = fields["templateId"];
        if (content is null && templateId is null) return Error(YaningaiStatus.ContentEmpty, "SMS content is empty");
        if (content is not null && content.Length > MaxContentLength) return Error(YaningaiStatus.ContentTooLong, "SMS content too long");
        if (content is not null && SensitiveWords.Any(w => content.Contains(w, StringComparison.OrdinalIgnoreCase)))
            return Error(YaningaiStatus.SensitiveContent, "SMS content contains sensitive characters");
        var codeId = fields["codeId"];
        if (codeId is null) return Error(YaningaiStatus.CodeIdEmpty, "Country code ID cannot be empty");
        if (!CodeIds.TryGetValue(codeId, out var countryCode)) return Error(YaningaiStatus.CodeIdError, "Country code ID error");

        var action = fields["action"];
        // The doc lists no status for a bad business type; "send failed" is the closest it offers.
        if (kind == "sms" && (action is null || !Actions.Contains(action, StringComparer.Ordinal)))
            return Error(YaningaiStatus.SendFailed, "action must be MARKETING, VERIFY or NOTIFICATION");
        var title = fields["title"];
        if (kind == "mms")
        {
            // No documented status for these either: a missing subject reads as empty content, bad files as a failed send.
            if (title is null) return Error(YaningaiStatus.ContentEmpty, "MMS title is empty");
            var badFile = fields.Files.FirstOrDefault(f => !YaningaiClient.MmsAttachmentTypes.Contains(Path.GetExtension(f.FileName).TrimStart('.')));
            if (badFile is not null) return Error(YaningaiStatus.SendFailed, $"attachment type not supported: {badFile.FileName}");
            if (fields.Files.Sum(f => f.Length) > YaningaiClient.MaxAttachmentBytes) return Error(YaningaiStatus.SendFailed, "attachments exceed 100KB in total");
        }

        var batchNo = NextBatchNo();
        var now = Context.Clock.Now;
        var accepted = new List<YaningaiSentMessage>();
        var failed = new List<(string Phone, string MessageId)>();
        var blacklisted = 0;
        foreach (var number in numbers)
        {
            var e164 = ToE164(number, countryCode);
            var id = Guid.NewGuid().ToString("N");
            if (e164 is null || _blacklist.ContainsKey(e164))
            {
                if (e164 is not null) blacklisted++;
                failed.Add((e164 is null ? number : e164[1..], id));
                continue;
            }
            accepted.Add(new YaningaiSentMessage(kind, id, e164, codeId, content, templateId, fields.All("templateParams"), action, title,
                fields.Files.Select(f => f.FileName).ToArray(), batchNo, now));
        }
        if (accepted.Count == 0)
            return blacklisted == numbers.Length ? Error(YaningaiStatus.Blacklisted, "Blacklist restriction") : Error(YaningaiStatus.NumberAbnormal, "Number abnormal");

        foreach (var message in accepted) _messages.Add(message);
        ScheduleReports(kind, accepted);
        if (kind == "sms") foreach (var message in accepted) HandsetAnswers.Play(this, message.Mobile);

        var data = new JsonObject { ["success"] = accepted.Count, ["fail"] = failed.Count };
        switch (kind)
        {
            case "sms":
                data["batchNo"] = batchNo;
                data["successData"] = new JsonArray(accepted.Select(m => (JsonNode)new JsonObject { ["phone"] = m.Mobile[1..], ["messageId"] = m.MessageId }).ToArray());
                data["failData"] = new JsonArray(failed.Select(f => (JsonNode)new JsonObject { ["phone"] = f.Phone, ["messageId"] = f.MessageId }).ToArray());
                break;
            case "mms":
                // The example shows only counts; the parameter table adds per-message rows.
                data["batchNo"] = batchNo;
                data["array"] = new JsonArray(accepted.Select(m => (JsonNode)new JsonArray(
                    m.MessageId, m.Mobile[1..], ChinaTimeText(now), YaningaiStatus.SubmitSuccess, "sending", batchNo,
                    Units(m).ToString(CultureInfo.InvariantCulture), Fee(m))).ToArray());
                break;
            case "vos-notice":
                data["barchNo"] = batchNo; // sic: the doc's answer spells it so
                break;
            default:
                data["array"] = new JsonArray(accepted.Select(m => (JsonNode)new JsonArray(m.Mobile[1..], m.MessageId)).ToArray());
                break;
        }
        return Success(data);
    }

    private JsonObject SendEmails(CallFields fields)
    {
        var emails = fields["emails"];
        if (emails is null) return Error(YaningaiStatus.EmailRecipientEmpty, "Recipient is empty");
        var recipients = ParseRecipients(emails);
        if (recipients is null || recipients.Count == 0) return Error(YaningaiStatus.EmailRecipientEmpty, "Recipient is empty");
        if (recipients.Count > YaningaiClient.MaxEmailsPerPost) return Error(-7, "messages.too_many_emails");
        var theme = fields["theme"];
        if (theme is null) return Error(YaningaiStatus.EmailSubjectEmpty, "Email subject is empty");
        var content = fields["content"];
        int? templateId = int.TryParse(fields["templateId"], NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? t : null;
        if (content is null && templateId is null) return Error(YaningaiStatus.EmailContentEmpty, "SMS content is empty");
        var from = fields["from"];
        if (from is null) return Error(YaningaiStatus.SendFailed, "from (sender name) is required");
        var shared = ParsePlaceholders(fields["placeholders"]);
        if (shared is null) return Error(YaningaiStatus.SendFailed, "placeholders must be a JSON object");

        var batchNo = NextBatchNo();
        var now = Context.Clock.Now;
        var sent = new List<YaningaiSentEmail>();
        var fail = 0;
        foreach (var (to, placeholders) in recipients)
        {
            if (!YaningaiClient.IsEmailAddress(to)) { fail++; continue; }
            sent.Add(new YaningaiSentEmail(Guid.NewGuid().ToString("N"), to, from, theme, content, templateId, placeholders, shared,
                fields.Files.Select(f => f.FileName).ToArray(), batchNo, now));
        }
        if (sent.Count == 0) return Error(YaningaiStatus.EmailMissingDomain, "messages.missing_domain");

        foreach (var email in sent) _emails.Enqueue(email);
        ScheduleEmailReports(sent);
        return Success(new JsonObject
        {
            ["success"] = sent.Count,
            ["fail"] = fail,
            ["array"] = new JsonArray(sent.Select(e => (JsonNode)new JsonArray(e.To, e.MessageId)).ToArray()),
        });
    }

    /// <summary>"a@x.com,b@y.com" or "[{"to":"a@x.com","placeholders":{"name":"tom"}}, …]".</summary>
    private static List<(string To, IReadOnlyDictionary<string, string> Placeholders)>? ParseRecipients(string emails)
    {
        if (!emails.TrimStart().StartsWith('['))
        {
            return emails.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(e => (e, (IReadOnlyDictionary<string, string>)new Dictionary<string, string>())).ToList();
        }
        try
        {
            using var document = JsonDocument.Parse(emails);
            var list = new List<(string, IReadOnlyDictionary<string, string>)>();
            foreach (var item in document.RootElement.EnumerateArray())
            {
                var to = item.TryGetProperty("to", out var toElement) && toElement.ValueKind == JsonValueKind.String ? toElement.GetString()! : string.Empty;
                var placeholders = item.TryGetProperty("placeholders", out var p) ? ParsePlaceholders(p.GetRawText()) : new Dictionary<string, string>();
                if (placeholders is null) return null;
                list.Add((to, placeholders));
            }
            return list;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    private static Dictionary<string, string>? ParsePlaceholders(string? json)
    {
        if (json is null) return [];
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText())
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? ToE164(string number, int countryCode)
    {
        if (!number.All(char.IsAsciiDigit)) return null;
        var code = countryCode.ToString(CultureInfo.InvariantCulture);
        // A number that starts with its country code carries it (the doc's rule for such numbers).
        var international = number.StartsWith(code, StringComparison.Ordinal) ? number : code + number;
        return PhoneNumber.TryParse("+" + international, out var parsed, out _) && parsed.CountryCode == countryCode ? parsed.E164 : null;
    }

    private void ScheduleReports(string kind, IReadOnlyList<YaningaiSentMessage> messages)
    {
        var isVoice = kind.StartsWith("vos", StringComparison.Ordinal);
        // MMS reports have no example in the doc; they use the SMS format under their own type name.
        SchedulePushes(isVoice ? "voice-status" : "status", isVoice ? VoiceReportCallbackUrl : ReportCallbackUrl, isVoice ? "vos" : kind,
            messages, m => Script.PlanFor(m.Mobile), (m, outcome) =>
            {
                var row = new JsonArray(m.MessageId, m.Mobile[1..], ChinaTimeText(m.At), outcome.Status, outcome.Description, m.BatchNo);
                if (!isVoice)
                {
                    // Billing count and fee are only in the SMS format.
                    row.Add(Units(m).ToString(CultureInfo.InvariantCulture));
                    row.Add(Fee(m));
                }
                return row;
            });
    }

    private void ScheduleEmailReports(IReadOnlyList<YaningaiSentEmail> emails) =>
        SchedulePushes("email-status", EmailReportCallbackUrl, "mail", emails, e => EmailScript.PlanFor(e.To), (e, outcome) =>
            new JsonArray(e.MessageId, e.To, ChinaTimeText(e.At), outcome.Status, outcome.Description, e.BatchNo));

    /// <summary>Reports due at the same moment share a push (at most 50 rows each), as the platform batches them.</summary>
    private void SchedulePushes<T>(string pushKind, Uri? url, string type, IReadOnlyList<T> items, Func<T, DeliveryPlan> planFor, Func<T, (int Status, string Description), JsonArray> rowFor)
    {
        if (url is null) return;
        var planned = items.Select(item => (Item: item, Plan: planFor(item))).Where(x => x.Plan.Outcome != DeliveryOutcome.NeverReported);
        foreach (var due in planned.GroupBy(x => x.Plan.After))
        {
            foreach (var chunk in due.Chunk(MaxReportsPerPush))
            {
                var rows = chunk.Select(x => (JsonNode)rowFor(x.Item, Outcome(x.Plan))).ToArray();
                Push(pushKind, url, new JsonObject { ["type"] = type, ["cnt"] = rows.Length, ["array"] = new JsonArray(rows) }, due.Key);
            }
        }
    }

    /// <summary>A failure code that is a number is used as the status (e.g. -9 "number error"); any other text becomes status 2 with that text.</summary>
    private static (int Status, string Description) Outcome(DeliveryPlan plan) => plan.Outcome switch
    {
        DeliveryOutcome.Delivered => (YaningaiStatus.SendSuccess, "success"),
        _ when int.TryParse(plan.FailureCode, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code) && !YaningaiStatus.IsSuccess(code) => (code, "failed"),
        _ => (YaningaiStatus.SendFailed, plan.FailureCode ?? "failed"),
    };

    private void Push(string kind, Uri url, JsonObject body, TimeSpan delay = default) =>
        Context.Pushes.Send(new Push(Vendor, kind, url, "application/json;charset=UTF-8", body.ToJsonString(),
            static (status, _) => status == 200, PushRetrySchedule), delay);

    /// <summary>Billing units: 160 GSM characters or 70 UCS-2 characters for one part, 153 / 67 per part when concatenated.</summary>
    private static int Units(YaningaiSentMessage message)
    {
        var text = message.Content ?? string.Empty;
        var gsm = text.All(c => c < 128);
        var (single, multi) = gsm ? (160, 153) : (70, 67);
        return text.Length <= single ? 1 : (text.Length + multi - 1) / multi;
    }

    private string Fee(YaningaiSentMessage message) => (Units(message) * PricePerUnit).ToString(CultureInfo.InvariantCulture);

    private static string ChinaTimeText(DateTimeOffset at) => at.ToOffset(ChinaTime).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);

    private string NextBatchNo() =>
        Context.Clock.Now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + (Interlocked.Increment(ref _batchCounter) % 10000).ToString("D4", CultureInfo.InvariantCulture);

    private static JsonObject Success(JsonObject data) => new() { ["status"] = YaningaiStatus.SubmitSuccess, ["message"] = "Submit success", ["data"] = data };

    // Errors carry "msg", as in the doc's error code section.
    private static JsonObject Error(int status, string message) => new() { ["status"] = status, ["msg"] = message };
}
