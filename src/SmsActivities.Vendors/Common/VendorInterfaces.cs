namespace SmsActivities.Vendors;

/// <summary>A vendor account as seen by callers that do not care which vendor it is.</summary>
public interface IVendorProfile
{
    string Vendor { get; }
    VendorCapabilities Capabilities { get; }
}

/// <summary>Sends SMS through one vendor. Implementations validate before calling and split over the vendor's per-call limit.</summary>
public interface ISmsSender : IVendorProfile
{
    /// <summary>Most recipients one vendor call accepts.</summary>
    int MaxRecipientsPerCall { get; }

    /// <summary>Longest text the vendor accepts, in characters.</summary>
    int MaxTextLength { get; }

    /// <summary>Most calls of one send a caller may have in flight at once (see <see cref="VendorHttpOptions.MaxConcurrentCalls"/>); one for a sender that names none.</summary>
    int MaxConcurrentCalls => 1;

    /// <summary>Sends to every recipient, batching over <see cref="MaxRecipientsPerCall"/>; results come back in recipient order.</summary>
    Task<SendReceipt> SendSmsAsync(SmsMessage message, CancellationToken cancellationToken = default);
}

public interface IVoiceOtpSender : IVendorProfile
{
    Task<SendReceipt> SendVoiceOtpAsync(VoiceOtpRequest request, CancellationToken cancellationToken = default);
}

public interface IEmailSender : IVendorProfile
{
    Task<EmailReceipt> SendEmailAsync(EmailMessage message, CancellationToken cancellationToken = default);
}

/// <summary>For deployments without a public URL: fetch what the vendor would have pushed.</summary>
public interface IReportPuller : IVendorProfile
{
    Task<IReadOnlyList<DeliveryReport>> PullDeliveryReportsAsync(CancellationToken cancellationToken = default);
}

public interface IReplyPuller : IVendorProfile
{
    Task<IReadOnlyList<InboundReply>> PullRepliesAsync(CancellationToken cancellationToken = default);
}
