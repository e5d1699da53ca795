using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using SmsActivities.Vendors;
using SmsActivities.Vendors.SendCloud;
using SmsActivities.Vendors.Yunpian;

namespace SmsActivities.Benchmarks;

/// <summary>One generated push: where it goes, how it is sent, what was done to it.</summary>
public sealed record WebhookFuzzCase(string Vendor, string Kind, string Method, string? ContentType, byte[] Body, string Query, string Mutation)
{
    public override string ToString() =>
        $"{Method} {Vendor}/{Kind}{(Query.Length > 0 ? "?" + Query : string.Empty)} [{ContentType}] ({Mutation}) {Encoding.UTF8.GetString(Body.AsSpan(0, Math.Min(Body.Length, 300)))}";
}

/// <summary>What a run over HTTP got back.</summary>
public sealed record WebhookFuzzSummary(int Sent, IReadOnlyDictionary<int, int> ByStatus, IReadOnlyList<string> ServerErrorSamples, TimeSpan Elapsed)
{
    public int ServerErrors => ByStatus.Where(s => s.Key >= 500).Sum(s => s.Value);

    public override string ToString() =>
        $"{Sent} pushes in {Elapsed.TotalSeconds:F1} s: " + string.Join(", ", ByStatus.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")) + $"; 5xx: {ServerErrors}";
}

/// <summary>
/// Generates hostile webhook pushes for every route of the four vendors with FsCheck: valid pushes (signed with the
/// sandbox keys, so the readers get past the signatures) then mutated — values replaced by huge numbers, wrong types,
/// over-long or empty strings; fields removed or added; invalid UTF-8 and lone surrogates spliced into strings; bodies
/// truncated, bit-flipped or replaced by random bytes; form and JSON swapped; wrong methods; stale, reused and wrong
/// signatures. Used in-process by the test suite and over HTTP against a running server by the benchmark's
/// <c>--fuzz</c> (and any stress run that wants poison pushes in its mix).
/// </summary>
public sealed class WebhookFuzzer(string yunpianApiKey, string sendCloudAppKey, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Every vendor/kind route the fuzzer targets (the plug-in's readers).</summary>
    public static IReadOnlyList<(string Vendor, string Kind)> Routes { get; } =
    [
        ("tencent", "status"), ("tencent", "reply"), ("yunpian", "status"), ("yunpian", "reply"), ("sendcloud", "smshook"),
        ("yaningai", "status"), ("yaningai", "voice-status"), ("yaningai", "email-status"), ("yaningai", "email-tracking"), ("yaningai", "reply"),
    ];

    /// <summary>A fuzzer signing with the emulators' sandbox keys, which the sandbox server and test beds use.</summary>
    public static WebhookFuzzer ForSandbox(TimeProvider? time = null) =>
        new(Emulators.Yunpian.YunpianEmulator.SandboxApiKey, Emulators.SendCloud.SendCloudEmulator.SandboxAppKey, time);

    /// <summary>The case as a reader sees it (no headers: no reader reads any).</summary>
    public static WebhookRequest ToRequest(WebhookFuzzCase c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var query = System.Web.HttpUtility.ParseQueryString(c.Query);
        return new WebhookRequest(c.Method, c.ContentType, c.Body,
            query.AllKeys.OfType<string>().ToDictionary(k => k, k => query[k] ?? string.Empty, StringComparer.Ordinal), new Dictionary<string, string>());
    }

    /// <summary>The generator of cases over every route.</summary>
    public Gen<WebhookFuzzCase> Cases => Gen.Elements(Routes.ToArray()).SelectMany(r => CasesFor(r.Vendor, r.Kind));

    /// <summary><paramref name="count"/> cases at FsCheck's default size.</summary>
    public IReadOnlyList<WebhookFuzzCase> Sample(int count) => Gen.Sample(Cases, count);

    /// <summary>The generator of one route's cases.</summary>
    public Gen<WebhookFuzzCase> CasesFor(string vendor, string kind)
    {
        var valid = (vendor, kind) switch
        {
            ("tencent", "status") => TencentStatus(),
            ("tencent", "reply") => TencentReply(),
            ("yunpian", "status") => YunpianStatus(),
            ("yunpian", "reply") => YunpianReply(),
            ("sendcloud", "smshook") => SendCloudHook(),
            ("yaningai", "status") => YaningaiRows("sms", 8),
            ("yaningai", "voice-status") => YaningaiRows("vos", 6),
            ("yaningai", "email-status") => YaningaiRows("mail", 6),
            ("yaningai", "email-tracking") => YaningaiTracking(),
            ("yaningai", "reply") => YaningaiReply(),
            _ => throw new ArgumentException($"no generator for {vendor}/{kind}", nameof(kind)),
        };
        return valid.SelectMany(Mutate).Select(c => c with { Vendor = vendor, Kind = kind });
    }

    /// <summary>
    /// Sends <paramref name="count"/> generated pushes to <c>{baseUrl}{prefix}/{vendor}/{kind}/{token}</c> with
    /// <paramref name="concurrency"/> callers, generating in chunks so signed timestamps stay fresh in long runs.
    /// </summary>
    public async Task<WebhookFuzzSummary> RunOverHttpAsync(HttpClient http, Uri baseUrl, string token, int count, int concurrency = 8,
        string prefix = "/webhooks/sms", int keepSamples = 20, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(baseUrl);
        var statuses = new ConcurrentDictionary<int, int>();
        var samples = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        var sent = 0;
        const int Chunk = 1000;
        while (sent < count)
        {
            var cases = Sample(Math.Min(Chunk, count - sent));
            await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (c, ct) =>
            {
                var url = new Uri(baseUrl, $"{prefix.Trim('/')}/{c.Vendor}/{c.Kind}/{Uri.EscapeDataString(token)}" + (c.Query.Length > 0 ? "?" + c.Query : string.Empty));
                using var request = new HttpRequestMessage(new HttpMethod(c.Method), url);
                if (c.Method != "GET" || c.Body.Length > 0)
                {
                    request.Content = new ByteArrayContent(c.Body);
                    if (c.ContentType is not null) request.Content.Headers.TryAddWithoutValidation("Content-Type", c.ContentType);
                }
                int status;
                string answer;
                try
                {
                    using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
                    status = (int)response.StatusCode;
                    answer = status >= 500 ? await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false) : string.Empty;
                }
                catch (HttpRequestException ex)
                {
                    // A dropped connection is as bad as a 5xx: the vendor retries.
                    status = 599;
                    answer = ex.Message;
                }
                statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                if (status >= 500 && samples.Count < keepSamples) samples.Enqueue($"HTTP {status} {answer} ← {c}");
            }).ConfigureAwait(false);
            sent += cases.Count;
        }
        return new WebhookFuzzSummary(sent, new Dictionary<int, int>(statuses), samples.ToArray(), clock.Elapsed);
    }

