using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SmsActivities.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "sms_opt_outs",
                columns: table => new
                {
                    Mobile = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    Reason = table.Column<string>(type: "TEXT", nullable: true),
                    Vendor = table.Column<string>(type: "TEXT", nullable: true),
                    AtTicks = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_opt_outs", x => x.Mobile);
                });

            migrationBuilder.CreateTable(
                name: "sms_otp_challenges",
                columns: table => new
                {
                    Id = table.Column<string>(type: "TEXT", maxLength: 36, nullable: false),
                    Mobile = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    Purpose = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Salt = table.Column<byte[]>(type: "BLOB", nullable: false),
                    CodeHash = table.Column<byte[]>(type: "BLOB", nullable: false),
                    CreatedAtTicks = table.Column<long>(type: "INTEGER", nullable: false),
                    ExpiresAtTicks = table.Column<long>(type: "INTEGER", nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    Consumed = table.Column<bool>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_otp_challenges", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "sms_rate_events",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Key = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    AtTicks = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_rate_events", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "sms_send_outcomes",
                columns: table => new
                {
                    IdempotencyKey = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Outputs = table.Column<byte[]>(type: "BLOB", nullable: false),
                    CreatedAtTicks = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_send_outcomes", x => x.IdempotencyKey);
                });

            migrationBuilder.CreateTable(
                name: "sms_send_records",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Vendor = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    MessageId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: true),
                    Mobile = table.Column<string>(type: "TEXT", nullable: false),
                    InstanceId = table.Column<string>(type: "TEXT", nullable: true),
                    ActivityId = table.Column<string>(type: "TEXT", nullable: true),
                    IdempotencyKey = table.Column<string>(type: "TEXT", nullable: true),
                    Accepted = table.Column<bool>(type: "INTEGER", nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Error = table.Column<string>(type: "TEXT", nullable: true),
                    CreatedAtTicks = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_send_records", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "sms_webhook_keys",
                columns: table => new
                {
                    Key = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    BodyHash = table.Column<byte[]>(type: "BLOB", nullable: false),
                    KeepUntilTicks = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_webhook_keys", x => x.Key);
                });

            migrationBuilder.CreateIndex(
                name: "IX_sms_otp_challenges_Mobile_Purpose_CreatedAtTicks",
                table: "sms_otp_challenges",
                columns: new[] { "Mobile", "Purpose", "CreatedAtTicks" });

            migrationBuilder.CreateIndex(
                name: "IX_sms_rate_events_Key_AtTicks",
                table: "sms_rate_events",
                columns: new[] { "Key", "AtTicks" });

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_IdempotencyKey",
                table: "sms_send_records",
                column: "IdempotencyKey");

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_InstanceId_ActivityId",
                table: "sms_send_records",
                columns: new[] { "InstanceId", "ActivityId" });

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_Vendor_MessageId",
                table: "sms_send_records",
                columns: new[] { "Vendor", "MessageId" });

            migrationBuilder.CreateIndex(
                name: "IX_sms_webhook_keys_KeepUntilTicks",
                table: "sms_webhook_keys",
                column: "KeepUntilTicks");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "sms_opt_outs");

            migrationBuilder.DropTable(
                name: "sms_otp_challenges");

            migrationBuilder.DropTable(
                name: "sms_rate_events");

            migrationBuilder.DropTable(
                name: "sms_send_outcomes");

            migrationBuilder.DropTable(
                name: "sms_send_records");

            migrationBuilder.DropTable(
                name: "sms_webhook_keys");
        }
    }
}
