using System.Net;
using SmsActivities.Activities;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Builder;
using SmsActivities.Workflows.Expressions;
using static SmsActivities.Samples.SampleWorkflows;

namespace SmsActivities.Samples;

/// <summary>
/// POST /workflows/code/campaign {recipients:[…], text} → SendSms through Yunpian (batched to its limit) → 202 with the
/// summary URL → WaitForDeliveryReport → the failed recipients re-sent through Tencent → WaitForDeliveryReport →
/// summary as the workflow output and at GET /workflows/code/campaign/{id}/summary.
/// </summary>
public sealed class CampaignWorkflow : IWorkflow
{
    public const string DefinitionId = "campaign" + Suffix;
    public const string Prefix = "code/campaign";
    private static readonly TimeSpan ReportTimeout = TimeSpan.FromMinutes(30);

    public void Build(WorkflowBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WithDefinitionId(DefinitionId).WithName("SMS campaign with failover (C#)");
        var flow = builder.Flowchart();
        var start = flow.Add(Endpoint("Http1", Prefix, "POST", start: true));
        var send = flow.Add(new SendSms
        {
            Id = "Send1",
            Vendor = new("yunpian"),
            Recipients = new(c => Strings(Body(c, "recipients"))),
            Text = new(c => BodyText(c, "text")),
        });
        var accepted = flow.Add(Answer("AnswerAccepted", HttpStatusCode.Accepted, c => new
        {
            summaryUrl = $"/workflows/{Prefix}/{Self(c)}/summary",
            sent = c.GetOutput("Send1", nameof(SendSms.SentCount)),
            failed = c.GetOutput("Send1", nameof(SendSms.FailedCount)),
        }));
        var notSent = flow.Add(Answer("AnswerNotSent", HttpStatusCode.BadGateway, c => new { error = c.GetOutput("Send1", nameof(SendSms.Error)) }));
        var wait1 = flow.Add(new WaitForDeliveryReport { Id = "Wait1", SendSmsActivityId = new("Send1"), Timeout = new(ReportTimeout) });
        var resend = flow.Add(new SendSms
        {
            Id = "Resend",
            Vendor = new("tencent"),
            Recipients = new(c => Strings(c.GetOutput("Wait1", nameof(WaitForDeliveryReport.FailedRecipients)))),
            Text = new(c => BodyText(c, "text")),
        });
        var wait2 = flow.Add(new WaitForDeliveryReport { Id = "Wait2", SendSmsActivityId = new("Resend"), Timeout = new(ReportTimeout) });
        var summary = flow.Add(new SetOutput { Id = "Summary", OutputName = new("summary"), OutputValue = new(Summary) });
        var endpoint = flow.Add(Endpoint("HttpSummary", c => $"{Prefix}/{Self(c)}/summary", "GET"));
        var answer = flow.Add(Answer("AnswerSummary", HttpStatusCode.OK, Summary));

        flow.Connect(start, send)
            .Connect(send, accepted, SendSms.Sent).Connect(send, accepted, SendSms.PartiallySent).Connect(send, notSent, SendSms.Failed)
            .Connect(accepted, wait1)
            .Connect(wait1, summary, WaitForDeliveryReport.Delivered).Connect(wait1, summary, BlockingActivity.TimeoutOutcome).Connect(wait1, resend, WaitForDeliveryReport.Failed)
            .Connect(resend, wait2, SendSms.Sent).Connect(resend, wait2, SendSms.PartiallySent).Connect(resend, summary, SendSms.Failed)
            .Connect(wait2, summary, WaitForDeliveryReport.Delivered).Connect(wait2, summary, WaitForDeliveryReport.Failed).Connect(wait2, summary, BlockingActivity.TimeoutOutcome)
            .Connect(summary, endpoint).Connect(endpoint, answer);
    }

    /// <summary>What the campaign achieved: both rounds' tallies, who failed for good, who never reported.</summary>
    private static object Summary(ExpressionContext c) => new
    {
        recipients = Strings(Body(c, "recipients")).Length,
        sent = c.GetOutput("Send1", nameof(SendSms.SentCount)),
        firstRound = c.GetOutput("Wait1", nameof(WaitForDeliveryReport.Tally)),
        failedFirst = Strings(c.GetOutput("Wait1", nameof(WaitForDeliveryReport.FailedRecipients))),
        resent = c.GetOutput("Resend", nameof(SendSms.SentCount))?.GetValue<int>() ?? 0,
        secondRound = c.GetOutput("Wait2", nameof(WaitForDeliveryReport.Tally)),
        stillFailed = Strings(c.GetOutput("Wait2", nameof(WaitForDeliveryReport.FailedRecipients))),
        pending = Strings(c.GetOutput("Wait1", nameof(WaitForDeliveryReport.PendingRecipients)))
            .Concat(Strings(c.GetOutput("Wait2", nameof(WaitForDeliveryReport.PendingRecipients)))).ToArray(),
    };
}
