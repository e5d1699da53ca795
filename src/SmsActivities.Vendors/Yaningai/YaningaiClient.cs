using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace SmsActivities.Vendors.Yaningai;

/// <summary>
/// The YANINGAI HTTP API (typed client). Every call carries <c>account</c>, <c>sign</c> and <c>datetime</c> in the
/// query; parameters go in the query (GET) or a JSON body (POST), or a multipart body when files are attached.
/// Vendor refusals become <see cref="VendorException"/> with the vendor's status; bad input is refused before any call.
/// </summary>
public sealed class YaningaiClient(HttpClient http, IOptions<YaningaiOptions> options, TimeProvider time)
{
    public const int MaxNumbersPerGet = 1000;
    public const int MaxNumbersPerPost = 10000;
    public const int MaxEmailsPerPost = 10000;
    public const int MaxAttachmentBytes = 100 * 1024;

    /// <summary>File types mssSend accepts.</summary>
    public static IReadOnlySet<string> MmsAttachmentTypes { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        { "png", "jpg", "jpeg", "bmp", "gif", "webp", "psd", "svg", "tiff", "mp3", "wav", "txt", "vcf" };

    private readonly YaningaiOptions _options = options.Value;

    /// <summary>sendbatchsms: one text or template to up to 1000 (GET) or 10000 (POST) numbers of one country.</summary>
    public Task<YaningaiSubmitResult> SendBatchSmsAsync(YaningaiSmsRequest request, YaningaiSmsMethod method = YaningaiSmsMethod.Post, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckNumbers(request.Numbers, method == YaningaiSmsMethod.Get ? MaxNumbersPerGet : MaxNumbersPerPost);
        CheckCodeId(request.CodeId);
        CheckContent(request.Content, request.TemplateId);
        var fields = new WireFields()
            .Add("numbers", string.Join(',', request.Numbers))
            .Add("content", request.Content)
            .Add("codeId", request.CodeId)
            .Add("action", request.Action.ToString().ToUpperInvariant())
            .Add("senderId", request.SenderId)
            .Add("routing", request.Routing)
            .Add("templateId", request.TemplateId)
            .WithTemplateParams(request.TemplateParams);
        return SubmitAsync("api/v1/sms/sendbatchsms", method == YaningaiSmsMethod.Get ? HttpMethod.Get : HttpMethod.Post, fields, [], request.Numbers, cancellationToken);
    }

    /// <summary>mssSend: MMS with a subject and optional attachments (≤100 KB in total) to up to 10000 numbers of one country.</summary>
    public Task<YaningaiSubmitResult> SendMmsAsync(YaningaiMmsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckNumbers(request.Numbers, MaxNumbersPerPost);
        CheckCodeId(request.CodeId);
        CheckContent(request.Content, request.TemplateId);
        if (string.IsNullOrWhiteSpace(request.Title)) throw new VendorValidationException("title", "an MMS subject is required");
        CheckMmsAttachments(request.Attachments);
        var fields = new WireFields()
            .Add("content", request.Content)
            .Add("numbers", string.Join(',', request.Numbers))
            .Add("codeId", request.CodeId)
            .Add("title", request.Title)
            .Add("senderId", request.SenderId)
            .Add("routing", request.Routing)
            .Add("templateId", request.TemplateId)
            .WithTemplateParams(request.TemplateParams);
        return SubmitAsync("api/v1/sms/mssSend", HttpMethod.Post, fields, request.Attachments, request.Numbers, cancellationToken);
    }

    /// <summary>vos/notice: the same voice message to up to 10000 numbers of one country. Answers with counts and a batch number only.</summary>
    public Task<YaningaiSubmitResult> SendVoiceNoticeAsync(YaningaiVoiceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckNumbers(request.Numbers, MaxNumbersPerPost);
        return SubmitVoiceAsync("api/v1/vos/notice", request, cancellationToken);
    }

    /// <summary>vos/otp: a voice verification code to exactly one number.</summary>
    public Task<YaningaiSubmitResult> SendVoiceOtpAsync(YaningaiVoiceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckNumbers(request.Numbers, 1);
        return SubmitVoiceAsync("api/v1/vos/otp", request, cancellationToken);
    }

    /// <summary>email/sendEmail: up to 10000 recipients, per-recipient and shared placeholders, attachments.</summary>
    public Task<YaningaiSubmitResult> SendEmailAsync(YaningaiEmailRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Recipients is null || request.Recipients.Count == 0) throw new VendorValidationException("emails", "at least one recipient is required");
        if (request.Recipients.Count > MaxEmailsPerPost) throw new VendorValidationException("emails", $"at most {MaxEmailsPerPost} recipients per call, got {request.Recipients.Count}");
        foreach (var recipient in request.Recipients)
        {
            if (!IsEmailAddress(recipient.To)) throw new VendorValidationException("emails", $"'{PhoneNumber.Mask(recipient.To ?? string.Empty)}' is not an email address");
        }
        if (string.IsNullOrWhiteSpace(request.From)) throw new VendorValidationException("from", "a sender name is required");
        if (string.IsNullOrWhiteSpace(request.Theme)) throw new VendorValidationException("theme", "a subject is required");
        if (string.IsNullOrWhiteSpace(request.Content) && request.TemplateId is null) throw new VendorValidationException("content", "content or templateId is required");
        if (request.Attachments.Any(a => a is null || string.IsNullOrWhiteSpace(a.FileName) || a.Content is null))
            throw new VendorValidationException("attachment", "every attachment needs a file name and content");

        // Per-recipient placeholders need the JSON form of "emails"; otherwise the plain comma list.
        var emails = request.Recipients.Any(r => r.Placeholders is { Count: > 0 })
            ? new JsonArray(request.Recipients.Select(r => (JsonNode)new JsonObject
            {
                ["to"] = r.To,
                ["placeholders"] = ToJsonObject(r.Placeholders),
            }).ToArray()).ToJsonString()
            : string.Join(',', request.Recipients.Select(r => r.To));
        var fields = new WireFields()
            .Add("emails", emails)
            .Add("from", request.From)
            .Add("theme", request.Theme)
            .Add("content", request.Content)
            .Add("placeholders", request.Placeholders is { Count: > 0 } ? ToJsonObject(request.Placeholders).ToJsonString() : null)
            .Add("templateId", request.TemplateId)
            .Add("routing", request.Routing);
        return SubmitAsync("api/v1/email/sendEmail", HttpMethod.Post, fields, request.Attachments, request.Recipients.Select(r => r.To).ToArray(), cancellationToken);
    }

