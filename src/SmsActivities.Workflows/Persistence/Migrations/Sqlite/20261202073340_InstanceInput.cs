using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace SmsActivities.Workflows.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class InstanceInput : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "InputJson",
                table: "WorkflowInstances",
                type: "TEXT",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "InputJson",
                table: "WorkflowInstances");
        }
    }
}
