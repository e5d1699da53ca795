using System.Net;
using SmsActivities.Activities;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Builder;
using SmsActivities.Workflows.Expressions;
using static SmsActivities.Samples.SampleWorkflows;

namespace SmsActivities.Samples;

/// <summary>
/// Starts on an inbound SMS whose first word is a known keyword and switches on it: Y/YES → a confirmation SMS back
/// through the vendor the reply came by; STOP/TD/退订 → recorded as opted out (the plug-in has already put the number on
/// the opt-out list, so nothing more is sent to it); HELP → the keywords by SMS. Unlike its JSON twin (any extend code),
/// it listens only to replies to extend code <see cref="Extend"/>, so an ordinary reply is not answered twice.
/// </summary>
public sealed class ReplyRouterWorkflow : IWorkflow
{
    public const string DefinitionId = "reply-router" + Suffix;
    public const string Keywords = "Y,YES,STOP,TD,退订,HELP";
    public const string Extend = "2";

    public void Build(WorkflowBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WithDefinitionId(DefinitionId).WithName("Reply router (C#)");
        var flow = builder.Flowchart();
        var reply = flow.Add(new SmsReplyReceived { Id = "Reply1", Vendor = new("Any"), Keywords = new(Keywords), Extend = new(Extend), CanStartWorkflow = true });
        var router = flow.Add(new FlowSwitch
        {
            Id = "Switch1",
            Cases =
            [
                new FlowSwitchCase("Confirm", Expression.FromDelegate(c => Keyword(c) is "Y" or "YES")),
                new FlowSwitchCase("OptOut", Expression.FromDelegate(c => Keyword(c) is "STOP" or "TD" or "退订")),
            ],
        });
        var confirm = flow.Add(AnswerBySms("SendConfirmation", "Thank you, your appointment is confirmed."));
        var optOut = flow.Add(Record("RecordOptOut", "opted-out"));
        var help = flow.Add(AnswerBySms("SendHelp", "Reply Y to confirm your appointment, or STOP to unsubscribe."));
        flow.Connect(reply, router)
            .Connect(router, confirm, "Confirm").Connect(router, optOut, "OptOut").Connect(router, help, "Default")
            .Connect(confirm, Record("RecordConfirmed", "confirmed"), SendSms.Sent)
            .Connect(help, Record("RecordHelp", "help"), SendSms.Sent);
    }

    private static string? Keyword(ExpressionContext c) => c.GetOutput("Reply1", nameof(SmsReplyReceived.Keyword))?.ToString();

    private static SendSms AnswerBySms(string id, string text) => new()
    {
        Id = id,
        Vendor = new(c => c.GetOutput("Reply1", nameof(SmsReplyReceived.ReplyVendor))?.ToString()),
        Recipients = new(c => c.GetOutput("Reply1", nameof(SmsReplyReceived.Mobile))?.ToString()),
        Text = new(text),
    };

    private static SetOutput Record(string id, string action) => new() { Id = id, OutputName = new("action"), OutputValue = new(action) };
}

/// <summary>
/// POST /workflows/code/survey {mobile} → SendSms with a question → 202 with the result URL → WaitForReply (an answer
/// 1-5, 10 minutes) → a thank-you SMS → the result as the workflow output and at GET /workflows/code/survey/{id}/result.
/// </summary>
public sealed class SendAndWaitForReplyWorkflow : IWorkflow
{
    public const string DefinitionId = "send-and-wait-for-reply" + Suffix;
    public const string Prefix = "code/survey";

    public void Build(WorkflowBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.WithDefinitionId(DefinitionId).WithName("Ask and wait for the answer (C#)");
        var flow = builder.Flowchart();
        var start = flow.Add(Endpoint("Http1", Prefix, "POST", start: true));
        var ask = flow.Add(new SendSms
        {
            Id = "Ask",
            Vendor = new("tencent"),
            Recipients = new(c => BodyText(c, "mobile")),
            Text = new("How happy were you with our service? Reply with a number from 1 to 5."),
        });
        var asked = flow.Add(Answer("AnswerAsked", HttpStatusCode.Accepted, c => new { resultUrl = $"/workflows/{Prefix}/{Self(c)}/result" }));
        var notSent = flow.Add(Answer("AnswerNotSent", HttpStatusCode.BadGateway, c => new { error = c.GetOutput("Ask", nameof(SendSms.Error)) }));
        var wait = flow.Add(new WaitForReply
        {
            Id = "WaitAnswer",
            Mobile = new(c => BodyText(c, "mobile")),
            KeywordPattern = new("^[1-5]$"),
            Timeout = new(TimeSpan.FromMinutes(10)),
        });
        var thank = flow.Add(new SendSms { Id = "Thank", Vendor = new("tencent"), Recipients = new(c => BodyText(c, "mobile")), Text = new("Thank you for your answer!") });
        var record = flow.Add(new SetOutput { Id = "RecordResult", OutputName = new("result"), OutputValue = new(Result) });
        var endpoint = flow.Add(Endpoint("HttpResult", c => $"{Prefix}/{Self(c)}/result", "GET"));
        var answer = flow.Add(Answer("AnswerResult", HttpStatusCode.OK, Result));
        flow.Connect(start, ask).Connect(ask, asked, SendSms.Sent).Connect(ask, notSent, SendSms.Failed)
            .Connect(asked, wait).Connect(wait, thank, WaitForReply.Replied).Connect(wait, record, BlockingActivity.TimeoutOutcome)
            .Connect(thank, record, SendSms.Sent).Connect(thank, record, SendSms.Failed)
            .Connect(record, endpoint).Connect(endpoint, answer);
    }

    private static object Result(ExpressionContext c)
    {
        var text = c.GetOutput("WaitAnswer", nameof(WaitForReply.Text))?.ToString();
        return new { answer = text, receivedAt = c.GetOutput("WaitAnswer", nameof(WaitForReply.ReceivedAt)), timedOut = string.IsNullOrEmpty(text) };
    }
}
