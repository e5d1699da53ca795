using System.ComponentModel.DataAnnotations;

namespace SmsActivities.Hosting;

/// <summary>The plug-in's settings, bound from the <c>SmsActivities</c> configuration section.</summary>
public sealed class SmsActivitiesOptions
{
    public const string Section = "SmsActivities";

    /// <summary>SQLite connection string of the plug-in's own tables (OTP, rate events, opt-outs, send records).</summary>
    public string ConnectionString { get; set; } = "Data Source=smsactivities.db";

    /// <summary>Most recipients one SendSms may take; larger lists are refused before anything is sent.</summary>
    [Range(1, 1_000_000)]
    public int MaxRecipientsPerSend { get; set; } = 100_000;

    /// <summary>
    /// A SendSms to more recipients than this keeps its per-recipient lists (Results, MessageIds) out of the workflow's
    /// outputs, so the instance state stays small whatever the campaign size: they are in the send records (one per
    /// recipient), which WaitForDeliveryReport reads. The counts and the in-doubt recipients stay in the outputs.
    /// </summary>
    [Range(0, 1_000_000)]
    public int MaxResultsInOutputs { get; set; } = 1_000;

    /// <summary>Replies whose whole text is one of these words (case-insensitive, trimmed) put the sender on the opt-out list.</summary>
    /// <remarks>An array, so configuration replaces the defaults instead of appending to them.</remarks>
    public string[] OptOutKeywords { get; set; } = ["STOP", "TD", "退订"];

    /// <summary>
    /// How much older than a WaitForReply a reply may be and still answer it. A handset can answer the moment the
    /// question arrives, before the workflow that sent it has committed its wait: such a reply is kept and taken by the
    /// wait that begins for that number (and extend) within this time after the reply came in. A reply older than that
    /// when a wait begins is consumed by it and ignored, so it can never answer a later question (default 60 s).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan ReplyClaimWindow { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long after a send in doubt a delivery report for its number (same vendor) still settles it: the report shows
    /// the vendor did send. Vendors report within hours, at most three days (Yunpian keeps trying that long); a later
    /// report is taken for another message. Default 3 days.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00")]
    public TimeSpan InDoubtSettleWindow { get; set; } = TimeSpan.FromDays(3);

    public SmsWebhookOptions Webhooks { get; set; } = new();

    /// <summary>Pull pollers per vendor key (e.g. <c>SmsActivities:Pull:tencent:Enabled=true</c>).</summary>
    public Dictionary<string, SmsPullOptions> Pull { get; } = new(StringComparer.OrdinalIgnoreCase);
}

public sealed class SmsWebhookOptions
{
    /// <summary>
    /// The secret path segment every webhook URL ends with (<c>{prefix}/{vendor}/{kind}/{token}</c>). Vendors that do not
    /// sign their pushes (Tencent, YANINGAI) are authenticated by it alone, so it must be long and random.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>Pushes larger than this are refused with 413.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 4 * 1024 * 1024;
}

public sealed class SmsPullOptions
{
    public bool Enabled { get; set; }
    public bool Reports { get; set; } = true;
    public bool Replies { get; set; } = true;

    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);
}
