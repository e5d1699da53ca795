using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SmsActivities.Workflows.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class HttpRouteKey : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "RouteKey",
                schema: "workflows",
                table: "Triggers",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "RouteKey",
                schema: "workflows",
                table: "Bookmarks",
                type: "text",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_Triggers_RouteKey",
                schema: "workflows",
                table: "Triggers",
                column: "RouteKey");

            migrationBuilder.CreateIndex(
                name: "IX_Bookmarks_RouteKey",
                schema: "workflows",
                table: "Bookmarks",
                column: "RouteKey");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Triggers_RouteKey",
                schema: "workflows",
                table: "Triggers");

            migrationBuilder.DropIndex(
                name: "IX_Bookmarks_RouteKey",
                schema: "workflows",
                table: "Bookmarks");

            migrationBuilder.DropColumn(
                name: "RouteKey",
                schema: "workflows",
                table: "Triggers");

            migrationBuilder.DropColumn(
                name: "RouteKey",
                schema: "workflows",
                table: "Bookmarks");
        }
    }
}
