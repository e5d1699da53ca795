using Microsoft.AspNetCore.Routing;
using SmsActivities.Vendors;

namespace SmsActivities.Emulators.Yunpian;

// Placeholder until the Yunpian emulator lands: it mounts no routes yet.
public sealed class YunpianEmulator(EmulatorContext context) : IVendorEmulator, IScriptedEmulator
{
    public string Vendor => VendorNames.Yunpian;
    public DeliveryScript Script { get; } = new();
    public EmulatorContext Context { get; } = context;
    public void Map(IEndpointRouteBuilder routes) { }
    public void InjectReply(HandsetReply reply) { }
}
