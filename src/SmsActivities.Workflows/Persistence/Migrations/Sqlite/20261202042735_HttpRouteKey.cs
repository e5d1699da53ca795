using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SmsActivities.Workflows.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class HttpRouteKey : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "RouteKey",
                table: "Triggers",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "RouteKey",
                table: "Bookmarks",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_Triggers_RouteKey",
                table: "Triggers",
                column: "RouteKey");

            migrationBuilder.CreateIndex(
                name: "IX_Bookmarks_RouteKey",
                table: "Bookmarks",
                column: "RouteKey");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Triggers_RouteKey",
                table: "Triggers");

            migrationBuilder.DropIndex(
                name: "IX_Bookmarks_RouteKey",
                table: "Bookmarks");

            migrationBuilder.DropColumn(
                name: "RouteKey",
                table: "Triggers");

            migrationBuilder.DropColumn(
                name: "RouteKey",
                table: "Bookmarks");
        }
    }
}
