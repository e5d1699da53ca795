using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SmsActivities.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class PushInbox : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "sms_push_inbox",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Events = table.Column<string>(type: "TEXT", nullable: false),
                    ReceivedAtTicks = table.Column<long>(type: "INTEGER", nullable: false),
                    DueAtTicks = table.Column<long>(type: "INTEGER", nullable: false),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false),
                    Error = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_push_inbox", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_sms_push_inbox_DueAtTicks",
                table: "sms_push_inbox",
                column: "DueAtTicks");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "sms_push_inbox");
        }
    }
}
