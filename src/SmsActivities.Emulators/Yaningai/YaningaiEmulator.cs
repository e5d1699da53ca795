using Microsoft.AspNetCore.Routing;
using SmsActivities.Vendors;

namespace SmsActivities.Emulators.Yaningai;

// Placeholder until the Yaningai emulator lands: it mounts no routes yet.
public sealed class YaningaiEmulator(EmulatorContext context) : IVendorEmulator, IScriptedEmulator
{
    public string Vendor => VendorNames.Yaningai;
    public DeliveryScript Script { get; } = new();
    public EmulatorContext Context { get; } = context;
    public void Map(IEndpointRouteBuilder routes) { }
    public void InjectReply(HandsetReply reply) { }
}
