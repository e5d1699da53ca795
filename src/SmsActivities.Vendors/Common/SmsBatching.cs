namespace SmsActivities.Vendors;

/// <summary>Shared checks and batching every <see cref="ISmsSender"/> applies before calling its vendor.</summary>
public static class SmsBatching
{
    /// <summary>Throws <see cref="VendorValidationException"/> naming the field and rule for input no vendor would accept.</summary>
    public static void Validate(SmsMessage message, int maxTextLength, bool templateSupported = true)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Recipients is null || message.Recipients.Count == 0)
            throw new VendorValidationException("recipients", "at least one recipient is required");
        if (message.Recipients.Any(r => r.NationalNumber is null))
            throw new VendorValidationException("recipients", "every recipient must be a parsed phone number");

        var hasText = !string.IsNullOrWhiteSpace(message.Text);
        var hasTemplate = !string.IsNullOrWhiteSpace(message.TemplateId);
        if (!hasText && !hasTemplate)
            throw new VendorValidationException("text", "either text or templateId is required");
        if (hasTemplate && !templateSupported)
            throw new VendorValidationException("templateId", "this vendor does not support templates; send text");
        if (hasText && message.Text!.Length > maxTextLength)
            throw new VendorValidationException("text", $"at most {maxTextLength} characters are allowed, got {message.Text.Length}");
        foreach (var (name, value) in message.TemplateParams)
        {
            if (string.IsNullOrEmpty(name))
                throw new VendorValidationException("templateParams", "every parameter needs a name");
            if (value is null)
                throw new VendorValidationException($"templateParams.{name}", "must not be null");
        }
    }

    /// <summary>
    /// Splits the recipients into calls of at most <paramref name="maxPerCall"/>, sends them one after another
    /// and merges the results in recipient order. A batch that fails marks its recipients not accepted (so the
    /// other batches still go out), and in doubt when the vendor may have sent them anyway.
    /// </summary>
    public static async Task<SendReceipt> SendInBatchesAsync(
        string vendor,
        SmsMessage message,
        int maxPerCall,
        Func<SmsMessage, int, CancellationToken, Task<IReadOnlyList<RecipientResult>>> sendBatch,
        CancellationToken cancellationToken)
    {
        var results = new List<RecipientResult>(message.Recipients.Count);
        var batchIndex = 0;
        foreach (var chunk in message.Recipients.Chunk(maxPerCall))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = message with
            {
                Recipients = chunk,
                // Each batch is its own vendor call, so each needs its own idempotency key.
                IdempotencyKey = message.IdempotencyKey is null ? null : batchIndex == 0 && chunk.Length == message.Recipients.Count
                    ? message.IdempotencyKey
                    : $"{message.IdempotencyKey}-{batchIndex}",
            };
            try
            {
                results.AddRange(await sendBatch(batch, batchIndex, cancellationToken).ConfigureAwait(false));
            }
            catch (VendorException ex)
            {
                results.AddRange(chunk.Select(r => ex.ResultFor(r.E164)));
            }
            batchIndex++;
        }
        return new SendReceipt(vendor, results);
    }
}
