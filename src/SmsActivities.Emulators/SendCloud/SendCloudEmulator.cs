using Microsoft.AspNetCore.Routing;
using SmsActivities.Vendors;

namespace SmsActivities.Emulators.SendCloud;

// Placeholder until the SendCloud emulator lands: it mounts no routes yet.
public sealed class SendCloudEmulator(EmulatorContext context) : IVendorEmulator, IScriptedEmulator
{
    public string Vendor => VendorNames.SendCloud;
    public DeliveryScript Script { get; } = new();
    public EmulatorContext Context { get; } = context;
    public void Map(IEndpointRouteBuilder routes) { }
    public void InjectReply(HandsetReply reply) { }
}