    // ---- valid pushes, as the vendors send them ----

    private static readonly Gen<string> Mobile = Gen.Choose(10_000_000, 99_999_999).Select(n => "138" + n.ToString(CultureInfo.InvariantCulture));
    private static readonly Gen<string> Id = Gen.Choose(1, int.MaxValue).Select(n => n.ToString(CultureInfo.InvariantCulture));
    private static readonly Gen<string> Text = Gen.Elements("hi", "YES", "STOP", "好的，谢谢", "1", "see you at 5 😀", "");
    private static readonly Gen<long> UnixSeconds = Gen.Choose(1_600_000_000, 1_900_000_000).Select(n => (long)n);

    private static Gen<List<T>> OneToThree<T>(Gen<T> item) => Gen.Choose(1, 3).SelectMany(n => Gen.ListOf(item, n)).Select(l => l.ToList());

    private static WebhookFuzzCase Json(JsonNode node, string mutation = "valid") =>
        new(string.Empty, string.Empty, "POST", "application/json", Encoding.UTF8.GetBytes(node.ToJsonString()), string.Empty, mutation);

    private static string Form(IEnumerable<KeyValuePair<string, string>> fields) =>
        string.Join('&', fields.Select(f => Uri.EscapeDataString(f.Key) + "=" + Uri.EscapeDataString(f.Value)));

