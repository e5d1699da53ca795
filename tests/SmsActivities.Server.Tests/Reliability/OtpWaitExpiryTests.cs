using System.Net;
using SmsActivities.Server.Tests.Samples;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>An OTP nobody verifies must not leave its workflow waiting forever: the verify wait ends with the code's lifetime.</summary>
public sealed class OtpWaitExpiryTests
{
    public static TheoryData<string> Flavours => SampleWorkflowTests.Flavours;

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task An_unverified_code_ends_its_workflow_when_the_code_expires(string flavour)
    {
        await using var server = await SandboxServer.StartAsync();
        var (_, sent) = await server.PostAsync($"workflows/{flavour}otp/send", new { mobile = "+8613800138160" });
        var verifyUrl = sent!["verifyUrl"]!.GetValue<string>();
        var instanceId = SandboxServer.InstanceIdIn(verifyUrl);
        Assert.Equal(WorkflowSubStatus.Suspended, (await server.Instances.GetStateAsync(instanceId))!.SubStatus);

        server.Time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(5));
        await server.WaitForInstanceAsync(instanceId, s => s.SubStatus == WorkflowSubStatus.Finished, "the verify wait to time out");
        Assert.Equal(HttpStatusCode.NotFound, (await server.PostAsync(verifyUrl, new { code = "123456" })).Response.StatusCode);
    }
}
