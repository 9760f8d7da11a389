using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Tasks.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class MonitorSnapshots : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "monitor_alerts",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    kind = table.Column<string>(type: "character varying(50)", maxLength: 50, nullable: false),
                    subject = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    ended_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    detail = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_monitor_alerts", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "monitor_snapshots",
                columns: table => new
                {
                    at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    interval_seconds = table.Column<double>(type: "double precision", nullable: false),
                    duration_ms = table.Column<double>(type: "double precision", nullable: false),
                    workers_online = table.Column<int>(type: "integer", nullable: false),
                    workers_offline = table.Column<int>(type: "integer", nullable: false),
                    workers_stopped = table.Column<int>(type: "integer", nullable: false),
                    started = table.Column<long>(type: "bigint", nullable: false),
                    succeeded = table.Column<long>(type: "bigint", nullable: false),
                    failed = table.Column<long>(type: "bigint", nullable: false),
                    retried = table.Column<long>(type: "bigint", nullable: false),
                    outbox_pending = table.Column<long>(type: "bigint", nullable: false),
                    outbox_oldest_seconds = table.Column<double>(type: "double precision", nullable: true),
                    scheduled = table.Column<long>(type: "bigint", nullable: false),
                    workers = table.Column<string>(type: "jsonb", nullable: false),
                    states = table.Column<string>(type: "jsonb", nullable: false),
                    names = table.Column<string>(type: "jsonb", nullable: false),
                    queues = table.Column<string>(type: "jsonb", nullable: false),
                    baseline = table.Column<string>(type: "jsonb", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_monitor_snapshots", x => x.at);
                });

            migrationBuilder.CreateIndex(
                name: "ix_monitor_alerts_ended",
                table: "monitor_alerts",
                column: "ended_at",
                filter: "ended_at IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_monitor_alerts_open",
                table: "monitor_alerts",
                columns: new[] { "kind", "subject" },
                unique: true,
                filter: "ended_at IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_monitor_alerts_started_at_id",
                table: "monitor_alerts",
                columns: new[] { "started_at", "id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "monitor_alerts");

            migrationBuilder.DropTable(
                name: "monitor_snapshots");
        }
    }
}
