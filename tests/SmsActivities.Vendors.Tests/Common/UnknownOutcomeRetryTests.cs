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
        Assert.True(result.Retryable, "a timeout is still transient, so the router may fail over");
        Assert.Single(host.Set.Requests.For(vendor));
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
