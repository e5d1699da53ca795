using System.Net;
using System.Text.Json.Nodes;
using SmsActivities.Activities;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Builder;
using SmsActivities.Workflows.Expressions;
using static SmsActivities.Samples.SampleWorkflows;

namespace SmsActivities.Samples;

/// <summary>
/// POST /workflows/code/campaign {recipients:[…], text} with an Idempotency-Key header → 202 at once, with the status URL
/// (Location) → in the background: SendSms through Yunpian (batched to its limit) → WaitForDeliveryReport → the failed
/// recipients re-sent through Tencent → WaitForDeliveryReport → summary. GET /workflows/code/campaign/{id} reports the
/// progress, then the summary for <see cref="StatusKeptFor"/> after the end. A retried POST with the same key starts
/// nothing and gets the first 202 again.
/// </summary>
public sealed class CampaignWorkflow : IWorkflow
{
    public const string DefinitionId = "campaign" + Suffix;
    public const string Prefix = "code/campaign";
    public const string IdempotencyHeader = "Idempotency-Key";
    private static readonly TimeSpan ReportTimeout = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan StatusKeptFor = TimeSpan.FromDays(1);

    public void Build(WorkflowBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WithDefinitionId(DefinitionId).WithName("SMS campaign with failover (C#)").WithVariable("summary");
        var flow = builder.Flowchart();
        var start = flow.Add(Endpoint("Http1", Prefix, "POST", start: true));
        start.IdempotencyHeader = new(IdempotencyHeader);
        var accepted = flow.Add(Answer("AnswerAccepted", HttpStatusCode.Accepted, c => new
        {
            campaignId = Self(c),
            statusUrl = StatusUrl(c),
            recipients = Strings(Body(c, "recipients")).Length,
        }));
        accepted.ResponseHeaders = new(c => new Dictionary<string, string> { ["Location"] = StatusUrl(c) });
        // The sends run after the 202 is written and committed, in a background run of their own.
        var send = flow.Add(new SendSms
        {
            Id = "Send1",
            Vendor = new("yunpian"),
            Recipients = new(c => Strings(Body(c, "recipients"))),
            Text = new(c => BodyText(c, "text")),
            RunAsynchronously = true,
        });
        var wait1 = flow.Add(new WaitForDeliveryReport { Id = "Wait1", SendSmsActivityId = new("Send1"), Timeout = new(ReportTimeout) });
        var resend = flow.Add(new SendSms
        {
            Id = "Resend",
            Vendor = new("tencent"),
            // Read from the send records: the wait's FailedRecipients is left empty over SmsActivities:MaxResultsInOutputs.
            ResendFailedOf = new("Send1"),
            Text = new(c => BodyText(c, "text")),
        });
        var wait2 = flow.Add(new WaitForDeliveryReport { Id = "Wait2", SendSmsActivityId = new("Resend"), Timeout = new(ReportTimeout) });
        var summary = flow.Add(new SetVariable { Id = "Summary", Variable = new("summary", "summary"), Value = new(Summary) });
        var output = flow.Add(new SetOutput { Id = "Output", OutputName = new("summary"), OutputValue = new(c => c.GetVariable("summary")) });
        var keep = flow.Add(new Delay { Id = "KeepStatus", TimeSpan = new(StatusKeptFor) });
        var finish = flow.Add(new Finish { Id = "Finish" });
        var status = flow.Add(Endpoint("HttpStatus", c => $"{Prefix}/{Self(c)}", "GET"));
        var answerStatus = flow.Add(Answer("AnswerStatus", HttpStatusCode.OK, Status));

        flow.Connect(start, accepted).Connect(accepted, send).Connect(accepted, status)
            .Connect(send, wait1, SendSms.Sent).Connect(send, wait1, SendSms.PartiallySent).Connect(send, wait1, SendSms.Unknown).Connect(send, summary, SendSms.Failed)
            .Connect(wait1, summary, WaitForDeliveryReport.Delivered).Connect(wait1, summary, BlockingActivity.TimeoutOutcome).Connect(wait1, resend, WaitForDeliveryReport.Failed)
            .Connect(resend, wait2, SendSms.Sent).Connect(resend, wait2, SendSms.PartiallySent).Connect(resend, wait2, SendSms.Unknown).Connect(resend, summary, SendSms.Failed)
            .Connect(wait2, summary, WaitForDeliveryReport.Delivered).Connect(wait2, summary, WaitForDeliveryReport.Failed).Connect(wait2, summary, BlockingActivity.TimeoutOutcome)
            .Connect(summary, output).Connect(output, keep).Connect(keep, finish)
            .Connect(status, answerStatus).Connect(answerStatus, status);
    }

