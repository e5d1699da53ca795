using System.Collections;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Activities;

/// <summary>Parsing shared by the activities: recipient lists in the shapes designers give them, vendor choices, keys.</summary>
internal static class ActivityInputs
{
    public const string Namespace = "SmsActivities";

    private static readonly char[] Separators = [',', ';', '\n', '\r', '，', '；'];

    /// <summary>
    /// A list from a multitext input, a comma/semicolon/newline separated text, or a variable holding a list.
    /// Empty entries are dropped.
    /// </summary>
    public static IReadOnlyList<string> ToList(object? value) => value switch
    {
        null => [],
        string text => text.Split(Separators, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        IEnumerable items => items.Cast<object?>().SelectMany(i => ToList(i)).ToArray(),
        _ => ToList(value.ToString()),
    };

    /// <summary>The region numbers typed without a country code are read in (<c>Vendors:DefaultRegion</c>, CN unless set).</summary>
    public static string Region(ActivityExecutionContext context) =>
        context.GetService<IOptions<PhoneNumberOptions>>()?.Value.DefaultRegion ?? PhoneNumber.FallbackRegion;

    /// <summary>One number in the deployment's default region; a bad one is reported under <paramref name="field"/>.</summary>
    public static PhoneNumber ParseMobile(ActivityExecutionContext context, string? value, string field = "mobile") =>
        PhoneNumber.Parse(value, Region(context), field);

    /// <summary>Parses every recipient; the first invalid one is reported with its position (numbers are masked).</summary>
    public static IReadOnlyList<PhoneNumber> ParseRecipients(object? value, string region, string field = "recipients")
    {
        var raw = ToList(value);
        if (raw.Count == 0) throw new VendorValidationException(field, "at least one recipient is required");
        var numbers = new List<PhoneNumber>(raw.Count);
        for (var i = 0; i < raw.Count; i++)
        {
            if (!PhoneNumber.TryParse(raw[i], out var number, out var error, region))
                throw new VendorValidationException($"{field}[{i}]", error);
            numbers.Add(number);
        }
        return numbers;
    }

    /// <summary>
    /// Recipients that may carry content of their own: besides numbers (as <see cref="ParseRecipients"/> takes them), a
    /// list may hold objects <c>{"mobile": "…", "text": "…"}</c> or <c>{"mobile": "…", "templateParams": {…}}</c>, from a
    /// variable, JavaScript or JSON text. Each entry is checked here; the content rules (length, template or text) are the
    /// vendor layer's, checked before any call. The first invalid entry is reported with its position.
    /// </summary>
    public static IReadOnlyList<(PhoneNumber Number, RecipientContent? Content)> ParseRecipientEntries(object? value, string region, string field = "recipients")
    {
        var items = RecipientItems(value);
        var entries = new List<(PhoneNumber, RecipientContent?)>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var itemField = $"{field}[{i}]";
            switch (items[i])
            {
                case IDictionary<string, object?> map:
                    entries.Add(ParseRecipientObject(map, region, itemField));
                    break;
                default:
                    foreach (var (number, error) in ParseNumbers(ToList(items[i]), region))
                    {
                        if (error is not null) throw new VendorValidationException(itemField, error);
                        entries.Add((number, null));
                    }
                    break;
            }
        }
        if (entries.Count == 0) throw new VendorValidationException(field, "at least one recipient is required");
        return entries;
    }

    /// <summary>Each of <paramref name="raws"/> parsed, in their order (the first error in that order is the one reported).</summary>
    /// <remarks>
    /// On one thread: libphonenumber run on every core allocated two to five times as much a number and took twice the
    /// CPU for 20,000 numbers (contention inside it), for at most a few milliseconds less on two cores.
    /// </remarks>
    private static (PhoneNumber Number, string? Error)[] ParseNumbers(IReadOnlyList<string> raws, string region)
    {
        var parsed = new (PhoneNumber, string?)[raws.Count];
        for (var i = 0; i < raws.Count; i++)
            parsed[i] = PhoneNumber.TryParse(raws[i], out var number, out var error, region) ? (number, null) : (default, error);
        return parsed;
    }

