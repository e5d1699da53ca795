using System.Collections;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace SmsActivities.Telemetry;

/// <summary>
/// What must never reach a log sink or an exported span: the configured webhook path token, and whatever stands in the token segment of a
/// webhook path (<c>{prefix}/{vendor}/{kind}/{token}</c>): a wrong token may be an old or mistyped real one.
/// </summary>
public sealed class WebhookLogRedaction
{
    public const string Mask = "***";
    private readonly object _gate = new();
    private IReadOnlyList<string> _prefixes = [];
    private Regex? _paths;

    public WebhookLogRedaction(string? token, IEnumerable<string> prefixes)
    {
        // A token shorter than this would mask ordinary words; MapSmsWebhooks refuses tokens under 16 characters anyway.
        Secrets = token is { Length: >= 8 } ? new[] { token, Uri.EscapeDataString(token) }.Distinct(StringComparer.Ordinal).ToArray() : [];
        foreach (var prefix in prefixes) AddPrefix(prefix);
    }

    private IReadOnlyList<string> Secrets { get; }

    /// <summary>Called by <c>MapSmsWebhooks</c> for the prefix it maps.</summary>
    public void AddPrefix(string prefix)
    {
        var trimmed = "/" + prefix.Trim('/');
        lock (_gate)
        {
            if (_prefixes.Contains(trimmed, StringComparer.Ordinal)) return;
            _prefixes = [.. _prefixes, trimmed];
            const string Segment = @"[^/\s?#""']+";
            _paths = new Regex($"({string.Join('|', _prefixes.Select(Regex.Escape))})/{Segment}/{Segment}/({Segment})", RegexOptions.CultureInvariant);
        }
    }

    public bool Holds(string? text) =>
        text is not null && (Secrets.Any(s => text.Contains(s, StringComparison.Ordinal)) || (_prefixes.Any(p => text.Contains(p, StringComparison.Ordinal)) && _paths!.IsMatch(text)));

    public string Redact(string text)
    {
        foreach (var secret in Secrets) text = text.Replace(secret, Mask, StringComparison.Ordinal);
        return _paths is { } paths ? paths.Replace(text, m => m.Value[..(m.Groups[2].Index - m.Index)] + Mask) : text;
    }
}

/// <summary>
/// Wraps the host's logger factory so that <see cref="WebhookLogRedaction"/> applies to every entry, whoever logs it:
/// ASP.NET Core's request lines ("Request starting POST …/webhooks/sms/tencent/status/{token}"), their request scopes
/// (RequestPath), our own lines and exception texts. Nothing else about the host's logging changes: levels, filters and
/// providers stay as configured, so request logging still works for every route, the webhooks' included. Entries that
/// hold nothing to mask pass through untouched and are not formatted twice.
/// </summary>
internal sealed class SecretRedactingLoggerFactory(ILoggerFactory inner, Func<WebhookLogRedaction> redaction) : ILoggerFactory
{
    private readonly Lazy<WebhookLogRedaction> _redaction = new(redaction);

    public ILogger CreateLogger(string categoryName) => new Logger(inner.CreateLogger(categoryName), this);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();

    private WebhookLogRedaction Rules => _redaction.Value;

    private bool Holds(object? state) =>
        state is IEnumerable<KeyValuePair<string, object?>> values ? values.Any(v => Rules.Holds(Text(v.Value))) : Rules.Holds(state?.ToString());

    private static string? Text(object? value) => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture);

    private sealed class Logger(ILogger inner, SecretRedactingLoggerFactory factory) : ILogger
    {
        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull =>
            factory.Holds(state) ? inner.BeginScope(new RedactedState(state, null, factory.Rules)) : inner.BeginScope(state);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel)) return;
            var exceptionHolds = exception is not null && factory.Rules.Holds(exception.ToString());
            if (!exceptionHolds && !factory.Holds(state))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }
            var message = factory.Rules.Redact(formatter(state, exception));
            // The exception's text holds it too: it is carried as a redacted text instead.
            var carried = exceptionHolds ? new RedactedException(factory.Rules.Redact(exception!.ToString())) : exception;
            inner.Log(logLevel, eventId, new RedactedState((object?)state ?? message, message, factory.Rules), carried, (s, _) => s.ToString());
        }
    }

    /// <summary>A state or scope with its masked values; structured sinks see the same keys.</summary>
    private sealed class RedactedState(object state, string? message, WebhookLogRedaction rules) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private readonly KeyValuePair<string, object?>[] _values = state is IEnumerable<KeyValuePair<string, object?>> values
            ? values.Select(v => Text(v.Value) is { } text && rules.Holds(text) ? new KeyValuePair<string, object?>(v.Key, rules.Redact(text)) : v).ToArray()
            : [];

        public KeyValuePair<string, object?> this[int index] => _values[index];
        public int Count => _values.Length;
        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_values).GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
        public override string ToString() => message ?? rules.Redact(state.ToString() ?? "");
    }

    private sealed class RedactedException(string text) : Exception(text)
    {
        public override string ToString() => Message;
    }
}
