using System.Net;
using System.Net.Http.Json;
using SmsActivities.Emulators;

namespace SmsActivities.Vendors.Tests.Common;

/// <summary>The outage knobs every emulator shares, driven in code and over the sandbox HTTP control.</summary>
public class EmulatorControlTests
{
    public static TheoryData<string> Vendors => new(VendorNames.All);

    /// <summary>A call each emulator answers without credentials being right (the answer itself does not matter here).</summary>
    private static string AnyApiPath(string vendor) => vendor switch
    {
        VendorNames.Yunpian => "v2/user/get.json",
        VendorNames.Tencent => "v5/tlssmssvr/sendsms",
        VendorNames.SendCloud => "smsapi/send",
        _ => "api/v1/sms/sendbatchsms",
    };

    [Theory]
    [MemberData(nameof(Vendors))]
    public async Task Faults_posted_to_the_control_fail_the_next_calls_then_clear(string vendor)
    {
        await using var host = await EmulatorHost.StartAsync();
        using var http = new HttpClient { BaseAddress = host.BaseUrlFor(vendor) };
        using var content = new StringContent("{}");

        using var set = await http.PostAsJsonAsync("_faults", new { failNext = 2, status = 502 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Contains("\"failNext\":2", await set.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var statuses = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await http.PostAsync(new Uri(AnyApiPath(vendor), UriKind.Relative), content);
            statuses.Add((int)response.StatusCode);
        }
        Assert.Equal([502, 502], statuses.Take(2));
        Assert.NotEqual(502, statuses[2]);
        Assert.Equal(3, host.Set.Requests.For(vendor).Count); // failed calls are recorded too; the control call is not
        Assert.Equal((0, 502, 0, TimeSpan.Zero), host.Set.Get(vendor).Faults.Pending);
    }

    /// <summary>The sandbox server runs the emulators as long as it runs: their journal keeps the newest requests only.</summary>
    [Fact]
    public async Task The_request_journal_keeps_the_newest_requests_up_to_its_capacity_and_counts_the_ones_it_dropped()
    {
        await using var host = await EmulatorHost.StartAsync();
        Assert.Equal(RequestJournal.DefaultCapacity, host.Set.Requests.Capacity);
        host.Set.Requests.Capacity = 3;
        using var http = new HttpClient { BaseAddress = host.BaseUrlFor(VendorNames.Yunpian) };
        for (var i = 0; i < 5; i++)
        {
            using var response = await http.PostAsync(new Uri($"v2/user/get.json?call={i}", UriKind.Relative), new FormUrlEncodedContent([]));
        }

        Assert.Equal(["?call=2", "?call=3", "?call=4"], host.Set.Requests.For(VendorNames.Yunpian).Select(r => r.QueryString));
        Assert.Equal(2, host.Set.Requests.Dropped);

        host.Set.Requests.Capacity = 0;
        using (await http.PostAsync(new Uri("v2/user/get.json", UriKind.Relative), new FormUrlEncodedContent([]))) { }
        Assert.Empty(host.Set.Requests.All);
        Assert.Equal(6, host.Set.Requests.Dropped);
        Assert.Throws<ArgumentOutOfRangeException>(() => host.Set.Requests.Capacity = -1);
    }

    [Fact]
    public async Task Delays_posted_to_the_control_hold_the_next_call_and_bad_knobs_are_refused()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var http = new HttpClient { BaseAddress = host.BaseUrlFor(VendorNames.Yunpian) };

        using var set = await http.PostAsJsonAsync("_faults", new { delayNext = 1, delayMs = 300 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var started = DateTime.UtcNow;
        using var slow = await http.PostAsync(new Uri("v2/user/get.json", UriKind.Relative), new FormUrlEncodedContent([]));
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(250));
        Assert.Equal((0, 0), (host.Set.Yunpian.Faults.Pending.FailNext, host.Set.Yunpian.Faults.Pending.DelayNext));

        using var badStatus = await http.PostAsJsonAsync("_faults", new { failNext = 1, status = 99 });
        using var negative = await http.PostAsJsonAsync("_faults", new { failNext = -1 });
        Assert.Equal(HttpStatusCode.BadRequest, badStatus.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
        Assert.Equal(0, host.Set.Yunpian.Faults.Pending.FailNext);
    }

    [Fact]
    public async Task The_standalone_emulator_takes_delivery_outcomes_and_faults_by_name()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var http = new HttpClient { BaseAddress = host.BaseUrlFor(VendorNames.Yunpian) };

        using var script = await http.PutAsJsonAsync("_script/%2B8613800000002", new { outcome = "Failed", failureCode = "UNDELIV" });
        using var byNumber = await http.PutAsJsonAsync("_script/%2B8613800000003", new { outcome = 2 });
        using var unknown = await http.PutAsJsonAsync("_script/%2B8613800000004", new { outcome = "Lost" });
        Assert.Equal(HttpStatusCode.NoContent, script.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, byNumber.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal(DeliveryOutcome.Failed, host.Set.Yunpian.Script.PlanFor("+8613800000002").Outcome);
        Assert.Equal(DeliveryOutcome.NeverReported, host.Set.Yunpian.Script.PlanFor("+8613800000003").Outcome);

        using var faults = await http.PostAsJsonAsync("_faults", new { failNext = 1, fault = "AcceptThenFail", status = 500 });
        Assert.Equal(HttpStatusCode.OK, faults.StatusCode);
        using var send = await http.PostAsync(new Uri("v2/sms/single_send.json", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["apikey"] = SmsActivities.Emulators.Yunpian.YunpianEmulator.SandboxApiKey, ["mobile"] = "13800000005", ["text"] = "【Sandbox】hello",
        }));
        // The vendor sent the message, but the caller only sees the 500.
        Assert.Equal(HttpStatusCode.InternalServerError, send.StatusCode);
        Assert.Equal("", await send.Content.ReadAsStringAsync());
        Assert.Single(host.Set.Yunpian.Sent, m => m.E164 == "+8613800000005");
    }

    [Fact]
    public async Task A_failure_rate_faults_about_that_share_of_calls_and_a_seed_makes_it_repeatable()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var http = new HttpClient { BaseAddress = host.BaseUrlFor(VendorNames.Yunpian) };

        async Task<int[]> RunAsync()
        {
            using var set = await http.PostAsJsonAsync("_faults", new { rate = 0.2, status = 503, seed = 42 });
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
            var statuses = new int[200];
            for (var i = 0; i < statuses.Length; i++)
            {
                using var response = await http.PostAsync(new Uri("v2/user/get.json", UriKind.Relative), new FormUrlEncodedContent([]));
                statuses[i] = (int)response.StatusCode;
            }
            return statuses;
        }

        var first = await RunAsync();
        var second = await RunAsync();
        Assert.InRange(first.Count(s => s == 503), 20, 60);
        Assert.Equal(first, second);
        using var bad = await http.PostAsJsonAsync("_faults", new { rate = 1.5 });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Vendors))]
    public async Task Callbacks_set_over_the_control_receive_handset_replies(string vendor)
    {
        await using var host = await EmulatorHost.StartAsync();
        host.Set.Clock.Scale = 0.001;
        await using var receiver = await PushReceiver.StartAsync();
        using var http = new HttpClient { BaseAddress = host.BaseUrlFor(vendor) };

        using var set = await http.PutAsJsonAsync("_callbacks/reply", new { url = receiver.Url("replies") });
        using var reply = await http.PostAsJsonAsync("_handset/replies", new { mobile = "+8613800000001", text = "STOP" });
        using var unknown = await http.PutAsJsonAsync("_callbacks/fax", new { url = receiver.Url("fax") });
        using var relative = await http.PutAsJsonAsync("_callbacks/status", new { url = "/status" });

        Assert.Equal(HttpStatusCode.NoContent, set.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, reply.StatusCode);
        // The first push is the one asserted: the receiver answers a plain "OK", which some vendors (Yunpian wants SUCCESS)
        // do not take as an acknowledgement, so on a slow machine their retry (60 ms on this clock) can arrive too.
        Assert.Contains("STOP", (await receiver.WaitForAsync(1, "replies"))[0].Text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, relative.StatusCode);
    }
}
