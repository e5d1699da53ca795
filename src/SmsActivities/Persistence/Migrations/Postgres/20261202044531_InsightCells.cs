using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SmsActivities.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class InsightCells : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "sms_insight_cells",
                schema: "sms",
                columns: table => new
                {
                    InstanceId = table.Column<string>(type: "text", nullable: false),
                    Minute = table.Column<long>(type: "bigint", nullable: false),
                    DefinitionId = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    ActivityId = table.Column<string>(type: "text", nullable: false),
                    Vendor = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    Status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    DeliveryStatus = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    Code = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    LatencyBucket = table.Column<long>(type: "bigint", nullable: false),
                    Count = table.Column<int>(type: "integer", nullable: false),
                    Replies = table.Column<int>(type: "integer", nullable: false),
                    OptOuts = table.Column<int>(type: "integer", nullable: false),
                    Failovers = table.Column<int>(type: "integer", nullable: false),
                    FeeUnits = table.Column<long>(type: "bigint", nullable: false),
                    FirstTicks = table.Column<long>(type: "bigint", nullable: false),
                    LastTicks = table.Column<long>(type: "bigint", nullable: false),
                    LastReportTicks = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_insight_cells", x => new { x.InstanceId, x.Minute, x.DefinitionId, x.ActivityId, x.Vendor, x.Status, x.DeliveryStatus, x.Code, x.LatencyBucket });
                });

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_InstanceId_Status",
                schema: "sms",
                table: "sms_send_records",
                columns: new[] { "InstanceId", "Status" });

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_InstanceId_Vendor_Mobile",
                schema: "sms",
                table: "sms_send_records",
                columns: new[] { "InstanceId", "Vendor", "Mobile" });

            migrationBuilder.CreateIndex(
                name: "IX_sms_insight_cells_Minute",
                schema: "sms",
                table: "sms_insight_cells",
                column: "Minute");

            // The records sent before this version, summed into their cells (the same rules as InsightRollup.Contribution).
            migrationBuilder.Sql(@"
INSERT INTO ""sms"".""sms_insight_cells"" (""InstanceId"", ""Minute"", ""DefinitionId"", ""ActivityId"", ""Vendor"", ""Status"", ""DeliveryStatus"", ""Code"", ""LatencyBucket"",
    ""Count"", ""Replies"", ""OptOuts"", ""Failovers"", ""FeeUnits"", ""FirstTicks"", ""LastTicks"", ""LastReportTicks"")
SELECT x.""InstanceId"", x.""Minute"", x.""DefinitionId"", x.""ActivityId"", x.""Vendor"", x.""Status"", x.""DeliveryStatus"", x.""Code"", x.""LatencyBucket"",
    COUNT(*), SUM(x.""Replied""), SUM(x.""Opted""), SUM(x.""Failover""), SUM(x.""FeeUnits""), MIN(x.""CreatedAtTicks""), MAX(x.""CreatedAtTicks""), MAX(x.""ReceivedAtTicks"")
FROM (
    SELECT COALESCE(r.""InstanceId"", '') AS ""InstanceId"", r.""CreatedAtTicks"" / 600000000 AS ""Minute"", COALESCE(r.""DefinitionId"", '') AS ""DefinitionId"",
        COALESCE(r.""ActivityId"", '') AS ""ActivityId"", r.""Vendor"" AS ""Vendor"",
        CASE WHEN r.""Status"" = 'Pending' THEN 'Queued' ELSE r.""Status"" END AS ""Status"",
        COALESCE(d.""Status"", '') AS ""DeliveryStatus"",
        COALESCE(CASE WHEN r.""Status"" = 'Rejected' THEN r.""VendorCode"" WHEN d.""Status"" = 'Failed' THEN d.""Code"" END, '') AS ""Code"",
        CASE WHEN r.""Status"" = 'Accepted' AND d.""Vendor"" IS NOT NULL THEN GREATEST(0, (d.""ReceivedAtTicks"" - r.""CreatedAtTicks"") / 1000000) ELSE -1 END AS ""LatencyBucket"",
        CASE WHEN r.""RepliedAtTicks"" IS NOT NULL THEN 1 ELSE 0 END AS ""Replied"",
        CASE WHEN r.""OptedOut"" THEN 1 ELSE 0 END AS ""Opted"",
        CASE WHEN r.""Attempts"" > 1 THEN 1 ELSE 0 END AS ""Failover"",
        CAST(ROUND(COALESCE(r.""Fee"", 0) * 100000000) AS bigint) AS ""FeeUnits"",
        r.""CreatedAtTicks"" AS ""CreatedAtTicks"", COALESCE(d.""ReceivedAtTicks"", 0) AS ""ReceivedAtTicks""
    FROM ""sms"".""sms_send_records"" r
    LEFT JOIN ""sms"".""sms_delivery_reports"" d ON d.""Vendor"" = r.""Vendor"" AND d.""MessageId"" = r.""MessageId""
    WHERE r.""Mobile"" NOT LIKE '%@%'
) x
GROUP BY x.""InstanceId"", x.""Minute"", x.""DefinitionId"", x.""ActivityId"", x.""Vendor"", x.""Status"", x.""DeliveryStatus"", x.""Code"", x.""LatencyBucket"";
");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "sms_insight_cells",
                schema: "sms");

            migrationBuilder.DropIndex(
                name: "IX_sms_send_records_InstanceId_Status",
                schema: "sms",
                table: "sms_send_records");

            migrationBuilder.DropIndex(
                name: "IX_sms_send_records_InstanceId_Vendor_Mobile",
                schema: "sms",
                table: "sms_send_records");
        }
    }
}
