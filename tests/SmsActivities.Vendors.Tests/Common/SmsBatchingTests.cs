using SmsActivities.Vendors;

namespace SmsActivities.Vendors.Tests.Common;

public class SmsBatchingTests
{
    private static IReadOnlyList<PhoneNumber> Numbers(int count) =>
        Enumerable.Range(0, count).Select(i => PhoneNumber.Parse($"139{i:D8}")).ToArray();

    [Fact]
    public async Task Splits_over_the_limit_and_merges_in_recipient_order()
    {
        var message = new SmsMessage { Recipients = Numbers(2501), Text = "hi", IdempotencyKey = "k" };
        var batches = new List<(int Size, string? Key)>();
        var receipt = await SmsBatching.SendInBatchesAsync("v", message, 1000, (batch, index, _) =>
        {
            batches.Add((batch.Recipients.Count, batch.IdempotencyKey));
            return Task.FromResult<IReadOnlyList<RecipientResult>>(
                batch.Recipients.Reverse().Select(r => new RecipientResult(r.E164, true, "id" + r.E164)).Reverse().ToArray());
        }, CancellationToken.None);

        Assert.Equal([(1000, "k-0"), (1000, "k-1"), (501, "k-2")], batches);
        Assert.Equal(message.Recipients.Select(r => r.E164), receipt.Results.Select(r => r.Mobile));
    }

    [Fact]
    public async Task A_failed_batch_marks_only_its_own_recipients()
    {
        var message = new SmsMessage { Recipients = Numbers(3), Text = "hi" };
        var receipt = await SmsBatching.SendInBatchesAsync("v", message, 2, (batch, index, _) =>
            index == 1
                ? throw new VendorException("v", "500", "down", isTransient: true)
                : Task.FromResult<IReadOnlyList<RecipientResult>>(batch.Recipients.Select(r => new RecipientResult(r.E164, true, "x")).ToArray()),
            CancellationToken.None);

        Assert.Equal(2, receipt.AcceptedCount);
        var failed = Assert.Single(receipt.Results, r => !r.Accepted);
        Assert.True(failed.Retryable);
        Assert.Equal("500", failed.VendorCode);
    }

    [Theory]
    [InlineData(null, null, "text")]
    [InlineData("", null, "text")]
    public void Validation_names_the_field(string? text, string? templateId, string field)
    {
        var message = new SmsMessage { Recipients = Numbers(1), Text = text, TemplateId = templateId };
        var ex = Assert.Throws<VendorValidationException>(() => SmsBatching.Validate(message, 500));
        Assert.Equal(field, ex.Field);
    }

    [Fact]
    public void Over_length_text_is_rejected_before_any_call()
    {
        var message = new SmsMessage { Recipients = Numbers(1), Text = new string('a', 501) };
        var ex = Assert.Throws<VendorValidationException>(() => SmsBatching.Validate(message, 500));
        Assert.Contains("at most 500", ex.Rule, StringComparison.Ordinal);
    }
}