    /// <summary>The entries of a recipients input: list items, or the numbers of a text; JSON text and nodes become plain values.</summary>
    private static List<object?> RecipientItems(object? value)
    {
        var plain = value switch
        {
            string text when text.TrimStart().StartsWith('[') || text.TrimStart().StartsWith('{') => ParseJson(text),
            System.Text.Json.Nodes.JsonNode node => Workflows.Expressions.ValueConverter.ToPlain(node),
            System.Text.Json.JsonElement element => Workflows.Expressions.ValueConverter.ToPlain(System.Text.Json.Nodes.JsonNode.Parse(element.GetRawText())),
            _ => value,
        };
        return plain switch
        {
            null => [],
            string => [plain],
            IDictionary<string, object?> map => [map],
            IEnumerable list => list.Cast<object?>().Select(i => i is System.Text.Json.Nodes.JsonNode n ? Workflows.Expressions.ValueConverter.ToPlain(n) : i).ToList(),
            _ => [plain],
        };
    }

    private static object? ParseJson(string text)
    {
        try
        {
            return Workflows.Expressions.ValueConverter.ToPlain(System.Text.Json.Nodes.JsonNode.Parse(text));
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new VendorValidationException("recipients", $"looks like JSON but does not parse: {ex.Message}");
        }
    }

    private static (PhoneNumber, RecipientContent?) ParseRecipientObject(IDictionary<string, object?> map, string region, string field)
    {
        string? mobile = null, text = null;
        IReadOnlyList<KeyValuePair<string, string>>? templateParams = null;
        foreach (var (key, item) in map)
        {
            switch (key.ToLowerInvariant())
            {
                case "mobile":
                    mobile = item as string ?? Convert.ToString(item, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "text":
                    text = item is null ? null : item as string ?? throw new VendorValidationException($"{field}.text", "must be a string");
                    break;
                case "templateparams" or "params":
                    templateParams = item is null ? null : ToTemplateParams(item);
                    break;
                default:
                    throw new VendorValidationException($"{field}.{key}", "is not a recipient field: use mobile, text and templateParams");
            }
        }
        if (string.IsNullOrWhiteSpace(mobile)) throw new VendorValidationException($"{field}.mobile", "is required");
        if (!PhoneNumber.TryParse(mobile, out var number, out var error, region)) throw new VendorValidationException($"{field}.mobile", error);
        return (number, text is null && templateParams is null ? null : new RecipientContent(text, templateParams));
    }

    /// <summary>Template parameters from a JSON object ({"name": "value"}), a list of "name=value" or a list of values (positional names 1, 2, …).</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ToTemplateParams(object? value)
    {
        switch (value)
        {
            case null:
                return [];
            case IDictionary<string, object?> map:
                return map.Select(p => new KeyValuePair<string, string>(p.Key, Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture) ?? "")).ToArray();
            case string text when text.TrimStart().StartsWith('{'):
                var parsed = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, object?>>(text) ?? [];
                return parsed.Select(p => new KeyValuePair<string, string>(p.Key, p.Value?.ToString() ?? "")).ToArray();
            default:
                var items = ToList(value);
                return items.Select((item, i) =>
                {
                    var eq = item.IndexOf('=', StringComparison.Ordinal);
                    return eq > 0
                        ? new KeyValuePair<string, string>(item[..eq].Trim(), item[(eq + 1)..].Trim())
                        : new KeyValuePair<string, string>((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), item);
                }).ToArray();
        }
    }

    /// <summary>
    /// The idempotency key of one send: instance + activity + attempt, hashed to 32 hex characters so it fits every
    /// vendor's request-id field (SendCloud sendRequestId, Yunpian uid) and reveals nothing about the workflow.
    /// </summary>
    public static string IdempotencyKey(string instanceId, string activityId, string attempt) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{instanceId}\n{activityId}\n{attempt}")))[..32];

    public static bool IsAuto(string? vendor) =>
        string.IsNullOrWhiteSpace(vendor) || string.Equals(vendor.Trim(), "Auto", StringComparison.OrdinalIgnoreCase);

    /// <summary>Picks the sender of a non-SMS channel: the named vendor, or the first configured one for "Auto".</summary>
    public static T PickVendor<T>(IEnumerable<T> senders, string? vendor, string channel) where T : IVendorProfile
    {
        var all = senders.ToArray();
        if (all.Length == 0) throw new VendorValidationException("vendor", $"no configured vendor offers {channel}");
        if (IsAuto(vendor)) return all[0];
        return all.FirstOrDefault(s => string.Equals(s.Vendor, vendor!.Trim(), StringComparison.OrdinalIgnoreCase))
               ?? throw new VendorValidationException("vendor", $"unknown vendor '{vendor}' for {channel}; configured: {string.Join(", ", all.Select(s => s.Vendor))}");
    }
}
