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
