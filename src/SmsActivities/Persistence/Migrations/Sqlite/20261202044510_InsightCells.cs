using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SmsActivities.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class InsightCells : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "sms_insight_cells",
                columns: table => new
                {
                    InstanceId = table.Column<string>(type: "TEXT", nullable: false),
                    Minute = table.Column<long>(type: "INTEGER", nullable: false),
                    DefinitionId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    ActivityId = table.Column<string>(type: "TEXT", nullable: false),
                    Vendor = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    DeliveryStatus = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Code = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    LatencyBucket = table.Column<long>(type: "INTEGER", nullable: false),
                    Count = table.Column<int>(type: "INTEGER", nullable: false),
                    Replies = table.Column<int>(type: "INTEGER", nullable: false),
                    OptOuts = table.Column<int>(type: "INTEGER", nullable: false),
                    Failovers = table.Column<int>(type: "INTEGER", nullable: false),
                    FeeUnits = table.Column<long>(type: "INTEGER", nullable: false),
                    FirstTicks = table.Column<long>(type: "INTEGER", nullable: false),
                    LastTicks = table.Column<long>(type: "INTEGER", nullable: false),
                    LastReportTicks = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_insight_cells", x => new { x.InstanceId, x.Minute, x.DefinitionId, x.ActivityId, x.Vendor, x.Status, x.DeliveryStatus, x.Code, x.LatencyBucket });
                });

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_InstanceId_Status",
                table: "sms_send_records",
                columns: new[] { "InstanceId", "Status" });

            migrationBuilder.CreateIndex(
                name: "IX_sms_send_records_InstanceId_Vendor_Mobile",
                table: "sms_send_records",
                columns: new[] { "InstanceId", "Vendor", "Mobile" });

            migrationBuilder.CreateIndex(
                name: "IX_sms_insight_cells_Minute",
                table: "sms_insight_cells",
                column: "Minute");

            // The records sent before this version, summed into their cells (the same rules as InsightRollup.Contribution).
            migrationBuilder.Sql(@"
INSERT INTO sms_insight_cells (""InstanceId"", ""Minute"", ""DefinitionId"", ""ActivityId"", ""Vendor"", ""Status"", ""DeliveryStatus"", ""Code"", ""LatencyBucket"",
    ""Count"", ""Replies"", ""OptOuts"", ""Failovers"", ""FeeUnits"", ""FirstTicks"", ""LastTicks"", ""LastReportTicks"")
SELECT x.""InstanceId"", x.""Minute"", x.""DefinitionId"", x.""ActivityId"", x.""Vendor"", x.""Status"", x.""DeliveryStatus"", x.""Code"", x.""LatencyBucket"",
    COUNT(*), SUM(x.""Replied""), SUM(x.""Opted""), SUM(x.""Failover""), SUM(x.""FeeUnits""), MIN(x.""CreatedAtTicks""), MAX(x.""CreatedAtTicks""), MAX(x.""ReceivedAtTicks"")
FROM (
    SELECT COALESCE(r.""InstanceId"", '') AS ""InstanceId"", r.""CreatedAtTicks"" / 600000000 AS ""Minute"", COALESCE(r.""DefinitionId"", '') AS ""DefinitionId"",
        COALESCE(r.""ActivityId"", '') AS ""ActivityId"", r.""Vendor"" AS ""Vendor"",
        CASE WHEN r.""Status"" = 'Pending' THEN 'Queued' ELSE r.""Status"" END AS ""Status"",
        COALESCE(d.""Status"", '') AS ""DeliveryStatus"",
        COALESCE(CASE WHEN r.""Status"" = 'Rejected' THEN r.""VendorCode"" WHEN d.""Status"" = 'Failed' THEN d.""Code"" END, '') AS ""Code"",
        CASE WHEN r.""Status"" = 'Accepted' AND d.""Vendor"" IS NOT NULL THEN MAX(0, (d.""ReceivedAtTicks"" - r.""CreatedAtTicks"") / 1000000) ELSE -1 END AS ""LatencyBucket"",
        CASE WHEN r.""RepliedAtTicks"" IS NOT NULL THEN 1 ELSE 0 END AS ""Replied"",
        CASE WHEN r.""OptedOut"" THEN 1 ELSE 0 END AS ""Opted"",
        CASE WHEN r.""Attempts"" > 1 THEN 1 ELSE 0 END AS ""Failover"",
        CAST(ROUND(COALESCE(CAST(r.""Fee"" AS REAL), 0) * 100000000) AS INTEGER) AS ""FeeUnits"",
        r.""CreatedAtTicks"" AS ""CreatedAtTicks"", COALESCE(d.""ReceivedAtTicks"", 0) AS ""ReceivedAtTicks""
    FROM sms_send_records r
    LEFT JOIN sms_delivery_reports d ON d.""Vendor"" = r.""Vendor"" AND d.""MessageId"" = r.""MessageId""
    WHERE r.""Mobile"" NOT LIKE '%@%'
) x
GROUP BY x.""InstanceId"", x.""Minute"", x.""DefinitionId"", x.""ActivityId"", x.""Vendor"", x.""Status"", x.""DeliveryStatus"", x.""Code"", x.""LatencyBucket"";
");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "sms_insight_cells");

            migrationBuilder.DropIndex(
                name: "IX_sms_send_records_InstanceId_Status",
                table: "sms_send_records");

            migrationBuilder.DropIndex(
                name: "IX_sms_send_records_InstanceId_Vendor_Mobile",
                table: "sms_send_records");
        }
    }
}