    private static string StatusUrl(ExpressionContext c) => $"/workflows/{Prefix}/{Self(c)}";

    /// <summary>Progress while the campaign runs; the summary once it is over.</summary>
    private static object Status(ExpressionContext c) => c.GetVariable("summary") is JsonObject done
        ? new { status = "finished", summary = done }
        : new
        {
            status = c.GetOutput("Send1", nameof(SendSms.SentCount)) is null ? "sending" : "waiting for delivery reports",
            summary = Summary(c),
        };

    /// <summary>What the campaign achieved: both rounds' tallies, who failed for good, how many are in doubt (and who), who never reported.</summary>
    private static JsonObject Summary(ExpressionContext c) => new()
    {
        ["recipients"] = Strings(Body(c, "recipients")).Length,
        ["sent"] = Sent(c),
        ["failed"] = c.GetOutput("Send1", nameof(SendSms.FailedCount)),
        // Once the first wait is over, its reports have settled whom they could: the rest stay in doubt. Counted, since the
        // list is left empty over SmsActivities:MaxResultsInOutputs.
        ["inDoubt"] = (c.GetOutput("Wait1", nameof(WaitForDeliveryReport.InDoubtCount)) ?? c.GetOutput("Send1", nameof(SendSms.InDoubtCount)))?.GetValue<int>() ?? 0,
        ["inDoubtRecipients"] = Array(Strings(c.GetOutput("Wait1", nameof(WaitForDeliveryReport.InDoubtRecipients)) ?? c.GetOutput("Send1", nameof(SendSms.InDoubtRecipients)))),
        ["settled"] = Array(Strings(c.GetOutput("Wait1", nameof(WaitForDeliveryReport.SettledRecipients)))),
        ["firstRound"] = c.GetOutput("Wait1", nameof(WaitForDeliveryReport.Tally)),
        ["failedFirst"] = Array(Strings(c.GetOutput("Wait1", nameof(WaitForDeliveryReport.FailedRecipients)))),
        ["resent"] = c.GetOutput("Resend", nameof(SendSms.SentCount))?.GetValue<int>() ?? 0,
        ["secondRound"] = c.GetOutput("Wait2", nameof(WaitForDeliveryReport.Tally)),
        ["stillFailed"] = Array(Strings(c.GetOutput("Wait2", nameof(WaitForDeliveryReport.FailedRecipients)))),
        ["pending"] = Array(Strings(c.GetOutput("Wait1", nameof(WaitForDeliveryReport.PendingRecipients)))
            .Concat(Strings(c.GetOutput("Wait2", nameof(WaitForDeliveryReport.PendingRecipients))))),
    };

    /// <summary>
    /// Accepted by the vendor, plus the recipients in doubt whose delivery report showed the vendor had sent them (counted:
    /// over SmsActivities:MaxResultsInOutputs their list is left empty).
    /// </summary>
    private static int? Sent(ExpressionContext c) =>
        c.GetOutput("Send1", nameof(SendSms.SentCount))?.GetValue<int>() is { } accepted
            ? accepted + (c.GetOutput("Wait1", nameof(WaitForDeliveryReport.SettledCount))?.GetValue<int>() ?? 0)
            : null;

    private static JsonArray Array(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)v).ToArray());
}
