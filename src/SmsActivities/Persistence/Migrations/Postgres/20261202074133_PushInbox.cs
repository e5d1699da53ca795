using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace SmsActivities.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class PushInbox : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "sms_push_inbox",
                schema: "sms",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Events = table.Column<string>(type: "text", nullable: false),
                    ReceivedAtTicks = table.Column<long>(type: "bigint", nullable: false),
                    DueAtTicks = table.Column<long>(type: "bigint", nullable: false),
                    Attempts = table.Column<int>(type: "integer", nullable: false),
                    Error = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_sms_push_inbox", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_sms_push_inbox_DueAtTicks",
                schema: "sms",
                table: "sms_push_inbox",
                column: "DueAtTicks");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "sms_push_inbox",
                schema: "sms");
        }
    }
}
