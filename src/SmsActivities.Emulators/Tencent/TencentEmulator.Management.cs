using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SmsActivities.Vendors.Tencent;

namespace SmsActivities.Emulators.Tencent;

// Templates and signatures: created pending review (or approved at once with AutoApprove), reviewed by the test.
public sealed partial class TencentEmulator
{
    private readonly Dictionary<int, TemplateEntry> _templates = [];
    private readonly Dictionary<int, SignEntry> _signs = [];
    private int _nextTemplateId = 1000;
    private int _nextSignId = 5000;

    private sealed partial record TemplateEntry(int Id, string Text, TencentTemplateType Type, string? Title, string? Remark, TencentReviewStatus Status, string? Reply, int International = 0)
    {
        private Regex? _pattern;

        [GeneratedRegex(@"\{(\d+)\}")]
        public static partial Regex Placeholder();

        /// <summary>Whether a text send is this template with its {n} placeholders filled in.</summary>
        public bool Matches(string text)
        {
            _pattern ??= new Regex("^" + Placeholder().Replace(Regex.Escape(Text).Replace(@"\{", "{", StringComparison.Ordinal), "(.*)") + "$",
                RegexOptions.Singleline | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            return _pattern.IsMatch(text);
        }

        public JsonObject ToJson(bool withReply) => WithReply(new JsonObject
        {
            ["id"] = Id, ["text"] = Text, ["status"] = (int)Status, ["international"] = International,
        }, withReply ? Reply : null, ("type", (int)Type));
    }

    private sealed record SignEntry(int Id, string Text, string? Remark, TencentReviewStatus Status, string? Reply)
    {
        public JsonObject ToJson(bool withReply) => WithReply(new JsonObject
        {
            ["id"] = Id, ["text"] = Text, ["status"] = (int)Status,
        }, withReply ? Reply : null);
    }

    private static JsonObject WithReply(JsonObject item, string? reply, params (string Name, int Value)[] more)
    {
        if (reply is not null) item["reply"] = reply;
        foreach (var (name, value) in more) item[name] = value;
        return item;
    }

    /// <summary>Adds an approved template, as if created and reviewed on the console; returns its id.</summary>
    public int SeedTemplate(string text, TencentTemplateType type = TencentTemplateType.Common)
    {
        lock (_gate)
        {
            var entry = new TemplateEntry(++_nextTemplateId, text, type, null, null, TencentReviewStatus.Approved, string.Empty);
            _templates[entry.Id] = entry;
            return entry.Id;
        }
    }

    /// <summary>Adds an approved signature; returns its id.</summary>
    public int SeedSign(string text)
    {
        lock (_gate)
        {
            var entry = new SignEntry(++_nextSignId, text, null, TencentReviewStatus.Approved, string.Empty);
            _signs[entry.Id] = entry;
            return entry.Id;
        }
    }

    /// <summary>Plays the console reviewer: approves a template, or rejects it with a reason.</summary>
    public void ReviewTemplate(int id, bool approve, string? reply = null)
    {
        lock (_gate)
        {
            _templates[id] = _templates.TryGetValue(id, out var entry)
                ? entry with { Status = approve ? TencentReviewStatus.Approved : TencentReviewStatus.Rejected, Reply = reply ?? string.Empty }
                : throw new KeyNotFoundException($"no template {id}");
        }
    }

    /// <summary>Plays the console reviewer for a signature.</summary>
    public void ReviewSign(int id, bool approve, string? reply = null)
    {
        lock (_gate)
        {
            _signs[id] = _signs.TryGetValue(id, out var entry)
                ? entry with { Status = approve ? TencentReviewStatus.Approved : TencentReviewStatus.Rejected, Reply = reply ?? string.Empty }
                : throw new KeyNotFoundException($"no signature {id}");
        }
    }

    private TencentReviewStatus NewStatus => AutoApprove ? TencentReviewStatus.Approved : TencentReviewStatus.Pending;

    private void AddTemplate(JsonObject body, JsonObject answer)
    {
        var entry = new TemplateEntry(++_nextTemplateId, RequiredString(body, "text"), (TencentTemplateType)RequiredInt(body, "type", 0, 2),
            OptionalString(body, "title"), OptionalString(body, "remark"), NewStatus, string.Empty, InternationalFlag(body));
        _templates[entry.Id] = entry;
        answer["data"] = entry.ToJson(withReply: false);
    }

