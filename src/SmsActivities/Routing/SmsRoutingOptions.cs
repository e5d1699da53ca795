namespace SmsActivities.Routing;

/// <summary>How SendSms picks vendors when the designer chooses "Auto". Bound from <c>SmsActivities:Routing</c>.</summary>
public sealed class SmsRoutingOptions
{
    /// <summary>Vendors tried in this order for "Auto"; vendors not listed follow in registration order.</summary>
    public List<string> Order { get; } = [];

    /// <summary>With an explicit vendor, also fail over to the remaining vendors in <see cref="Order"/> when the step lists none.</summary>
    public bool FailoverByDefault { get; set; }
}

/// <summary>The name a designer picks to let the router choose the vendor.</summary>
public static class VendorChoice
{
    public const string Auto = "Auto";
}