    private Task<YaningaiSubmitResult> SubmitVoiceAsync(string path, YaningaiVoiceRequest request, CancellationToken cancellationToken)
    {
        CheckCodeId(request.CodeId);
        CheckContent(request.Content, request.TemplateId);
        var fields = new WireFields()
            .Add("content", request.Content)
            .Add("numbers", string.Join(',', request.Numbers))
            .Add("codeId", request.CodeId)
            .Add("showPhone", request.ShowPhone)
            .Add("routing", request.Routing)
            .Add("templateId", request.TemplateId)
            .WithTemplateParams(request.TemplateParams);
        return SubmitAsync(path, HttpMethod.Post, fields, [], request.Numbers, cancellationToken);
    }

    private async Task<YaningaiSubmitResult> SubmitAsync(
        string path, HttpMethod method, WireFields fields, IReadOnlyList<EmailAttachment> attachments,
        IReadOnlyList<string> targets, CancellationToken cancellationToken)
    {
        var query = AuthenticationQuery();
        if (method == HttpMethod.Get) query += "&" + fields.ToQuery();
        using var request = new HttpRequestMessage(method, path + "?" + query);
        // Every submit sends SMS, calls or email and YANINGAI has no idempotency key: an unknown outcome is not repeated.
        VendorRetryRules.MarkDeliversMessage(request);
        if (method != HttpMethod.Get)
            request.Content = attachments.Count == 0 ? fields.ToJsonContent() : fields.ToMultipartContent(attachments);

        // The operation is the path alone: the query holds the account and the sign.
        var answer = await http.SendToVendorAsync(VendorNames.Yaningai, path, request, cancellationToken).ConfigureAwait(false);
        if (!answer.IsSuccess) throw answer.StatusFailure();
        return YaningaiAnswer.Parse(answer.Body, targets, answer.Status);
    }

    /// <summary>
    /// The doc asks for "the current half-hour time" as a timestamp; the service checks the sign against the
    /// current Unix seconds within that window (docs/architecture.md, "Vendor notes"), so the current second is sent.
    /// </summary>
    private string AuthenticationQuery()
    {
        var datetime = time.GetUtcNow().ToUnixTimeSeconds();
        var sign = YaningaiSigner.Sign(_options.Account!, _options.ApiKey!, datetime);
        return $"account={Uri.EscapeDataString(_options.Account!)}&sign={sign}&datetime={datetime.ToString(CultureInfo.InvariantCulture)}";
    }

    private static void CheckNumbers(IReadOnlyList<string>? numbers, int max)
    {
        if (numbers is null || numbers.Count == 0) throw new VendorValidationException("numbers", "at least one number is required");
        if (numbers.Count > max) throw new VendorValidationException("numbers", $"at most {max} numbers per call, got {numbers.Count}");
        foreach (var number in numbers)
        {
            if (string.IsNullOrEmpty(number) || !number.All(char.IsAsciiDigit))
                throw new VendorValidationException("numbers", $"'{PhoneNumber.Mask(number ?? string.Empty)}' must be digits only, without '+' or country code");
        }
    }