    private static WebhookFuzzCase FormCase(string form, string mutation = "valid") =>
        new(string.Empty, string.Empty, "POST", "application/x-www-form-urlencoded", Encoding.UTF8.GetBytes(form), string.Empty, mutation);

    /// <summary>A valid push and, for the mutations, its JSON tree (null for form pushes) and a re-encoder of a mutated tree.</summary>
    private sealed record Valid(WebhookFuzzCase Case, Func<JsonNode>? Tree, Func<JsonNode, WebhookFuzzCase>? Encode);

    private static Valid JsonValid(Func<JsonNode> tree) => new(Json(tree()), tree, n => Json(n, "json mutation"));

    private Gen<Valid> TencentStatus() =>
        OneToThree(Gen.Zip(Mobile, Id).Select(p => (Func<JsonNode>)(() => new JsonObject
        {
            ["user_receive_time"] = "2026-11-21 10:00:00", ["nationcode"] = "86", ["mobile"] = p.Item1,
            ["report_status"] = "SUCCESS", ["errmsg"] = "DELIVRD", ["description"] = "ok", ["sid"] = "sid-" + p.Item2,
        }))).Select(items => JsonValid(() => new JsonArray(items.Select(i => (JsonNode?)i()).ToArray())));

    private Gen<Valid> TencentReply() =>
        Gen.Zip(Gen.Zip(Mobile, Text), Gen.Zip(UnixSeconds, Gen.Elements(true, false))).Select(p =>
        {
            var ((mobile, text), (time, byQuery)) = p;
            JsonNode Tree() => new JsonObject { ["nationcode"] = "86", ["mobile"] = mobile, ["text"] = text, ["sign"] = "Acme", ["time"] = time, ["extend"] = "" };
            if (!byQuery) return JsonValid(Tree);
            var query = $"nationcode=86&mobile={mobile}&text={Uri.EscapeDataString(text)}&sign=Acme&time={time}";
            return new Valid(new WebhookFuzzCase(string.Empty, string.Empty, "GET", null, [], query, "valid query"), null, null);
        });

    private Gen<Valid> YunpianStatus() =>
        OneToThree(Gen.Zip(Mobile, Gen.Choose(1, int.MaxValue)).Select(p => (Func<JsonNode>)(() => new JsonObject
        {
            ["sid"] = (long)p.Item2 * 1000, ["uid"] = null, ["user_receive_time"] = "2026-11-21 10:00:00", ["error_msg"] = "",
            ["mobile"] = p.Item1, ["report_status"] = "SUCCESS",
        }))).Select(items =>
        {
            JsonNode Tree() => new JsonArray(items.Select(i => (JsonNode?)i()).ToArray());
            return new Valid(FormCase(Form([new("sms_status", Tree().ToJsonString())])), Tree, n => FormCase(Form([new("sms_status", n.ToJsonString())]), "json mutation"));
        });

    private Gen<Valid> YunpianReply() =>
        Gen.Zip(Gen.Zip(Mobile, Text), Id).Select(p =>
        {
            var ((mobile, text), id) = p;
            JsonNode Tree() => new JsonObject
            {
                ["id"] = id, ["mobile"] = mobile, ["reply_time"] = "2026-11-21 10:00:00", ["text"] = text, ["extend"] = "", ["base_extend"] = "",
            };
            return new Valid(FormCase(Form([new("sms_reply", SignYunpian(Tree()).ToJsonString())])), Tree,
                n => FormCase(Form([new("sms_reply", SignYunpian(n).ToJsonString())]), "json mutation, re-signed"));
        });

