namespace SmsActivities.Vendors;

/// <summary>
/// The vendor answered with an error (or could not be reached). Carries the vendor's own code and message
/// and whether retrying can help. Never carries a secret: build messages only from vendor answers and
/// non-secret request facts.
/// </summary>
public sealed class VendorException : Exception
{
    public VendorException(string vendor, string? vendorCode, string vendorMessage, bool isTransient, int? httpStatus = null, Exception? inner = null)
        : base($"{vendor} rejected the request: [{vendorCode ?? "-"}] {vendorMessage}", inner)
    {
        Vendor = vendor;
        VendorCode = vendorCode;
        VendorMessage = vendorMessage;
        IsTransient = isTransient;
        HttpStatus = httpStatus;
    }

    public string Vendor { get; }
    public string? VendorCode { get; }
    public string VendorMessage { get; }
    /// <summary>True when the same request may succeed later (timeouts, 5xx, throttling); false when the vendor rejected it.</summary>
    public bool IsTransient { get; }
    public int? HttpStatus { get; }

    /// <summary>
    /// True when the vendor may have acted on the request although it failed: the call reached the vendor and no
    /// answer says it was refused (a 5xx other than 503, a timeout, an answer that could not be read). A message sent by
    /// such a call may well reach the person, so it must not be sent again elsewhere. False when the vendor refused
    /// (a 4xx, or a documented error code in its answer) or the call provably never reached it (no connection, or 503,
    /// which by definition means the request was not processed).
    /// </summary>
    public bool OutcomeUnknown => IsOutcomeUnknown(HttpStatus, VendorCode, InnerException);

    /// <summary>See <see cref="OutcomeUnknown"/>; also for an <see cref="HttpRequestException"/> that reached the caller unwrapped.</summary>
    public static bool IsOutcomeUnknown(int? httpStatus, string? vendorCode, Exception? cause) => httpStatus switch
    {
        _ when cause is HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError } => false,
        503 => false,
        >= 500 or 408 => true,
        >= 400 => false,
        _ => vendorCode is null,
    };

    /// <summary>The result of one recipient of a call that failed with this exception.</summary>
    public RecipientResult ResultFor(string e164) =>
        new(e164, false, null, VendorCode, VendorMessage) { Retryable = IsTransient, InDoubt = OutcomeUnknown };
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
