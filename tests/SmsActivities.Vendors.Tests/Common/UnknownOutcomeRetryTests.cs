using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Polly;
using SmsActivities.Emulators;

namespace SmsActivities.Vendors.Tests;

/// <summary>
/// A send whose outcome is unknown (timed out, 500) may already have reached the person, so it is not repeated at a
/// vendor that cannot dedupe it; only failures that prove nothing was sent (503, no connection) are retried.
/// </summary>
public class UnknownOutcomeRetryTests
{
    public static TheoryData<string> Vendors => new(VendorNames.Yunpian, VendorNames.Tencent, VendorNames.SendCloud, VendorNames.Yaningai);

    private static SmsMessage Message(string vendor, string? idempotencyKey = null) => new()
    {
        Recipients = [PhoneNumber.Parse("13900000001")],
        // SendCloud sends templates only; the others take text (whether the emulator accepts it does not matter here).
        Text = vendor == VendorNames.SendCloud ? null : "【SmsSandbox】hello",
        TemplateId = vendor == VendorNames.SendCloud ? "1" : null,
        IdempotencyKey = idempotencyKey,
    };

    [Theory]
    [MemberData(nameof(Vendors))]
    public async Task A_send_that_times_out_is_not_repeated(string vendor)
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = VendorServices.ForVendor(vendor, host.BaseUrlFor(vendor), new Dictionary<string, string?> { [$"Vendors:{vendor}:AttemptTimeout"] = VendorServices.ShortAttemptTimeout });
        host.Set.Get(vendor).Faults.DelayNextCalls(3, VendorServices.SlowAnswer);

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(Message(vendor));

