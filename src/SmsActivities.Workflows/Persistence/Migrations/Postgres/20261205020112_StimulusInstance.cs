using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SmsActivities.Workflows.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class StimulusInstance : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "InstanceId",
                schema: "workflows",
                table: "Stimuli",
                type: "text",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "InstanceId",
                schema: "workflows",
                table: "Stimuli");
        }
    }
}
