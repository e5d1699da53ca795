using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SmsActivities.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ReportWaits : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "sms_report_waits",
                schema: "sms",
                columns: table => new
                {
                    Vendor = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    MessageId = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    WaitedAtTicks = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_report_waits", x => new { x.Vendor, x.MessageId });
                });

            migrationBuilder.CreateIndex(
                name: "IX_sms_report_waits_WaitedAtTicks",
                schema: "sms",
                table: "sms_report_waits",
                column: "WaitedAtTicks");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "sms_report_waits",
                schema: "sms");
        }
    }
}
