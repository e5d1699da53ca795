using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace SmsActivities.Workflows.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class DeliveryStimulusIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "SchemaVersion",
                schema: "workflows");

            migrationBuilder.CreateIndex(
                name: "IX_StimulusDeliveries_StimulusId",
                schema: "workflows",
                table: "StimulusDeliveries",
                column: "StimulusId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_StimulusDeliveries_StimulusId",
                schema: "workflows",
                table: "StimulusDeliveries");

            migrationBuilder.CreateTable(
                name: "SchemaVersion",
                schema: "workflows",
                columns: table => new
                {
                    Id = table.Column<int>(type: "integer", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Version = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_SchemaVersion", x => x.Id);
                });
        }
    }
}
