using SmsActivities.Emulators;
using SmsActivities.Emulators.Smtp;

// Standalone: all four vendor emulators on one port, each under /{vendor}/, and the SMTP emulator on its own port
// (plain SMTP, no login; its mailboxes at /_mailbox/{address}/messages).
//   dotnet run --project src/SmsActivities.Emulators -- --urls http://127.0.0.1:5080 [--time-scale 0.01] [--smtp-port 2525]
var builder = WebApplication.CreateSlimBuilder(args);
var app = builder.Build();
await using var set = new EmulatorSet(TimeProvider.System, app.Services.GetRequiredService<ILoggerFactory>());
set.Clock.Scale = app.Configuration.GetValue("time-scale", 1.0);
await using var smtp = SmtpEmulator.Start(time: TimeProvider.System, logger: app.Logger, port: app.Configuration.GetValue("smtp-port", 2525));
app.UseVendorEmulators(set);
app.MapVendorEmulators(set);
app.MapSmtpMailbox(smtp);
app.Logger.LogInformation("Vendor emulators: {Vendors}; SMTP emulator: {Host}:{Port}", string.Join(", ", set.All.Select(e => "/" + e.Vendor + "/")), smtp.Host, smtp.Port);
await app.RunAsync();