    private void ModifyTemplate(JsonObject body, JsonObject answer)
    {
        var id = RequiredInt(body, "tpl_id", 1, int.MaxValue);
        if (!_templates.ContainsKey(id)) throw NotFound("template", id);
        // A modified template goes through review again.
        var entry = new TemplateEntry(id, RequiredString(body, "text"), (TencentTemplateType)RequiredInt(body, "type", 0, 2),
            OptionalString(body, "title"), OptionalString(body, "remark"), NewStatus, string.Empty, InternationalFlag(body));
        _templates[id] = entry;
        answer["data"] = entry.ToJson(withReply: false);
    }

    /// <summary><c>international</c>: 0 (China mainland, the default when absent) or 1 (outside it).</summary>
    private static int InternationalFlag(JsonObject body) => body.ContainsKey("international") ? RequiredInt(body, "international", 0, 1) : 0;

    private void DeleteTemplates(JsonObject body, JsonObject answer) => Delete(_templates, RequiredIds(body, "tpl_id"), "template");

    private void GetTemplates(JsonObject body, JsonObject answer)
    {
        var byId = body.ContainsKey("tpl_id");
        if (byId == body.ContainsKey("tpl_page"))
            throw new TencentError(TencentErrorCodes.MalformedRequest, "give exactly one of tpl_id and tpl_page");

        IEnumerable<TemplateEntry> found;
        if (byId)
        {
            found = RequiredIds(body, "tpl_id").Where(_templates.ContainsKey).Select(id => _templates[id]);
        }
        else
        {
            var page = body["tpl_page"] as JsonObject ?? throw Malformed("tpl_page", "an object with offset and max");
            var offset = RequiredInt(page, "offset", 0, int.MaxValue);
            var max = RequiredInt(page, "max", 1, TencentSmsClient.MaxTemplatePage);
            found = _templates.Values.OrderBy(t => t.Id).Skip(offset).Take(max);
        }
        var data = new JsonArray(found.Select(t => (JsonNode)t.ToJson(withReply: true)).ToArray());
        answer["total"] = _templates.Count;
        answer["count"] = data.Count;
        answer["data"] = data;
    }

    private void AddSign(JsonObject body, JsonObject answer)
    {
        var entry = new SignEntry(++_nextSignId, SignText(body), OptionalString(body, "remark"), NewStatus, string.Empty);
        CheckPicture(body);
        _signs[entry.Id] = entry;
        answer["data"] = entry.ToJson(withReply: false);
    }

    private void ModifySign(JsonObject body, JsonObject answer)
    {
        var id = RequiredInt(body, "sign_id", 1, int.MaxValue);
        if (!_signs.ContainsKey(id)) throw NotFound("signature", id);
        var entry = new SignEntry(id, SignText(body), OptionalString(body, "remark"), NewStatus, string.Empty);
        CheckPicture(body);
        _signs[id] = entry;
        answer["data"] = entry.ToJson(withReply: false);
    }

    private void DeleteSigns(JsonObject body, JsonObject answer) => Delete(_signs, RequiredIds(body, "sign_id"), "signature");

    private void GetSigns(JsonObject body, JsonObject answer)
    {
        var data = new JsonArray(RequiredIds(body, "sign_id").Where(_signs.ContainsKey).Select(id => (JsonNode)_signs[id].ToJson(withReply: true)).ToArray());
        answer["count"] = data.Count;
        answer["data"] = data;
    }

    /// <summary>The signature text goes without its brackets: "Tencent Technology", not "【Tencent Technology】".</summary>
    private static string SignText(JsonObject body)
    {
        var text = RequiredString(body, "text");
        return text.IndexOfAny(['【', '】', '[', ']']) < 0 ? text : throw Malformed("text", "the signature without [] or 【】");
    }

    private static void CheckPicture(JsonObject body)
    {
        if (OptionalString(body, "pic") is { Length: > 0 } pic && !Convert.TryFromBase64String(pic, new byte[pic.Length], out _))
            throw Malformed("pic", "a Base64 string");
    }

    private static void Delete<T>(Dictionary<int, T> entries, IReadOnlyList<int> ids, string what)
    {
        if (ids.Where(id => !entries.ContainsKey(id)).Select(id => (int?)id).FirstOrDefault() is { } missing) throw NotFound(what, missing);
        foreach (var id in ids) entries.Remove(id);
    }

    private static TencentError NotFound(string what, int id) => new(TencentErrorCodes.MalformedRequest, $"{what} {id} does not exist");
}
