using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Telemetry;
using SmsActivities.Vendors;

namespace SmsActivities.Routing;

/// <summary>
/// The final outcome for one recipient after every vendor tried. <see cref="Vendor"/> is the vendor that accepted it,
/// the one whose outcome is in doubt, or the last one tried. <see cref="InDoubt"/>: that vendor may have sent it (its
/// answer was lost), so no other vendor was tried.
/// </summary>
public sealed record SmsRecipientOutcome(
    string Mobile,
    string? Vendor,
    bool Accepted,
    string? MessageId,
    string? VendorCode,
    string? Error,
    decimal? Fee,
    int Attempts,
    bool InDoubt = false);

public sealed record RoutedSendResult(IReadOnlyList<SmsRecipientOutcome> Recipients)
{
    public int AcceptedCount => Recipients.Count(r => r.Accepted);
    public int FailedCount => Recipients.Count(r => !r.Accepted && !r.InDoubt);
    public int InDoubtCount => Recipients.Count(r => r.InDoubt);
    public decimal TotalFee => Recipients.Sum(r => r.Fee ?? 0m);
}

/// <summary>
/// One message, many vendors (after overtrue/easy-sms): picks the vendor (a named one or "Auto" by
/// capability and configured order) and moves the recipients a vendor definitely did not send on to the next vendor
/// of the failover list: those it refused (a 4xx or a documented error code) and those whose call provably never
/// reached it (no connection, 503). Recipients already accepted are never sent again, and neither are those whose
/// outcome is unknown (a 500 or a timeout after the call reached the vendor): they come back in doubt.
/// </summary>
public sealed class SmsVendorRouter
{
    private readonly IReadOnlyDictionary<string, ISmsSender> _senders;
    private readonly SmsRoutingOptions _options;
    private readonly SmsTelemetry _telemetry;
    private readonly ILogger<SmsVendorRouter> _logger;

    public SmsVendorRouter(IEnumerable<ISmsSender> senders, IOptions<SmsRoutingOptions> options, SmsTelemetry telemetry, ILogger<SmsVendorRouter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _senders = senders.ToDictionary(s => s.Vendor, StringComparer.OrdinalIgnoreCase);
        _options = options.Value;
        _telemetry = telemetry;
        _logger = logger;
    }

    /// <summary>Vendors in the order "Auto" tries them.</summary>
    public IReadOnlyList<string> ConfiguredVendors =>
        _options.Order.Where(_senders.ContainsKey)
            .Concat(_senders.Keys.Where(v => !_options.Order.Contains(v, StringComparer.OrdinalIgnoreCase)))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(v => _senders[v].Vendor)
            .ToArray();

    /// <summary>The vendors a send will try, in order. Throws <see cref="VendorValidationException"/> for unknown vendors or when none can send this message.</summary>
    public IReadOnlyList<ISmsSender> Plan(SmsMessage message, string? vendor, IReadOnlyList<string>? failover)
    {
        ArgumentNullException.ThrowIfNull(message);

        IEnumerable<string> names;
        if (string.IsNullOrWhiteSpace(vendor) || string.Equals(vendor, VendorChoice.Auto, StringComparison.OrdinalIgnoreCase))
        {
            names = ConfiguredVendors;
        }
        else
        {
            var rest = failover is { Count: > 0 } ? failover
                : _options.FailoverByDefault ? ConfiguredVendors : [];
            names = new[] { vendor }.Concat(rest);
        }
        return PlanOf(message, names);
    }

    /// <summary>Exactly <paramref name="vendors"/>, in order, less those that cannot send this message (no configured defaults are added).</summary>
    private List<ISmsSender> PlanOf(SmsMessage message, IEnumerable<string> vendors)
    {
        var required = VendorCapabilities.Sms;
        if (!string.IsNullOrWhiteSpace(message.TemplateId)) required |= VendorCapabilities.TemplateSms;
        if (message.Recipients.Any(r => !r.IsChinaMainland)) required |= VendorCapabilities.InternationalSms;
        var plan = new List<ISmsSender>();
        foreach (var name in vendors.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (!_senders.TryGetValue(name, out var sender))
                throw new VendorValidationException("vendor", $"unknown vendor '{name}'; configured: {string.Join(", ", ConfiguredVendors)}");
            if ((sender.Capabilities & required) == required) plan.Add(sender);
        }

        if (plan.Count == 0)
            throw new VendorValidationException("vendor", $"no configured vendor can send this message (needs {required})");
        return plan;
    }

