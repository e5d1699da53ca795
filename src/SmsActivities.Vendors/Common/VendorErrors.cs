namespace SmsActivities.Vendors;

/// <summary>How a vendor call failed, which decides whether it may be repeated here or tried at another vendor.</summary>
public enum VendorFailureKind
{
    /// <summary>The vendor answered and refused the request (bad number, unknown template, no balance): nothing was sent, and asking again will not help.</summary>
    Rejected,

    /// <summary>
    /// Nothing was done, and the same request may succeed later: the vendor was never reached (no connection, DNS) or said it
    /// did not process the request (408, 429, 503, a "busy" code).
    /// </summary>
    Transient,

    /// <summary>
    /// The request may or may not have been carried out: it timed out, the connection broke after it was sent, the vendor
    /// answered 500/502/504 or something unreadable. A send in this state may already have reached the person.
    /// </summary>
    UnknownOutcome,
}

/// <summary>
/// The vendor answered with an error (or could not be reached). Carries the vendor's own code and message
/// and how the call failed. Never carries a secret: build messages only from vendor answers and
/// non-secret request facts.
/// </summary>
public sealed class VendorException : Exception
{
    public VendorException(string vendor, string? vendorCode, string vendorMessage, VendorFailureKind kind, int? httpStatus = null, Exception? inner = null)
        : base(Describe(vendor, vendorCode, vendorMessage, kind), inner)
    {
        Vendor = vendor;
        VendorCode = vendorCode;
        VendorMessage = vendorMessage;
        Kind = kind;
        HttpStatus = httpStatus;
    }

    /// <summary>
    /// <paramref name="isTransient"/> says whether the vendor asked to try again later; a failure whose facts leave the
    /// outcome open (<see cref="IsOutcomeUnknown"/>) is an unknown outcome whatever it says.
    /// </summary>
    public VendorException(string vendor, string? vendorCode, string vendorMessage, bool isTransient, int? httpStatus = null, Exception? inner = null)
        : this(vendor, vendorCode, vendorMessage, KindOf(isTransient, httpStatus, vendorCode, inner), httpStatus, inner)
    {
    }

    public string Vendor { get; }
    public string? VendorCode { get; }
    public string VendorMessage { get; }

    /// <summary>Rejected, transient (nothing done, may pass) or unknown outcome (may have been done).</summary>
    public VendorFailureKind Kind { get; }

    /// <summary>True when the same request may succeed later (<see cref="VendorFailureKind.Transient"/> or <see cref="VendorFailureKind.UnknownOutcome"/>); false when the vendor rejected it.</summary>
    public bool IsTransient => Kind != VendorFailureKind.Rejected;

    public int? HttpStatus { get; }

    private static string Describe(string vendor, string? code, string message, VendorFailureKind kind) => kind switch
    {
        VendorFailureKind.Rejected => $"{vendor} rejected the request: [{code ?? "-"}] {message}",
        VendorFailureKind.Transient => $"{vendor} did not take the request, try again later: [{code ?? "-"}] {message}",
        _ => $"{vendor} may or may not have carried out the request: [{code ?? "-"}] {message}",
    };

    /// <summary>
    /// True when the vendor may have acted on the request although it failed (<see cref="VendorFailureKind.UnknownOutcome"/>):
    /// the call reached the vendor and no answer says it was refused or left undone (a 5xx other than 503, a timeout, an
    /// answer that could not be read). A message sent by such a call may well reach the person, so it must not be sent
    /// again elsewhere.
    /// </summary>
    public bool OutcomeUnknown => Kind == VendorFailureKind.UnknownOutcome;

    /// <summary>
    /// See <see cref="OutcomeUnknown"/>, from the facts of a failure: the exception that left no answer (also an
    /// <see cref="HttpRequestException"/> that reached the caller unwrapped), else the HTTP status, else whether the
    /// vendor's answer named an error code (an answer without one could not be read).
    /// </summary>
    public static bool IsOutcomeUnknown(int? httpStatus, string? vendorCode, Exception? cause) => cause switch
    {
        HttpRequestException or OperationCanceledException or Polly.Timeout.TimeoutRejectedException =>
            VendorRetryRules.ClassifyException(cause) == VendorFailureKind.UnknownOutcome,
        _ => httpStatus is { } status and not (>= 200 and <= 299)
            ? VendorRetryRules.ClassifyStatus((System.Net.HttpStatusCode)status) == VendorFailureKind.UnknownOutcome
            : vendorCode is null,
    };

    /// <summary>The result of one recipient of a call that failed with this exception.</summary>
    public RecipientResult ResultFor(string e164) =>
        new(e164, false, null, VendorCode, VendorMessage) { Retryable = IsTransient, InDoubt = OutcomeUnknown, Failure = Kind };

    private static VendorFailureKind KindOf(bool isTransient, int? httpStatus, string? vendorCode, Exception? inner) =>
        IsOutcomeUnknown(httpStatus, vendorCode, inner) ? VendorFailureKind.UnknownOutcome
        : isTransient ? VendorFailureKind.Transient
        : VendorFailureKind.Rejected;
}

/// <summary>Input rejected before any vendor call. Names the field and the rule it broke.</summary>
public sealed class VendorValidationException : ArgumentException
{
    public VendorValidationException(string field, string rule)
        : base($"{field}: {rule}", field)
    {
        Field = field;
        Rule = rule;
    }

    public string Field { get; }
    public string Rule { get; }
}
