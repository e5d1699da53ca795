using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace SmsActivities.Emulators.Yaningai;

/// <summary>A message the emulator accepted for one number (SMS, MMS, voice notice or voice OTP).</summary>
/// <param name="Kind">"sms", "mms", "vos-notice" or "vos-otp".</param>
/// <param name="Mobile">E.164.</param>
public sealed record YaningaiSentMessage(
    string Kind,
    string MessageId,
    string Mobile,
    string CodeId,
    string? Content,
    string? TemplateId,
    IReadOnlyList<string> TemplateParams,
    string? Action,
    string? Title,
    IReadOnlyList<string> Attachments,
    string BatchNo,
    DateTimeOffset At);

/// <summary>An email the emulator accepted for one recipient, with that recipient's placeholder values.</summary>
public sealed record YaningaiSentEmail(
    string MessageId,
    string To,
    string From,
    string Theme,
    string? Content,
    int? TemplateId,
    IReadOnlyDictionary<string, string> Placeholders,
    IReadOnlyDictionary<string, string> SharedPlaceholders,
    IReadOnlyList<string> Attachments,
    string BatchNo,
    DateTimeOffset At);

/// <summary>An uploaded file of an MMS or email call.</summary>
internal sealed record UploadedFile(string FileName, long Length);

/// <summary>
/// The parameters of a call however they came: query (GET), JSON body, form or multipart body. Array fields
/// may be named "x" or "x[]" (the vendor's PHP convention for forms).
/// </summary>
internal sealed class CallFields
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    public List<UploadedFile> Files { get; } = [];

    public string? this[string name] =>
        _values.TryGetValue(name, out var values) && values.Count > 0 && !string.IsNullOrWhiteSpace(values[0]) ? values[0] : null;

    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out var values) ? values : [];

    public static async Task<CallFields> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var fields = new CallFields();
        if (HttpMethods.IsGet(request.Method))
        {
            foreach (var (name, values) in request.Query) fields.Add(name, values);
            return fields;
        }
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(cancellationToken).ConfigureAwait(false);
            foreach (var (name, values) in form) fields.Add(name, values);
            fields.Files.AddRange(form.Files.Select(f => new UploadedFile(f.FileName, f.Length)));
            return fields;
        }
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (document.RootElement.ValueKind != JsonValueKind.Object) return fields;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.Array)
                    fields.Add(property.Name, new StringValues(property.Value.EnumerateArray().Select(Text).ToArray()));
                else
                    fields.Add(property.Name, Text(property.Value));
            }
        }
        catch (JsonException)
        {
            // Like the real platform, an unreadable body is simply a call without parameters.
        }
        return fields;
    }

    private void Add(string name, StringValues values)
    {
        var key = name.EndsWith("[]", StringComparison.Ordinal) ? name[..^2] : name;
        if (!_values.TryGetValue(key, out var list)) _values[key] = list = [];
        list.AddRange(values.Where(v => v is not null)!);
    }

    private static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Null => string.Empty,
        _ => value.GetRawText(),
    };
}
