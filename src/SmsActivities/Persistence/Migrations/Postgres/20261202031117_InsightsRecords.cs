using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SmsActivities.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class InsightsRecords : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "Attempts",
                schema: "sms",
                table: "sms_send_records",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "DefinitionId",
                schema: "sms",
                table: "sms_send_records",
                type: "character varying(128)",
                maxLength: 128,
                nullable: true);

            migrationBuilder.AddColumn<decimal>(
                name: "Fee",
                schema: "sms",
                table: "sms_send_records",
                type: "numeric",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "OptedOut",
                schema: "sms",
                table: "sms_send_records",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<long>(
                name: "RepliedAtTicks",
                schema: "sms",
                table: "sms_send_records",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "VendorCode",
                schema: "sms",
                table: "sms_send_records",
                type: "character varying(64)",
                maxLength: 64,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "sms_delivery_reports",
                schema: "sms",
                columns: table => new
                {
                    Vendor = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    MessageId = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    Status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Code = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    ReceivedAtTicks = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_delivery_reports", x => new { x.Vendor, x.MessageId });
                });

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_CreatedAtTicks",
                schema: "sms",
                table: "sms_send_records",
                column: "CreatedAtTicks");

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_Mobile",
                schema: "sms",
                table: "sms_send_records",
                column: "Mobile");

            migrationBuilder.CreateIndex(
                name: "IX_sms_delivery_reports_ReceivedAtTicks",
                schema: "sms",
                table: "sms_delivery_reports",
                column: "ReceivedAtTicks");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "sms_delivery_reports",
                schema: "sms");

            migrationBuilder.DropIndex(
                name: "IX_sms_send_records_CreatedAtTicks",
                schema: "sms",
                table: "sms_send_records");

            migrationBuilder.DropIndex(
                name: "IX_sms_send_records_Mobile",
                schema: "sms",
                table: "sms_send_records");

            migrationBuilder.DropColumn(
                name: "Attempts",
                schema: "sms",
                table: "sms_send_records");

            migrationBuilder.DropColumn(
                name: "DefinitionId",
                schema: "sms",
                table: "sms_send_records");

            migrationBuilder.DropColumn(
                name: "Fee",
                schema: "sms",
                table: "sms_send_records");

            migrationBuilder.DropColumn(
                name: "OptedOut",
                schema: "sms",
                table: "sms_send_records");

            migrationBuilder.DropColumn(
                name: "RepliedAtTicks",
                schema: "sms",
                table: "sms_send_records");

            migrationBuilder.DropColumn(
                name: "VendorCode",
                schema: "sms",
                table: "sms_send_records");
        }
    }
}
