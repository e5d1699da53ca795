using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Workflows.Tests;

public class InputOptionsProviderTests
{
    /// <summary>What the host has configured; the drop-down must follow it, not a list fixed at compile time.</summary>
    public sealed record ConfiguredChannels(IReadOnlyList<string> Names);

    public sealed class ChannelOptions(ConfiguredChannels channels) : IInputOptionsProvider
    {
        public IReadOnlyList<string> GetOptions(InputInfo input) => ["Auto", .. channels.Names];
    }

    [Activity("Test", "Test")]
    public sealed class PickChannel : Activity
    {
        [Input(OptionsProvider = typeof(ChannelOptions), DefaultValue = "Auto")]
        public Input<string> Channel { get; set; } = new("Auto");

        protected override ValueTask ExecuteAsync(ActivityExecutionContext context) => context.CompleteActivityAsync();
    }

    private static IReadOnlyList<string> DropDownValues(ActivityRegistry registry, IServiceProvider? services)
    {
        var input = registry.GetDescriptors(services).Single(d => d.TypeName == "Test.PickChannel").Inputs.Single();
        Assert.Equal(InputUIHints.DropDown, input.UIHint);
        return input.UISpecifications?["dropdown"]?["selectList"]?["items"]?.AsArray().Select(i => i!["value"]!.GetValue<string>()).ToArray() ?? [];
    }

    [Fact]
    public void Drop_down_choices_come_from_the_hosts_services_each_time_descriptors_are_built()
    {
        var registry = new ActivityRegistry();
        registry.Register<PickChannel>();

        using (var one = new ServiceCollection().AddSingleton(new ConfiguredChannels(["sms-a"])).BuildServiceProvider())
            Assert.Equal(["Auto", "sms-a"], DropDownValues(registry, one));
        using (var two = new ServiceCollection().AddSingleton(new ConfiguredChannels(["sms-a", "sms-b"])).BuildServiceProvider())
            Assert.Equal(["Auto", "sms-a", "sms-b"], DropDownValues(registry, two));

        Assert.Empty(DropDownValues(registry, services: null));
    }
}