    private static void CheckCodeId(string? codeId)
    {
        if (string.IsNullOrWhiteSpace(codeId)) throw new VendorValidationException("codeId", "a codeId from the YANINGAI country table is required");
    }

    private static void CheckContent(string? content, string? templateId)
    {
        if (string.IsNullOrWhiteSpace(content) && string.IsNullOrWhiteSpace(templateId))
            throw new VendorValidationException("content", "content or templateId is required");
    }

    /// <summary>Checks the documented mssSend attachment rules (file types, 100 KB in total).</summary>
    public static void CheckMmsAttachments(IReadOnlyList<EmailAttachment> attachments)
    {
        ArgumentNullException.ThrowIfNull(attachments);
        long total = 0;
        foreach (var attachment in attachments)
        {
            if (attachment is null || string.IsNullOrWhiteSpace(attachment.FileName) || attachment.Content is null)
                throw new VendorValidationException("attachment", "every attachment needs a file name and content");
            var extension = Path.GetExtension(attachment.FileName).TrimStart('.');
            if (!MmsAttachmentTypes.Contains(extension))
                throw new VendorValidationException("attachment", $"'{attachment.FileName}' is not an accepted type ({string.Join(", ", MmsAttachmentTypes)})");
            total += attachment.Content.Length;
        }
        if (total > MaxAttachmentBytes)
            throw new VendorValidationException("attachment", $"attachments may total at most {MaxAttachmentBytes / 1024} KB, got {total} bytes");
    }

    /// <summary>A single address with a local part and a dotted domain (what the vendor's -3 "missing domain" refuses).</summary>
    public static bool IsEmailAddress(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Contains(',', StringComparison.Ordinal)) return false;
        var at = value.IndexOf('@', StringComparison.Ordinal);
        return at > 0 && at == value.LastIndexOf('@') && value.IndexOf('.', at) > at + 1 && !value.EndsWith('.');
    }

    private static JsonObject ToJsonObject(IReadOnlyDictionary<string, string>? values)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in values ?? new Dictionary<string, string>()) obj[key] = value;
        return obj;
    }

    /// <summary>The request parameters of one call, encodable as a query, a JSON body or a multipart body.</summary>
    private sealed class WireFields
    {
        private readonly List<KeyValuePair<string, JsonValue>> _scalars = [];
        private IReadOnlyList<string> _templateParams = [];

        public WireFields Add(string name, string? value)
        {
            if (value is not null) _scalars.Add(new(name, JsonValue.Create(value)));
            return this;
        }

        public WireFields Add(string name, int? value)
        {
            if (value is not null) _scalars.Add(new(name, JsonValue.Create(value.Value)));
            return this;
        }

        public WireFields WithTemplateParams(IReadOnlyList<string>? values)
        {
            _templateParams = values ?? [];
            return this;
        }

        // Arrays outside JSON use the "name[]" convention of the vendor's (PHP) platform.
        private IEnumerable<KeyValuePair<string, string>> Flat() =>
            _scalars.Select(s => new KeyValuePair<string, string>(s.Key, s.Value.GetValueKind() == JsonValueKind.String ? s.Value.GetValue<string>() : s.Value.ToJsonString()))
                .Concat(_templateParams.Select(p => new KeyValuePair<string, string>("templateParams[]", p)));

        public string ToQuery() => string.Join('&', Flat().Select(f => $"{Uri.EscapeDataString(f.Key)}={Uri.EscapeDataString(f.Value)}"));

        public HttpContent ToJsonContent()
        {
            var body = new JsonObject();
            foreach (var (name, value) in _scalars) body[name] = value.DeepClone();
            if (_templateParams.Count > 0) body["templateParams"] = new JsonArray(_templateParams.Select(p => (JsonNode?)JsonValue.Create(p)).ToArray());
            return new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        public HttpContent ToMultipartContent(IReadOnlyList<EmailAttachment> attachments)
        {
            var content = new MultipartFormDataContent();
            foreach (var (name, value) in Flat()) content.Add(new StringContent(value, Encoding.UTF8), name);
            foreach (var attachment in attachments)
            {
                var file = new ByteArrayContent(attachment.Content);
                file.Headers.ContentType = MediaTypeHeaderValue.TryParse(attachment.ContentType, out var type) ? type : new MediaTypeHeaderValue("application/octet-stream");
                content.Add(file, "attachment[]", attachment.FileName);
            }
            return content;
        }
    }
}
