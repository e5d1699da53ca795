using Microsoft.AspNetCore.Routing;
using SmsActivities.Vendors;

namespace SmsActivities.Emulators.Tencent;

// Placeholder until the Tencent emulator lands: it mounts no routes yet.
public sealed class TencentEmulator(EmulatorContext context) : IVendorEmulator, IScriptedEmulator
{
    public string Vendor => VendorNames.Tencent;
    public DeliveryScript Script { get; } = new();
    public EmulatorContext Context { get; } = context;
    public void Map(IEndpointRouteBuilder routes) { }
    public void InjectReply(HandsetReply reply) { }
}
