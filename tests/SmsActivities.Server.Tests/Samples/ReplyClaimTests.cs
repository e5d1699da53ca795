using System.Net;
using System.Text.Json;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.Tests.Samples;

/// <summary>
/// Replies that race the wait for them: a handset that answers the moment the question arrives (before the workflow
/// has committed its WaitForReply) must still be heard, and a reply typed before a question was asked must not answer it.
/// </summary>
public sealed class ReplyClaimTests
{
    [Fact]
    public async Task Handsets_that_answer_the_moment_the_question_arrives_are_heard_by_every_survey()
    {
        await using var server = await SandboxServer.StartAsync();
        var mobiles = Enumerable.Range(0, 200).Select(i => $"+86138{20_000_000 + i}").ToArray();
        // The answer is pushed while the survey's send is still inside the vendor call: long before its wait is committed.
        foreach (var mobile in mobiles) server.Emulators.Tencent.Script.AnswerFrom(mobile, "4");

        var resultUrls = new string[mobiles.Length];
        await Parallel.ForEachAsync(Enumerable.Range(0, mobiles.Length), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var (asked, body) = await server.PostAsync("workflows/survey", new { mobile = mobiles[i] });
            Assert.Equal(HttpStatusCode.Accepted, asked.StatusCode);
            resultUrls[i] = body!["resultUrl"]!.GetValue<string>();
        });

        var answered = 0;
        foreach (var url in resultUrls)
        {
            var result = await server.GetWhenReadyAsync(url);
            if (result["answer"]?.GetValue<string>() == "4") answered++;
        }
        Assert.Equal(mobiles.Length, answered);
    }

    [Fact]
    public async Task A_reply_typed_before_the_question_was_asked_does_not_answer_it()
    {
        await using var server = await SandboxServer.StartAsync();
        const string mobile = "+8613800138051";
        await InjectReplyAsync(server, mobile, "4");
        await SandboxServer.EventuallyAsync("the reply to be received", () =>
            server.Emulators.Pushes.Attempts.FirstOrDefault(p => p.Kind == "reply" && p.Acknowledged));
        // Later than the reply claim window (60 s by default).
        server.Time.Advance(TimeSpan.FromMinutes(2));

        var (_, body) = await server.PostAsync("workflows/survey", new { mobile });
        var resultUrl = body!["resultUrl"]!.GetValue<string>();
        var instanceId = SandboxServer.InstanceIdIn(resultUrl);
        // The wait takes the old reply out of the inbox, finds it too old and waits on.
        await SandboxServer.EventuallyAsync("the wait to set the old reply aside", async () =>
        {
            var journal = JsonSerializer.Serialize(await server.Instances.GetJournalAsync(instanceId, new JournalQuery()));
            return journal.Contains("ignored a reply", StringComparison.Ordinal) ? journal : null;
        }, TimeSpan.FromSeconds(90)); // the default 30 s ran out once in CI with every suite running side by side
        using (var early = await server.Http.GetAsync(resultUrl.TrimStart('/'))) Assert.Equal(HttpStatusCode.NotFound, early.StatusCode);

        await InjectReplyAsync(server, mobile, "2");
        var result = await server.GetWhenReadyAsync(resultUrl);
        Assert.Equal("2", result["answer"]!.GetValue<string>());
    }

    private static async Task InjectReplyAsync(SandboxServer server, string mobile, string text)
    {
        using var response = await server.Http.PostAsync("_emulators/tencent/_handset/replies",
            new StringContent(JsonSerializer.Serialize(new { mobile, text }), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }
}
