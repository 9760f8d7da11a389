using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tasks.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class RelayPoisonRows : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<DateTimeOffset>(
                name: "updated_at",
                table: "tasks",
                type: "timestamp with time zone",
                nullable: false,
                defaultValueSql: "clock_timestamp()",
                oldClrType: typeof(DateTimeOffset),
                oldType: "timestamp with time zone");

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "publish_after",
                table: "tasks",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "publish_attempts",
                table: "tasks",
                type: "integer",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_tasks_queued",
                table: "tasks",
                column: "updated_at",
                filter: "state = 'queued'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_tasks_queued",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "publish_after",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "publish_attempts",
                table: "tasks");

            migrationBuilder.AlterColumn<DateTimeOffset>(
                name: "updated_at",
                table: "tasks",
                type: "timestamp with time zone",
                nullable: false,
                oldClrType: typeof(DateTimeOffset),
                oldType: "timestamp with time zone",
                oldDefaultValueSql: "clock_timestamp()");
        }
    }
}