    /// <summary>Adds a valid <c>_sign</c> to a reply object (to anything else, nothing), so mutations reach past the signature.</summary>
    private JsonNode SignYunpian(JsonNode node)
    {
        if (node is not JsonObject reply) return node;
        reply.Remove(YunpianReplySignature.FieldName);
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(reply.ToJsonString());
            reply[YunpianReplySignature.FieldName] = YunpianReplySignature.Compute(YunpianReplySignature.FieldsOf(document.RootElement), yunpianApiKey);
        }
        catch (InvalidOperationException)
        {
            // A lone surrogate cannot be signed; the push goes unsigned.
        }
        return reply;
    }

    private Gen<Valid> SendCloudHook() =>
        Gen.Zip(Gen.Zip(Mobile, Text), Gen.Zip(Id, Gen.Elements("reply", "deliver", "workererror", "delivererror", "request"))).Select(p =>
        {
            var ((mobile, text), (id, ev)) = p;
            var fields = new List<KeyValuePair<string, string>> { new("event", ev), new("phone", mobile) };
            if (ev == "reply") fields.Add(new("content", text));
            else fields.AddRange([new("smsId", $"{id}_15_3_11_1ainnq${mobile}"), new("statusCode", ev == "deliver" ? "200" : "510"), new("message", "ok")]);
            return new Valid(FormCase(SignSendCloud(fields, _time.GetUtcNow())), null, null);
        });

    private string SignSendCloud(List<KeyValuePair<string, string>> fields, DateTimeOffset at, string? timestamp = null)
    {
        timestamp ??= at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(25));
        return Form([.. fields, new("timestamp", timestamp), new("token", token), new("signature", SendCloudSignature.SignHook(sendCloudAppKey, timestamp, token))]);
    }

    private static Gen<Valid> YaningaiRows(string type, int width) =>
        OneToThree(Gen.Zip(Mobile, Id).Select(p => (Func<JsonNode>)(() =>
        {
            var target = type == "mail" ? $"user{p.Item2}@example.com" : "86" + p.Item1;
            JsonNode?[] row = [Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(p.Item2))), target, "2023-04-11T16:50:01+08:00", 1, "DELIVRD", "b1", 1, 0.1];
            return new JsonArray(row.Take(width).ToArray());
        }))).Select(rows => JsonValid(() => new JsonObject
        {
            ["type"] = type, ["cnt"] = rows.Count, ["array"] = new JsonArray(rows.Select(r => (JsonNode?)r()).ToArray()),
        }));

    private static Gen<Valid> YaningaiTracking() =>
        Gen.Zip(Id, UnixSeconds).Select(p => JsonValid(() => new JsonObject
        {
            ["type"] = "MailUserEvent", ["cnt"] = 1,
            ["array"] = new JsonArray(new JsonObject
            {
                ["mssId"] = "m" + p.Item1, ["receive_email"] = $"user{p.Item1}@example.com", ["time"] = p.Item2, ["action_type"] = "OPENED",
                ["taskName"] = "t", ["domain"] = "example.com", ["country_name"] = "CN", ["city"] = "Shanghai", ["device_type"] = "phone", ["device_name"] = "x",
            }),
        }));

    private static Gen<Valid> YaningaiReply() =>
        Gen.Zip(Gen.Zip(Mobile, Text), UnixSeconds).Select(p => JsonValid(() => new JsonObject
        {
            ["fromNum"] = "106", ["to"] = "86" + p.Item1.Item1, ["content"] = p.Item1.Item2, ["datetime"] = p.Item2.ToString(CultureInfo.InvariantCulture),
        }));

    // ---- mutations ----

    private static readonly byte[][] InvalidUtf8 = [[0xFF], [0xC0, 0xAF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80], [0x00]];

    private static readonly Gen<JsonNode?> HostileValue = Gen.Frequency(
        (30, Gen.Elements<Func<JsonNode?>>(
            () => long.MaxValue, () => long.MinValue, () => ulong.MaxValue, () => 99999999999999, () => -99999999999999, () => -1, () => 0,
            () => 1e308, () => -1e308, () => 1.5, () => decimal.MaxValue,
            () => "", () => " ", () => "null", () => "NaN", () => "99999999999999", () => "-1", () => "2023-13-45T99:99:99+99:00",
            () => "9999-12-31 23:59:59", () => "0001-01-01 00:00:00", () => "+", () => "%FF%", () => "\u0000", () => "\u202e",
            () => true, () => false, () => null, () => new JsonArray(), () => new JsonObject(),
            () => new JsonArray(1, "a", null), () => new JsonObject { ["a"] = new JsonObject { ["b"] = 1 } }).Select(f => f())),
        (3, Gen.Choose(1, 400).Select(n => (JsonNode?)new string('9', n))),
        (3, Gen.Choose(1, 200).Select(n => (JsonNode?)new string('好', n))),
        // Rare, as they cost the most to generate and read: values far past any column or field limit.
        (1, Gen.Choose(10_000, 100_000).Select(n => (JsonNode?)new string('x', n))));

    private Gen<WebhookFuzzCase> Mutate(Valid valid)
    {
        var mutations = new List<(int, Gen<WebhookFuzzCase>)>
        {
            (5, Gen.Constant(valid.Case)),
            (10, ByteMutation(valid.Case)),
            (3, RandomBody(valid.Case)),
            (3, Envelope(valid.Case)),
        };
        if (valid.Tree is not null && valid.Encode is not null)
        {
            mutations.Add((25, TreeMutation(valid.Tree, valid.Encode)));
            mutations.Add((8, SurrogateMutation(valid.Case)));
        }
        if (valid.Case.ContentType?.Contains("form", StringComparison.Ordinal) == true) mutations.Add((15, FormMutation(valid.Case)));
        if (valid.Case.Query.Length > 0) mutations.Add((10, QueryMutation(valid.Case)));
        return Gen.Frequency(mutations.ToArray());
    }

    /// <summary>Every slot of a JSON tree: (container, property name or index).</summary>
    private static List<(JsonNode Parent, object Slot)> Slots(JsonNode root)
    {
        var slots = new List<(JsonNode, object)>();
        void Walk(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (name, child) in o.ToArray()) { slots.Add((o, name)); Walk(child); }
                    break;
                case JsonArray a:
                    for (var i = 0; i < a.Count; i++) { slots.Add((a, i)); Walk(a[i]); }
                    break;
            }
        }
        Walk(root);
        return slots;
    }

    private static Gen<WebhookFuzzCase> TreeMutation(Func<JsonNode> tree, Func<JsonNode, WebhookFuzzCase> encode) =>
        Gen.Zip(Gen.Zip(Gen.Choose(0, 1_000_000), Gen.Choose(0, 3)), Gen.Zip(HostileValue, Gen.Choose(1, 3))).Select(p =>
        {
            var ((pick, what), (value, times)) = p;
            var root = tree();
            var description = new List<string>();
            for (var t = 0; t < times; t++)
            {
                var slots = Slots(root);
                if (slots.Count == 0) break;
                var (parent, slot) = slots[(pick + t * 7919) % slots.Count];
                var copy = value?.DeepClone();
                switch (what, parent, slot)
                {
                    case (0, JsonObject o, string name): o.Remove(name); description.Add($"removed {name}"); break;
                    case (0, JsonArray a, int i): a.RemoveAt(i); description.Add($"removed [{i}]"); break;
                    case (1, JsonObject o, string name): o["x" + name] = copy; description.Add($"added x{name}"); break;
                    case (1, JsonArray a, int _): a.Add(copy); description.Add("appended"); break;
                    case (_, JsonObject o, string name): o[name] = copy; description.Add($"{name}={Short(copy)}"); break;
                    case (_, JsonArray a, int i): a[i] = copy; description.Add($"[{i}]={Short(copy)}"); break;
                }
            }
            return encode(root) with { Mutation = "tree: " + string.Join("; ", description) };
        });

    private static string Short(JsonNode? node)
    {
        var text = node?.ToJsonString() ?? "null";
        return text.Length > 40 ? text[..40] + "…" : text;
    }

    /// <summary>Splices an escaped lone surrogate or a raw invalid UTF-8 sequence just inside a JSON string.</summary>
    private static Gen<WebhookFuzzCase> SurrogateMutation(WebhookFuzzCase valid) =>
        Gen.Zip(Gen.Choose(0, 1_000_000), Gen.Choose(0, InvalidUtf8.Length + 1)).Select(p =>
        {
            var (pick, which) = p;
            var body = valid.Body;
            var quotes = Enumerable.Range(0, body.Length).Where(i => body[i] == (byte)'"').ToArray();
            if (quotes.Length == 0) return valid;
            var at = quotes[pick % quotes.Length] + 1;
            byte[] insert = which switch
            {
                0 => "\\ud800"u8.ToArray(),
                1 => "\\udc00x"u8.ToArray(),
                _ => InvalidUtf8[which - 2],
            };
            return valid with { Body = [.. body.AsSpan(0, at), .. insert, .. body.AsSpan(at)], Mutation = $"spliced {Convert.ToHexString(insert)} at {at}" };
        });

    private static Gen<WebhookFuzzCase> ByteMutation(WebhookFuzzCase valid) =>
        Gen.Zip(Gen.Zip(Gen.Choose(0, 4), Gen.Choose(0, 1_000_000)), Gen.Zip(Gen.Choose(0, 255), Gen.Choose(0, InvalidUtf8.Length - 1))).Select(p =>
        {
            var ((what, pick), (value, invalid)) = p;
            var body = valid.Body;
            if (body.Length == 0) return valid with { Body = InvalidUtf8[invalid], Mutation = "invalid UTF-8 body" };
            var at = pick % body.Length;
            return what switch
            {
                0 => valid with { Body = body[..at], Mutation = $"truncated at {at}" },
                1 => valid with { Body = WithByte(body, at, (byte)value), Mutation = $"byte {at}={value:X2}" },
                2 => valid with { Body = [.. body.AsSpan(0, at), .. InvalidUtf8[invalid], .. body.AsSpan(at)], Mutation = $"invalid UTF-8 at {at}" },
                3 => valid with { Body = [.. body, .. body], Mutation = "doubled" },
                _ => valid with { Body = [.. body.AsSpan(0, at), .. Enumerable.Repeat((byte)'[', 2000), .. body.AsSpan(at)], Mutation = "deep nesting" },
            };
        });

    private static byte[] WithByte(byte[] body, int at, byte value)
    {
        var copy = (byte[])body.Clone();
        copy[at] = value;
        return copy;
    }

    private static Gen<WebhookFuzzCase> RandomBody(WebhookFuzzCase valid) =>
        Gen.Zip(Gen.Choose(0, 3), Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b))).Select(p => p.Item1 switch
        {
            0 => valid with { Body = p.Item2, Mutation = "random bytes" },
            1 => valid with { Body = [], Mutation = "empty body" },
            2 => valid with { Body = Encoding.ASCII.GetBytes(Convert.ToBase64String(p.Item2)), Mutation = "random text" },
            _ => valid with { Body = "null"u8.ToArray(), Mutation = "JSON null" },
        });

    /// <summary>Right body, wrong envelope: method, content type, query.</summary>
    private static Gen<WebhookFuzzCase> Envelope(WebhookFuzzCase valid) =>
        Gen.Choose(0, 4).Select(what => what switch
        {
            0 => valid with { Method = valid.Method == "GET" ? "POST" : "GET", Mutation = "other method" },
            1 => valid with { ContentType = valid.ContentType?.Contains("json", StringComparison.Ordinal) == true ? "application/x-www-form-urlencoded" : "application/json", Mutation = "other content type" },
            2 => valid with { ContentType = "text/plain; charset=iso-8859-1", Mutation = "text/plain" },
            3 => valid with { ContentType = null, Mutation = "no content type" },
            _ => valid with { Query = "mobile=13800138000&time=99999999999999&a=%FF&b", Mutation = "hostile query" },
        });

    /// <summary>Form pushes (Yunpian, SendCloud): fields dropped, doubled, percent-garbage, stale or wrong signatures.</summary>
    private Gen<WebhookFuzzCase> FormMutation(WebhookFuzzCase valid) =>
        Gen.Zip(Gen.Zip(Gen.Choose(0, 9), Gen.Choose(0, 1_000_000)), HostileValue).Select(p =>
        {
            var ((what, pick), hostile) = p;
            var fields = Encoding.UTF8.GetString(valid.Body).Split('&').Select(f => f.Split('=', 2)).Select(kv => new KeyValuePair<string, string>(
                Uri.UnescapeDataString(kv[0]), kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : string.Empty)).ToList();
            var i = pick % fields.Count;
            var value = hostile is JsonValue v && v.TryGetValue<string>(out var s) ? s : hostile?.ToJsonString() ?? string.Empty;
            var signed = fields.Where(f => f.Key is not ("timestamp" or "token" or "signature")).ToList();
            switch (what)
            {
                case 0:
                    fields.RemoveAt(i);
                    return valid with { Body = Encoding.UTF8.GetBytes(Form(fields)), Mutation = "form: dropped a field" };
                case 1:
                    fields[i] = new(fields[i].Key, value);
                    return valid with { Body = Encoding.UTF8.GetBytes(Form(fields)), Mutation = $"form: {fields[i].Key}={Short(hostile)}" };
                case 2:
                    return valid with { Body = [.. valid.Body, .. "&"u8, .. Encoding.UTF8.GetBytes(Form([fields[i]]))], Mutation = "form: doubled a field" };
                case 3:
                    return valid with { Body = [.. valid.Body, .. "&x=%FF%FE%ED%A0%80%&%zz=%"u8], Mutation = "form: percent garbage" };
                case 4 when signed.Count < fields.Count:
                    // SendCloud: a field replaced but freshly signed, so the reader reads past the signature.
                    signed[pick % signed.Count] = new(signed[pick % signed.Count].Key, value);
                    return valid with { Body = Encoding.UTF8.GetBytes(SignSendCloud(signed, _time.GetUtcNow())), Mutation = "form: field replaced, re-signed" };
                case 5 when signed.Count < fields.Count:
                    return valid with { Body = Encoding.UTF8.GetBytes(SignSendCloud(signed, new DateTimeOffset(2020, 3, 1, 0, 0, 0, TimeSpan.Zero))), Mutation = "form: signed in 2020" };
                case 6 when signed.Count < fields.Count:
                    return valid with { Body = Encoding.UTF8.GetBytes(SignSendCloud(signed, default, timestamp: value)), Mutation = $"form: timestamp={Short(hostile)}, signed" };
                case 7:
                    return valid with { Body = Encoding.UTF8.GetBytes(Form(fields.Select(f => f.Key is "signature" or "_sign" ? new(f.Key, "00" + f.Value) : f))), Mutation = "form: wrong signature" };
                case 8:
                    return valid with { Body = Encoding.UTF8.GetBytes(Form(fields.Select(f => new KeyValuePair<string, string>(f.Key, Uri.EscapeDataString(f.Value))))), Mutation = "form: encoded twice" };
                default:
                    return valid with { Body = Encoding.UTF8.GetBytes(string.Join('&', fields.Select(f => f.Key + "=" + f.Value))), Mutation = "form: not encoded" };
            }
        });

    private static Gen<WebhookFuzzCase> QueryMutation(WebhookFuzzCase valid) =>
        Gen.Zip(Gen.Choose(0, 1_000_000), HostileValue).Select(p =>
        {
            var parts = valid.Query.Split('&');
            var i = p.Item1 % parts.Length;
            var name = parts[i].Split('=')[0];
            var value = p.Item2 is JsonValue v && v.TryGetValue<string>(out var s) ? s : p.Item2?.ToJsonString() ?? string.Empty;
            parts[i] = p.Item1 % 5 == 0 ? name + "=%FF%ED%A0%80" : name + "=" + Uri.EscapeDataString(value);
            return valid with { Query = string.Join('&', parts), Mutation = $"query: {parts[i][..Math.Min(parts[i].Length, 40)]}" };
        });
}
