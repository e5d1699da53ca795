using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace SmsActivities.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.EnsureSchema(
                name: "sms");

            migrationBuilder.CreateTable(
                name: "sms_opt_outs",
                schema: "sms",
                columns: table => new
                {
                    Mobile = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    Reason = table.Column<string>(type: "text", nullable: true),
                    Vendor = table.Column<string>(type: "text", nullable: true),
                    AtTicks = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_opt_outs", x => x.Mobile);
                });

            migrationBuilder.CreateTable(
                name: "sms_otp_challenges",
                schema: "sms",
                columns: table => new
                {
                    Id = table.Column<string>(type: "character varying(36)", maxLength: 36, nullable: false),
                    Mobile = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    Purpose = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Salt = table.Column<byte[]>(type: "bytea", nullable: false),
                    CodeHash = table.Column<byte[]>(type: "bytea", nullable: false),
                    CreatedAtTicks = table.Column<long>(type: "bigint", nullable: false),
                    ExpiresAtTicks = table.Column<long>(type: "bigint", nullable: false),
                    Attempts = table.Column<int>(type: "integer", nullable: false),
                    Consumed = table.Column<bool>(type: "boolean", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_otp_challenges", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "sms_rate_events",
                schema: "sms",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Key = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    AtTicks = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_rate_events", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "sms_send_outcomes",
                schema: "sms",
                columns: table => new
                {
                    IdempotencyKey = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    Outputs = table.Column<byte[]>(type: "bytea", nullable: false),
                    CreatedAtTicks = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_send_outcomes", x => x.IdempotencyKey);
                });

            migrationBuilder.CreateTable(
                name: "sms_send_records",
                schema: "sms",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Vendor = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    MessageId = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    Mobile = table.Column<string>(type: "text", nullable: false),
                    InstanceId = table.Column<string>(type: "text", nullable: true),
                    ActivityId = table.Column<string>(type: "text", nullable: true),
                    IdempotencyKey = table.Column<string>(type: "text", nullable: true),
                    Accepted = table.Column<bool>(type: "boolean", nullable: false),
                    Status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Error = table.Column<string>(type: "text", nullable: true),
                    CreatedAtTicks = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_send_records", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "sms_webhook_keys",
                schema: "sms",
                columns: table => new
                {
                    Key = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    BodyHash = table.Column<byte[]>(type: "bytea", nullable: false),
                    KeepUntilTicks = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_webhook_keys", x => x.Key);
                });

            migrationBuilder.CreateIndex(
                name: "IX_sms_otp_challenges_Mobile_Purpose_CreatedAtTicks",
                schema: "sms",
                table: "sms_otp_challenges",
                columns: new[] { "Mobile", "Purpose", "CreatedAtTicks" });

            migrationBuilder.CreateIndex(
                name: "IX_sms_rate_events_Key_AtTicks",
                schema: "sms",
                table: "sms_rate_events",
                columns: new[] { "Key", "AtTicks" });

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_IdempotencyKey",
                schema: "sms",
                table: "sms_send_records",
                column: "IdempotencyKey");

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_InstanceId_ActivityId",
                schema: "sms",
                table: "sms_send_records",
                columns: new[] { "InstanceId", "ActivityId" });

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_Vendor_MessageId",
                schema: "sms",
                table: "sms_send_records",
                columns: new[] { "Vendor", "MessageId" });

            migrationBuilder.CreateIndex(
                name: "IX_sms_webhook_keys_KeepUntilTicks",
                schema: "sms",
                table: "sms_webhook_keys",
                column: "KeepUntilTicks");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "sms_opt_outs",
                schema: "sms");

            migrationBuilder.DropTable(
                name: "sms_otp_challenges",
                schema: "sms");

            migrationBuilder.DropTable(
                name: "sms_rate_events",
                schema: "sms");

            migrationBuilder.DropTable(
                name: "sms_send_outcomes",
                schema: "sms");

            migrationBuilder.DropTable(
                name: "sms_send_records",
                schema: "sms");

            migrationBuilder.DropTable(
                name: "sms_webhook_keys",
                schema: "sms");
        }
    }
}
