using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SmsActivities.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class InsightsRecords : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "Attempts",
                table: "sms_send_records",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "DefinitionId",
                table: "sms_send_records",
                type: "TEXT",
                maxLength: 128,
                nullable: true);

            migrationBuilder.AddColumn<decimal>(
                name: "Fee",
                table: "sms_send_records",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "OptedOut",
                table: "sms_send_records",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<long>(
                name: "RepliedAtTicks",
                table: "sms_send_records",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "VendorCode",
                table: "sms_send_records",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "sms_delivery_reports",
                columns: table => new
                {
                    Vendor = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    MessageId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Code = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    ReceivedAtTicks = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_delivery_reports", x => new { x.Vendor, x.MessageId });
                });

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_CreatedAtTicks",
                table: "sms_send_records",
                column: "CreatedAtTicks");

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_Mobile",
                table: "sms_send_records",
                column: "Mobile");

            migrationBuilder.CreateIndex(
                name: "IX_sms_delivery_reports_ReceivedAtTicks",
                table: "sms_delivery_reports",
                column: "ReceivedAtTicks");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "sms_delivery_reports");

            migrationBuilder.DropIndex(
                name: "IX_sms_send_records_CreatedAtTicks",
                table: "sms_send_records");

            migrationBuilder.DropIndex(
                name: "IX_sms_send_records_Mobile",
                table: "sms_send_records");

            migrationBuilder.DropColumn(
                name: "Attempts",
                table: "sms_send_records");

            migrationBuilder.DropColumn(
                name: "DefinitionId",
                table: "sms_send_records");

            migrationBuilder.DropColumn(
                name: "Fee",
                table: "sms_send_records");

            migrationBuilder.DropColumn(
                name: "OptedOut",
                table: "sms_send_records");

            migrationBuilder.DropColumn(
                name: "RepliedAtTicks",
                table: "sms_send_records");

            migrationBuilder.DropColumn(
                name: "VendorCode",
                table: "sms_send_records");
        }
    }
}