    public Task<RoutedSendResult> SendAsync(SmsMessage message, string? vendor, IReadOnlyList<string>? failover, CancellationToken cancellationToken) =>
        RouteAsync(message, Plan(message, vendor, failover), cancellationToken);

    /// <summary>
    /// Sends through exactly <paramref name="vendors"/>, in order (a failover after a failed delivery report: the vendors
    /// after the one whose message failed), with the same rules as <see cref="SendAsync"/> between them.
    /// </summary>
    public Task<RoutedSendResult> SendThroughAsync(SmsMessage message, IReadOnlyList<string> vendors, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return RouteAsync(message, PlanOf(message, vendors), cancellationToken);
    }

    private async Task<RoutedSendResult> RouteAsync(SmsMessage message, IReadOnlyList<ISmsSender> plan, CancellationToken cancellationToken)
    {
        // Input no vendor of the plan would take is refused before any call; per-vendor limits are left to each sender.
        SmsBatching.Validate(message, plan.Max(s => s.MaxTextLength));
        var outcomes = new Dictionary<string, SmsRecipientOutcome>(StringComparer.Ordinal);
        var pending = message.Recipients.DistinctBy(r => r.E164).ToList();

        foreach (var sender in plan)
        {
            if (pending.Count == 0) break;
            if (outcomes.Count > 0)
            {
                _telemetry.Failovers.Add(1, new KeyValuePair<string, object?>("vendor", sender.Vendor));
                _logger.LogWarning("Failing over {Count} recipients to {Vendor}", pending.Count, sender.Vendor);
            }

            using var span = SmsTelemetry.Source.StartActivity("sms.send", ActivityKind.Client);
            span?.SetTag("sms.vendor", sender.Vendor);
            span?.SetTag("sms.recipients", pending.Count);

            IReadOnlyList<RecipientResult> results;
            try
            {
                results = (await sender.SendSmsAsync(message with { Recipients = pending }, cancellationToken).ConfigureAwait(false)).Results;
            }
            catch (Exception ex) when (ex is VendorException or HttpRequestException or VendorValidationException)
            {
                // A rule one vendor has and the next may not (text length, template support) is worth a failover too;
                // a universally bad message was already rejected by Plan/Validate before any call.
                var (code, error, inDoubt) = ex switch
                {
                    VendorException v => (v.VendorCode, v.VendorMessage, v.OutcomeUnknown),
                    VendorValidationException v => ("invalid", v.Message, false),
                    HttpRequestException h => ((string?)null, ex.Message, VendorException.IsOutcomeUnknown((int?)h.StatusCode, null, h)),
                    _ => ((string?)null, ex.Message, true),
                };
                span?.SetStatus(ActivityStatusCode.Error, error);
                results = pending.Select(r => new RecipientResult(r.E164, false, null, code, error) { InDoubt = inDoubt }).ToArray();
            }

            var byMobile = results.GroupBy(r => r.Mobile, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            var stillPending = new List<PhoneNumber>();
            var accepted = 0;
            foreach (var recipient in pending)
            {
                // No result for a recipient of an answered call: the vendor did not say it refused it.
                var result = byMobile.GetValueOrDefault(recipient.E164)
                    ?? new RecipientResult(recipient.E164, false, null, null, "the vendor returned no result for this recipient") { InDoubt = true };
                var inDoubt = !result.Accepted && result.InDoubt;
                var attempts = outcomes.TryGetValue(recipient.E164, out var previous) ? previous.Attempts + 1 : 1;
                outcomes[recipient.E164] = new SmsRecipientOutcome(recipient.E164, sender.Vendor, result.Accepted, result.MessageId, result.VendorCode,
                    inDoubt ? $"outcome unknown, not sent again: {result.Error}" : result.Error, result.Fee, attempts, inDoubt);
                if (result.Accepted) accepted++;
                else if (!inDoubt) stillPending.Add(recipient);
            }

            var doubted = pending.Count - accepted - stillPending.Count;
            _telemetry.RecordSent(sender.Vendor, "sms", accepted, stillPending.Count, doubted);
            if (doubted > 0) _logger.LogWarning("{Vendor}: outcome unknown for {Count} recipients; they are not sent again", sender.Vendor, doubted);
            pending = stillPending;
        }

        return new RoutedSendResult(message.Recipients.Select(r => outcomes[r.E164]).ToArray());
    }
}
