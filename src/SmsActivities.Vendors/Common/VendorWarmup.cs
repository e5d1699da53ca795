using System.Net;
using System.Text;

namespace SmsActivities.Vendors;

/// <summary>
/// A vendor's own start-up warm-up: what its first send would otherwise compile while a caller waits (the sender's
/// batching and mapping, the request's JSON and signature, the HTTP client's handlers and resilience pipeline, the
/// answer's JSON), done without a network call.
/// </summary>
public interface IVendorWarmup : IVendorProfile
{
    Task WarmAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// Sends through a vendor's real path with the answer given in-process: the innermost handler of every vendor client
/// (<see cref="LocalAnswerHandler"/>, inside the resilience pipeline) answers a request made under
/// <see cref="SendSmsAnsweredLocallyAsync"/> itself, so nothing leaves the process. The answer is scoped to that call's
/// async flow: a send running beside it goes to the vendor as always.
/// </summary>
internal static class VendorWarmup
{
    private static readonly AsyncLocal<string?> LocalAnswer = new();

    /// <summary>A lone number and a batch of two (the single and the batch calls of most vendors), in China mainland.</summary>
    private static readonly IReadOnlyList<PhoneNumber>[] Recipients =
        [[PhoneNumber.Parse("+8613900000000")], [PhoneNumber.Parse("+8613900000000"), PhoneNumber.Parse("+8613900000001")]];

    /// <param name="answer">The vendor's success body for its send calls (what it reads of it is warmed too).</param>
    /// <param name="message">The warm-up message to the given recipients, as the vendor accepts it.</param>
    public static async Task SendSmsAnsweredLocallyAsync(ISmsSender sender, string answer, Func<IReadOnlyList<PhoneNumber>, SmsMessage> message, CancellationToken cancellationToken)
    {
        // Set in this async method: it flows into the sends below and is gone for the caller when this returns.
        LocalAnswer.Value = answer;
        foreach (var recipients in Recipients)
        {
            // A refused recipient means the send took a failure path (or the answer no longer reads as a success): the
            // warm-up missed what a real send compiles, so it says so instead of passing quietly.
            var receipt = await sender.SendSmsAsync(message(recipients), cancellationToken).ConfigureAwait(false);
            if (receipt.Results.FirstOrDefault(r => !r.Accepted) is { } refused)
                throw new InvalidOperationException($"{sender.Vendor}'s warm-up send was not accepted: [{refused.VendorCode ?? "-"}] {refused.Error}");
        }
    }

    /// <summary>Answers a warm-up's request in-process; passes every other request on to the vendor.</summary>
    internal sealed class LocalAnswerHandler : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            LocalAnswer.Value is { } answer ? AnswerAsync(request, answer) : base.SendAsync(request, cancellationToken);

        private static async Task<HttpResponseMessage> AnswerAsync(HttpRequestMessage request, string answer)
        {
            // Answered later, as the network does: every await on the way back then takes its asynchronous path, which is what a real send compiles.
            await Task.Yield();
            return new HttpResponseMessage(HttpStatusCode.OK) { RequestMessage = request, Content = new StringContent(answer, Encoding.UTF8, "application/json") };
        }
    }
}
