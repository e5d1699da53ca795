using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace SmsActivities.Tests.Plugin;

/// <summary>
/// Poison pushes against the real webhook endpoint on loopback: each must be refused with a 4xx and a reason, never
/// a 5xx (a vendor retries a 5xx, so one poison body would come back forever).
/// </summary>
public sealed class WebhookHardeningTests : IAsyncLifetime
{
    private PluginTestBed _bed = null!;

    public async Task InitializeAsync() => _bed = await PluginTestBed.StartAsync();

    public async Task DisposeAsync() => await _bed.DisposeAsync();

    public static TheoryData<string, string, string> OutOfRangeTimes => new()
    {
        // Unix seconds past year 9999 and before year 1: out of DateTimeOffset's range.
        { "tencent", "reply", """{"nationcode":"86","mobile":"13800138001","text":"hi","sign":"Acme","time":99999999999999,"extend":""}""" },
        { "tencent", "reply", """{"nationcode":"86","mobile":"13800138001","text":"hi","sign":"Acme","time":-99999999999999,"extend":""}""" },
        { "yaningai", "reply", """{"fromNum":"106","to":"8613800138001","content":"hi","datetime":"99999999999999"}""" },
        { "yaningai", "email-tracking", """{"type":"MailUserEvent","cnt":1,"array":[{"mssId":"m1","receive_email":"a@example.com","time":99999999999999,"action_type":"OPENED"}]}""" },
    };

    [Theory]
    [MemberData(nameof(OutOfRangeTimes))]
    public async Task A_push_with_a_time_out_of_range_is_refused_with_a_4xx(string vendor, string kind, string json)
    {
        using var answer = await _bed.Http.PostAsync(_bed.WebhookUrl(vendor, kind), new StringContent(json, Encoding.UTF8, "application/json"));

        await AssertRefusedAsync(answer);
    }

    [Fact]
    public async Task A_Tencent_reply_by_query_string_with_a_time_out_of_range_is_refused_with_a_4xx()
    {
        var url = new Uri(_bed.WebhookUrl("tencent", "reply") + "?nationcode=86&mobile=13800138001&text=hi&time=99999999999999");
        using var answer = await _bed.Http.GetAsync(url);

        await AssertRefusedAsync(answer);
    }

    public static TheoryData<string, string, string> InvalidUtf8Pushes => new()
    {
        // '¤' marks where the invalid bytes go, inside a JSON string.
        { "yaningai", "status", """{"type":"sms","cnt":1,"array":[["id¤1","8613800138001","2023-04-11T16:50:01+08:00",1,"DELIVRD","b1",1,0.1]]}""" },
        { "yaningai", "status", """{"type":"sms","cnt":1,"array":[["id1","8613800138001","2023-04-11T16:50:01+08:00",1,"DELIV¤RD","b1",1,0.1]]}""" },
        { "yaningai", "voice-status", """{"type":"vos","cnt":1,"array":[["v1","8613800138001","2023-04-11T16:50:01+08:00",1,"ok¤","b1"]]}""" },
        { "yaningai", "email-status", """{"type":"mail","cnt":1,"array":[["e1","a¤@example.com","2023-04-11T16:50:01+08:00",1,"ok","b1"]]}""" },
        { "yaningai", "email-tracking", """{"type":"MailUserEvent","cnt":1,"array":[{"mssId":"m¤1","receive_email":"a@example.com","time":1680278400,"action_type":"OPENED"}]}""" },
        { "yaningai", "email-tracking", """{"type":"MailUserEvent","cnt":1,"array":[{"mssId":"m1","receive_email":"a@example.com","time":1680278400,"action_type":"OPENED","city":"X¤"}]}""" },
        { "yaningai", "reply", """{"fromNum":"106","to":"8613800138001","content":"h¤i","datetime":"1680278400"}""" },
        { "yaningai", "reply", """{"fromNum":"1¤06","to":"8613800138001","content":"hi","datetime":"1680278400"}""" },
        { "yaningai", "reply", """{"type¤":"x","fromNum":"106","to":"8613800138001","content":"hi","datetime":"1680278400"}""" },
        { "tencent", "reply", """{"nationcode":"86","mobile":"13800138001","text":"h¤i","sign":"Acme","time":1680278400,"extend":""}""" },
        { "tencent", "status", """[{"user_receive_time":"2026-11-21 10:00:00","nationcode":"86","mobile":"13800138001","report_status":"SUCCESS","errmsg":"DELIVRD","description":"o¤k","sid":"s1"}]""" },
    };

    [Theory]
    [MemberData(nameof(InvalidUtf8Pushes))]
    public async Task A_JSON_push_with_invalid_UTF8_inside_a_string_is_refused_with_a_4xx(string vendor, string kind, string template)
    {
        foreach (var invalid in new byte[][] { [0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82] })
        {
            var parts = template.Split('¤');
            var body = Encoding.UTF8.GetBytes(parts[0]).Concat(invalid).Concat(Encoding.UTF8.GetBytes(parts[1])).ToArray();
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var answer = await _bed.Http.PostAsync(_bed.WebhookUrl(vendor, kind), content);

            await AssertRefusedAsync(answer);
        }
    }

    [Theory]
    [InlineData("yaningai", "reply", """{"fromNum":"106","to":"8613800138001","content":"h\ud800i","datetime":"1680278400"}""")]
    [InlineData("yaningai", "email-tracking", """{"type":"MailUserEvent","cnt":1,"array":[{"mssId":"m\udc001","receive_email":"a@example.com","time":1680278400,"action_type":"OPENED"}]}""")]
    [InlineData("tencent", "reply", """{"nationcode":"86","mobile":"13800138001","text":"h\ud800i","sign":"Acme","time":1680278400,"extend":""}""")]
    public async Task A_JSON_push_with_a_lone_surrogate_escape_gets_no_5xx(string vendor, string kind, string json)
    {
        // Escaped lone surrogates are valid JSON; read as text they become U+FFFD or are refused, either is fine.
        using var answer = await _bed.Http.PostAsync(_bed.WebhookUrl(vendor, kind), new StringContent(json, Encoding.UTF8, "application/json"));

        Assert.True((int)answer.StatusCode < 500, $"{vendor} {kind}: HTTP {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage answer)
    {
        var reason = await answer.Content.ReadAsStringAsync();
        Assert.True(answer.StatusCode is >= HttpStatusCode.BadRequest and < HttpStatusCode.InternalServerError, $"HTTP {(int)answer.StatusCode}: {reason}");
        Assert.False(string.IsNullOrWhiteSpace(reason), "a refusal names its reason");
    }
}