        var result = Assert.Single(receipt.Results);
        Assert.False(result.Accepted);
        Assert.True(result.Retryable, "a timeout may pass later");
        Assert.Equal(VendorFailureKind.UnknownOutcome, result.Failure);
        // On a loaded machine the client can give up before the emulator has recorded the call: wait for it to show.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (host.Set.Requests.For(vendor).Count == 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        var calls = host.Set.Requests.For(vendor);
        Assert.True(calls.Count == 1, $"expected the one attempt only, the emulator received {calls.Count}: {string.Join(", ", calls.Select(c => c.ReceivedAt.ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture)))}");
    }

    [Theory]
    [MemberData(nameof(Vendors))]
    public async Task A_send_answered_500_is_not_repeated_but_503_is(string vendor)
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = VendorServices.ForVendor(vendor, host.BaseUrlFor(vendor));
        var sender = sp.GetRequiredService<ISmsSender>();

        host.Set.Get(vendor).Faults.FailNextCalls(3, 500);
        Assert.False(Assert.Single((await sender.SendSmsAsync(Message(vendor))).Results).Accepted);
        Assert.Single(host.Set.Requests.For(vendor));

        host.Set.Requests.Clear();
        host.Set.Get(vendor).Faults.FailNextCalls(2, 503);
        await sender.SendSmsAsync(Message(vendor));
        Assert.Equal(3, host.Set.Requests.For(vendor).Count);
    }

    [Theory]
    [MemberData(nameof(Vendors))]
    public async Task Every_vendor_retries_a_send_answered_429_or_408_and_calls_the_last_one_transient(string vendor)
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = VendorServices.ForVendor(vendor, host.BaseUrlFor(vendor));
        var sender = sp.GetRequiredService<ISmsSender>();

        // Throttled or timed out waiting for the request: the vendor says it did nothing, so a send is repeated.
        foreach (var status in new[] { 429, 408 })
        {
            host.Set.Requests.Clear();
            host.Set.Get(vendor).Faults.FailNextCalls(3, status);
            var result = Assert.Single((await sender.SendSmsAsync(Message(vendor))).Results);
            Assert.Equal(3, host.Set.Requests.For(vendor).Count);
            Assert.Equal(VendorFailureKind.Transient, result.Failure);
            Assert.Equal(status.ToString(System.Globalization.CultureInfo.InvariantCulture), result.VendorCode);
        }
    }

    [Theory]
    [MemberData(nameof(Vendors))]
    public async Task Every_vendor_calls_a_send_answered_500_an_unknown_outcome_and_a_4xx_a_rejection(string vendor)
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = VendorServices.ForVendor(vendor, host.BaseUrlFor(vendor));
        var sender = sp.GetRequiredService<ISmsSender>();

        host.Set.Get(vendor).Faults.FailNextCalls(1, 500);
        Assert.Equal(VendorFailureKind.UnknownOutcome, Assert.Single((await sender.SendSmsAsync(Message(vendor))).Results).Failure);

        host.Set.Get(vendor).Faults.FailNextCalls(1, 403);
        Assert.Equal(VendorFailureKind.Rejected, Assert.Single((await sender.SendSmsAsync(Message(vendor))).Results).Failure);
    }

    [Fact]
    public async Task A_vendor_that_cannot_be_reached_is_transient_and_retried()
    {
        // A port nothing listens on: the connection is refused, so the request never left.
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var sp = VendorServices.ForVendor(VendorNames.Tencent, new Uri($"http://127.0.0.1:{port}/"));

        var result = Assert.Single((await sp.GetRequiredService<ISmsSender>().SendSmsAsync(Message(VendorNames.Tencent))).Results);

        Assert.Equal(VendorFailureKind.Transient, result.Failure);
        Assert.True(result.Retryable);
    }

    [Fact]
    public async Task A_cancelled_attempt_that_the_caller_did_not_cancel_is_an_unknown_outcome()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = VendorServices.ForVendor(VendorNames.Yunpian, host.BaseUrlFor(VendorNames.Yunpian));
        host.Set.Yunpian.Faults.DelayNextCalls(1, VendorServices.SlowAnswer);
        using var http = new HttpClient { BaseAddress = host.BaseUrlFor(VendorNames.Yunpian), Timeout = TimeSpan.FromMilliseconds(100) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "v2/sms/single_send.json") { Content = new FormUrlEncodedContent([]) };

        // HttpClient's own timeout surfaces as a TaskCanceledException, not as the pipeline's timeout.
        var ex = await Assert.ThrowsAsync<VendorException>(() => http.SendToVendorAsync(VendorNames.Yunpian, "single_send", request, CancellationToken.None));

        Assert.Equal(VendorFailureKind.UnknownOutcome, ex.Kind);
        Assert.IsAssignableFrom<OperationCanceledException>(ex.InnerException);
    }

    [Fact]
    public async Task A_SendCloud_send_with_a_sendRequestId_is_retried_because_SendCloud_drops_the_repeat()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = VendorServices.ForVendor(VendorNames.SendCloud, host.BaseUrlFor(VendorNames.SendCloud));
        host.Set.SendCloud.Faults.FailNextCalls(2, 500);

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(Message(VendorNames.SendCloud, "wf-1-send-1"));

        Assert.True(Assert.Single(receipt.Results).Accepted);
        Assert.Equal(3, host.Set.Requests.For(VendorNames.SendCloud).Count);
    }

    [Theory]
    [InlineData(HttpRequestError.ConnectionError, true)]
    [InlineData(HttpRequestError.NameResolutionError, true)]
    [InlineData(HttpRequestError.SecureConnectionError, true)]
    [InlineData(HttpRequestError.ResponseEnded, false)]
    [InlineData(HttpRequestError.Unknown, false)]
    public void Only_failures_before_the_request_left_count_as_never_reached(HttpRequestError error, bool neverReached)
    {
        var outcome = Outcome.FromException<HttpResponseMessage>(new HttpRequestException(error, "x"));
        Assert.Equal(neverReached, VendorRetryRules.NeverReachedVendor(outcome));
        Assert.True(VendorRetryRules.IsTransient(outcome));
    }

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable, true)]
    [InlineData(HttpStatusCode.InternalServerError, false)]
    [InlineData(HttpStatusCode.BadGateway, false)]
    [InlineData(HttpStatusCode.GatewayTimeout, false)]
    public void Only_503_among_answers_proves_the_request_was_not_processed(HttpStatusCode status, bool neverReached)
    {
        using var response = new HttpResponseMessage(status);
        Assert.Equal(neverReached, VendorRetryRules.NeverReachedVendor(Outcome.FromResult(response)));
    }
}
