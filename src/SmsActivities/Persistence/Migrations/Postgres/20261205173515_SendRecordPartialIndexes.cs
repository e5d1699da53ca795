using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SmsActivities.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class SendRecordPartialIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_sms_send_records_InstanceId_Status",
                schema: "sms",
                table: "sms_send_records");

            migrationBuilder.DropIndex(
                name: "IX_sms_send_records_Vendor_MessageId",
                schema: "sms",
                table: "sms_send_records");

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_InstanceId_Problems",
                schema: "sms",
                table: "sms_send_records",
                column: "InstanceId",
                filter: "\"Status\" IN ('Rejected', 'InDoubt')");

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_Vendor_MessageId",
                schema: "sms",
                table: "sms_send_records",
                columns: new[] { "Vendor", "MessageId" },
                filter: "\"MessageId\" IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_sms_send_records_InstanceId_Problems",
                schema: "sms",
                table: "sms_send_records");

            migrationBuilder.DropIndex(
                name: "IX_sms_send_records_Vendor_MessageId",
                schema: "sms",
                table: "sms_send_records");

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_InstanceId_Status",
                schema: "sms",
                table: "sms_send_records",
                columns: new[] { "InstanceId", "Status" });

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_Vendor_MessageId",
                schema: "sms",
                table: "sms_send_records",
                columns: new[] { "Vendor", "MessageId" });
        }
    }
}
