using SmsActivities.Activities;
using SmsActivities.Workflows.Builder;

/// <summary>Sends a welcome SMS and waits (up to five minutes) for the delivery report.</summary>
public sealed class WelcomeSms : IWorkflow
{
    public void Build(WorkflowBuilder builder)
    {
        builder.WithDefinitionId("welcome-sms").WithName("Welcome SMS");
        var flow = builder.Flowchart();
        var send = flow.Add(new SendSms { Id = "send", Recipients = new("+8613800138000"), Text = new("Welcome aboard!") });
        var wait = flow.Add(new WaitForDeliveryReport { Id = "wait", SendSmsActivityId = new("send"), Timeout = new(TimeSpan.FromMinutes(5)) });
        flow.Connect(send, wait, SendSms.Sent);
    }
}
