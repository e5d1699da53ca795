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

        var hasTemplate = !string.IsNullOrWhiteSpace(message.TemplateId);
        if (hasTemplate && !templateSupported)
            throw new VendorValidationException("templateId", "this vendor does not support templates; send text");
        if (message.PerRecipient is not { Count: > 0 } own)
        {
            ValidateContent(message.Text, message.TemplateParams, hasTemplate, maxTextLength, "text", "templateParams");
            return;
        }

        var sharedChecked = false;
        for (var i = 0; i < message.Recipients.Count; i++)
        {
            if (!own.TryGetValue(message.Recipients[i].E164, out var content) || content is null)
            {
                if (sharedChecked) continue;
                ValidateContent(message.Text, message.TemplateParams, hasTemplate, maxTextLength, "text", "templateParams");
                sharedChecked = true;
                continue;
            }
            var field = $"recipients[{i}]";
            if (hasTemplate && content.Text is not null)
                throw new VendorValidationException(field + ".text", "this send uses templateId: give this recipient templateParams, not text");
            if (!hasTemplate && content.TemplateParams is not null)
                throw new VendorValidationException(field + ".templateParams", "template parameters need templateId; give this recipient text instead");
            ValidateContent(content.Text ?? message.Text, content.TemplateParams ?? message.TemplateParams, hasTemplate, maxTextLength, field + ".text", field + ".templateParams");
        }
    }

    private static void ValidateContent(string? text, IReadOnlyList<KeyValuePair<string, string>> templateParams, bool hasTemplate, int maxTextLength, string textField, string paramsField)
    {
        var hasText = !string.IsNullOrWhiteSpace(text);
        if (!hasText && !hasTemplate)
            throw new VendorValidationException(textField, "either text or templateId is required");
        if (hasText && text!.Length > maxTextLength)
            throw new VendorValidationException(textField, $"at most {maxTextLength} characters are allowed, got {text.Length}");
        foreach (var (name, value) in templateParams)
        {
            if (string.IsNullOrEmpty(name))
                throw new VendorValidationException(paramsField, "every parameter needs a name");
            if (value is null)
                throw new VendorValidationException($"{paramsField}.{name}", "must not be null");
        }
    }

    /// <summary>The text <paramref name="recipient"/> of <paramref name="message"/> gets: its own, else the message's.</summary>
    public static string? TextFor(SmsMessage message, PhoneNumber recipient)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.PerRecipient?.GetValueOrDefault(recipient.E164)?.Text ?? message.Text;
    }

    /// <summary>The template parameters <paramref name="recipient"/> of <paramref name="message"/> gets: its own, else the message's.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> TemplateParamsFor(SmsMessage message, PhoneNumber recipient)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.PerRecipient?.GetValueOrDefault(recipient.E164)?.TemplateParams ?? message.TemplateParams;
    }

    /// <summary>
    /// The message as messages of one content each: recipients who get the same text and parameters share one, in the
    /// order of their first recipient, each with the positions of its recipients in <paramref name="message"/>. The parts
    /// carry no <see cref="SmsMessage.PerRecipient"/>; each has its own idempotency key unless there is only one.
    /// </summary>
    public static IReadOnlyList<(SmsMessage Message, int[] Positions)> SplitByContent(SmsMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.PerRecipient is not { Count: > 0 }) return [(message, Enumerable.Range(0, message.Recipients.Count).ToArray())];

        var groups = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (var i = 0; i < message.Recipients.Count; i++)
        {
            var recipient = message.Recipients[i];
            // Unit separators cannot be typed into a text or a parameter, so distinct contents never share a key.
            var key = TextFor(message, recipient) + "\u001f" + string.Join("\u001e", TemplateParamsFor(message, recipient).Select(p => p.Key + "\u001d" + p.Value));
            if (!groups.TryGetValue(key, out var positions)) groups[key] = positions = [];
            positions.Add(i);
        }

        return groups.Values.Select((positions, g) =>
        {
            var first = message.Recipients[positions[0]];
            var part = message with
            {
                Recipients = positions.Select(i => message.Recipients[i]).ToArray(),
                Text = TextFor(message, first),
                TemplateParams = TemplateParamsFor(message, first),
                PerRecipient = null,
                IdempotencyKey = message.IdempotencyKey is null || groups.Count == 1 ? message.IdempotencyKey : $"{message.IdempotencyKey}-c{g}",
            };
            return (part, positions.ToArray());
        }).ToArray();
    }

    /// <summary>
    /// Sends a message whose recipients may have contents of their own as one send per distinct content (the vendor takes
    /// one content a call). Every part is prepared (checked against the vendor's rules) before the first is sent, so bad
    /// input sends nothing; a part that fails marks only its own recipients. Results come back in recipient order.
    /// </summary>
    /// <param name="prepare">Checks one part of a single content and returns how to send it.</param>
    public static async Task<SendReceipt> SendEachContentAsync(
        string vendor,
        SmsMessage message,
        Func<SmsMessage, Func<CancellationToken, Task<SendReceipt>>> prepare,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prepare);
        var parts = SplitByContent(message);
        if (parts.Count == 1) return await prepare(parts[0].Message)(cancellationToken).ConfigureAwait(false);

        var sends = parts.Select(p => (Send: prepare(p.Message), p.Message.Recipients, p.Positions)).ToArray();
        var results = new RecipientResult[message.Recipients.Count];
        var batchIds = new List<string>();
        foreach (var (send, recipients, positions) in sends)
        {
            cancellationToken.ThrowIfCancellationRequested();
            IReadOnlyList<RecipientResult> answered;
            try
            {
                var receipt = await send(cancellationToken).ConfigureAwait(false);
                if (receipt.BatchId is not null) batchIds.Add(receipt.BatchId);
                answered = receipt.Results;
            }
            catch (VendorException ex)
            {
                answered = recipients.Select(r => ex.ResultFor(r.E164)).ToArray();
            }
            for (var j = 0; j < positions.Length; j++)
            {
                results[positions[j]] = j < answered.Count && answered[j].Mobile == recipients[j].E164
                    ? answered[j]
                    : new RecipientResult(recipients[j].E164, false, null, null, "the vendor returned no result for this recipient") { InDoubt = true };
            }
        }
        return new SendReceipt(vendor, results) { BatchId = batchIds.Count == 0 ? null : string.Join(',', batchIds) };
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
