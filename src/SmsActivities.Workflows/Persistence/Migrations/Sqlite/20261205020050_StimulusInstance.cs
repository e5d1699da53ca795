using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SmsActivities.Workflows.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class StimulusInstance : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "InstanceId",
                table: "Stimuli",
                type: "TEXT",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "InstanceId",
                table: "Stimuli");
        }
    }
}
