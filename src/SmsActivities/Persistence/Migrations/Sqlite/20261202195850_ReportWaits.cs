using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SmsActivities.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ReportWaits : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "sms_report_waits",
                columns: table => new
                {
                    Vendor = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    MessageId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    WaitedAtTicks = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_report_waits", x => new { x.Vendor, x.MessageId });
                });

            migrationBuilder.CreateIndex(
                name: "IX_sms_report_waits_WaitedAtTicks",
                table: "sms_report_waits",
                column: "WaitedAtTicks");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "sms_report_waits");
        }
    }
}
