using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tasks.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class Schedules : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "schedules",
                columns: table => new
                {
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    definition = table.Column<string>(type: "text", nullable: false),
                    source = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    paused = table.Column<bool>(type: "boolean", nullable: false),
                    cadence = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    since = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_schedules", x => x.name);
                });

            migrationBuilder.CreateIndex(
                name: "ix_schedules_cadence",
                table: "schedules",
                column: "cadence");

            // Schedules kept before this migration as Quartz jobs of their own (group "schedules", the definition and
            // source in the job's data as JSON strings) move here; their cadence is left empty for the schedulers'
            // start-up to fill in (ScheduleStore.SyncCadencesAsync), which also stores the cadences' triggers.
            migrationBuilder.Sql(
                """
                INSERT INTO schedules (name, definition, source, paused, cadence)
                SELECT j.job_name, convert_from(j.job_data, 'UTF8')::jsonb ->> 'definition',
                       coalesce(convert_from(j.job_data, 'UTF8')::jsonb ->> 'source', 'api'), coalesce(t.trigger_state = 'PAUSED', false), ''
                FROM quartz.qrtz_job_details j
                LEFT JOIN quartz.qrtz_triggers t ON t.sched_name = j.sched_name AND t.job_name = j.job_name AND t.job_group = j.job_group
                WHERE j.job_group = 'schedules' AND convert_from(j.job_data, 'UTF8')::jsonb ? 'definition';
                DELETE FROM quartz.qrtz_fired_triggers WHERE job_group = 'schedules';
                DELETE FROM quartz.qrtz_cron_triggers WHERE trigger_group = 'schedules';
                DELETE FROM quartz.qrtz_simple_triggers WHERE trigger_group = 'schedules';
                DELETE FROM quartz.qrtz_simprop_triggers WHERE trigger_group = 'schedules';
                DELETE FROM quartz.qrtz_blob_triggers WHERE trigger_group = 'schedules';
                DELETE FROM quartz.qrtz_triggers WHERE trigger_group = 'schedules';
                DELETE FROM quartz.qrtz_paused_trigger_grps WHERE trigger_group = 'schedules';
                DELETE FROM quartz.qrtz_job_details WHERE job_group = 'schedules';
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "schedules");
        }
    }
}
