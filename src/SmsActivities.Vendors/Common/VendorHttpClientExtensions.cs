using System.Globalization;

namespace SmsActivities.Vendors;

/// <summary>
/// The one way a vendor client sends a request: through the vendor's typed <see cref="HttpClient"/> (whose pipeline retries
/// and times out, see <see cref="VendorRetryRules"/>), with every failure that leaves no answer turned into a classified
/// <see cref="VendorException"/>. Reading the vendor's answer stays with each client.
/// </summary>
public static class VendorHttpClientExtensions
{
    /// <param name="operation">The call's name in error messages ("sendsms", "v2/sms/single_send.json"); never a URI with credentials.</param>
    public static async Task<VendorAnswer> SendToVendorAsync(this HttpClient http, string vendor, string operation, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(request);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or Polly.Timeout.TimeoutRejectedException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new VendorException(vendor, null, $"{operation}: {VendorRetryRules.Describe(ex)}", VendorRetryRules.ClassifyException(ex),
                ex is HttpRequestException { StatusCode: { } status } ? (int)status : null, ex);
        }

        using (response)
        {
            string body;
            try
            {
                body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // The vendor answered but the body broke off: it may well have acted on the request.
                throw new VendorException(vendor, null, $"{operation}: the answer broke off ({VendorRetryRules.Describe(ex)})",
                    VendorFailureKind.UnknownOutcome, (int)response.StatusCode, ex);
            }
            return new VendorAnswer(vendor, operation, response.StatusCode, response.ReasonPhrase, body);
        }
    }
}

/// <summary>A vendor's answer as status and text, with the shared ways to fail on it.</summary>
public sealed record VendorAnswer(string Vendor, string Operation, System.Net.HttpStatusCode StatusCode, string? ReasonPhrase, string Body)
{
    public int Status => (int)StatusCode;
    public bool IsSuccess => Status is >= 200 and <= 299;

    /// <summary>A failure by HTTP status alone (the body said nothing the vendor's reader understood).</summary>
    public VendorException StatusFailure() =>
        new(Vendor, Status.ToString(CultureInfo.InvariantCulture), $"{Operation}: HTTP {Status} {ReasonPhrase}".TrimEnd(),
            VendorRetryRules.ClassifyStatus(StatusCode), Status);

    /// <summary>The body as JSON; a body that is not <typeparamref name="T"/> is <see cref="Unreadable"/>.</summary>
    public T ReadJson<T>(System.Text.Json.JsonSerializerOptions options)
    {
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<T>(Body, options) ?? throw Unreadable("empty");
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw Unreadable(ex.Message, ex);
        }
    }

    /// <summary>
    /// A success status with a body the vendor's reader could not read: the vendor may have acted on the request, so the
    /// outcome is unknown.
    /// </summary>
    public VendorException Unreadable(string detail, Exception? inner = null) =>
        new(Vendor, null, $"{Operation}: unreadable answer ({detail})", VendorFailureKind.UnknownOutcome, Status, inner);
}
