using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tasks.Core.Data.Migrations
{
    /// <summary>
    /// <c>task_attempts</c>: the attempts of a task that ended other than in success, written by the moves that end
    /// them. A task's attempts leave with it through a statement-level delete trigger on <c>tasks</c> (as its
    /// task_lookup row does) rather than a foreign key, whose checks would run on every update of a task.
    /// See docs/design.md#attempt-history-issue-29.
    /// </summary>
    public partial class Attempts : Migration
    {
        private const string ForgetAttempts =
            """
            CREATE FUNCTION task_attempts_forget() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    DELETE FROM task_attempts a USING old_rows o WHERE a.task_id = o.id;
                ELSE
                    TRUNCATE task_attempts;
                END IF;
                RETURN NULL;
            END $$;

            CREATE TRIGGER task_attempts_delete AFTER DELETE ON tasks
                REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION task_attempts_forget();
            CREATE TRIGGER task_attempts_truncate AFTER TRUNCATE ON tasks
                FOR EACH STATEMENT EXECUTE FUNCTION task_attempts_forget();
            """;

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "task_attempts",
                columns: table => new
                {
                    task_id = table.Column<Guid>(type: "uuid", nullable: false),
                    attempt = table.Column<int>(type: "integer", nullable: false),
                    worker = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: true),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    ended_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    outcome = table.Column<string>(type: "text", nullable: false),
                    error = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_task_attempts", x => new { x.task_id, x.attempt });
                });

            migrationBuilder.Sql(ForgetAttempts);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                """
                DROP TRIGGER task_attempts_delete ON tasks;
                DROP TRIGGER task_attempts_truncate ON tasks;
                DROP FUNCTION task_attempts_forget();
                """);
            migrationBuilder.DropTable(
                name: "task_attempts");
        }
    }
}
