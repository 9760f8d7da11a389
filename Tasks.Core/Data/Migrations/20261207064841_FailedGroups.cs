using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tasks.Core.Data.Migrations
{
    /// <summary>
    /// The failed view without reading the failed rows: statement triggers on <c>tasks</c> add each statement's net
    /// change of failed tasks per name and error's first line to <c>task_failed_groups</c>, in a row of the writing
    /// backend's own (slot = its pid, as the StateCounts migration does), with when a task last entered the group.
    /// <see cref="Queries.TaskQueries.FailedGroupsAsync"/> sums the rows; the relay folds them into slot 0
    /// (docs/design.md#failed-groups-without-reading-the-failed-rows-issue-29).
    /// </summary>
    public partial class FailedGroups : Migration
    {
        /// <summary>Each statement's net change of failed tasks per (name, error's first line), in the writer's own slot.</summary>
        private const string Summary =
            """
            CREATE TABLE task_failed_groups (
                name text NOT NULL,
                error text NOT NULL,
                slot integer NOT NULL,
                n bigint NOT NULL,
                last_failed_at timestamp with time zone
            );
            -- By the error's hash: a first line may be longer than a btree entry can hold.
            CREATE UNIQUE INDEX ix_task_failed_groups ON task_failed_groups (name, md5(error), slot);

            CREATE FUNCTION task_failed_groups_add() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    INSERT INTO task_failed_groups AS g (name, error, slot, n, last_failed_at)
                    SELECT name, split_part(coalesce(error, ''), E'\n', 1), pg_backend_pid(), count(*), max(finished_at)
                    FROM new_rows WHERE state = 'failed' GROUP BY 1, 2
                    ON CONFLICT (name, md5(error), slot) DO UPDATE
                        SET n = g.n + excluded.n, last_failed_at = greatest(g.last_failed_at, excluded.last_failed_at);
                ELSIF TG_OP = 'DELETE' THEN
                    INSERT INTO task_failed_groups AS g (name, error, slot, n)
                    SELECT name, split_part(coalesce(error, ''), E'\n', 1), pg_backend_pid(), -count(*)
                    FROM old_rows WHERE state = 'failed' GROUP BY 1, 2
                    ON CONFLICT (name, md5(error), slot) DO UPDATE SET n = g.n + excluded.n;
                -- Most updates neither enter nor leave failed (claims, marks, heartbeats): two scans of their few rows.
                ELSIF EXISTS (SELECT FROM new_rows WHERE state = 'failed') OR EXISTS (SELECT FROM old_rows WHERE state = 'failed') THEN
                    INSERT INTO task_failed_groups AS g (name, error, slot, n, last_failed_at)
                    SELECT name, line, pg_backend_pid(), sum(d), max(at)
                    FROM (SELECT name, split_part(coalesce(error, ''), E'\n', 1) AS line, -1 AS d, NULL::timestamptz AS at
                          FROM old_rows WHERE state = 'failed'
                          UNION ALL
                          SELECT name, split_part(coalesce(error, ''), E'\n', 1), 1, finished_at
                          FROM new_rows WHERE state = 'failed') moves
                    GROUP BY 1, 2 HAVING sum(d) <> 0
                    ON CONFLICT (name, md5(error), slot) DO UPDATE
                        SET n = g.n + excluded.n, last_failed_at = greatest(g.last_failed_at, excluded.last_failed_at);
                END IF;
                RETURN NULL;
            END $$;

            CREATE FUNCTION task_failed_groups_clear() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM task_failed_groups;
                RETURN NULL;
            END $$;

            CREATE TRIGGER task_failed_groups_insert AFTER INSERT ON tasks
                REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_failed_groups_add();
            CREATE TRIGGER task_failed_groups_update AFTER UPDATE ON tasks
                REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_failed_groups_add();
            CREATE TRIGGER task_failed_groups_delete AFTER DELETE ON tasks
                REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION task_failed_groups_add();
            CREATE TRIGGER task_failed_groups_truncate AFTER TRUNCATE ON tasks
                FOR EACH STATEMENT EXECUTE FUNCTION task_failed_groups_clear();
            """;

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // No task may fail or leave failed between the count below and the triggers that take over from it.
            migrationBuilder.Sql("LOCK TABLE tasks IN SHARE ROW EXCLUSIVE MODE;");
            migrationBuilder.Sql(Summary);
            migrationBuilder.Sql(
                """
                INSERT INTO task_failed_groups (name, error, slot, n, last_failed_at)
                SELECT name, split_part(coalesce(error, ''), E'\n', 1), 0, count(*), max(finished_at)
                FROM tasks WHERE state = 'failed' GROUP BY 1, 2;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                """
                DROP TRIGGER task_failed_groups_truncate ON tasks;
                DROP TRIGGER task_failed_groups_delete ON tasks;
                DROP TRIGGER task_failed_groups_update ON tasks;
                DROP TRIGGER task_failed_groups_insert ON tasks;
                DROP FUNCTION task_failed_groups_clear();
                DROP FUNCTION task_failed_groups_add();
                DROP TABLE task_failed_groups;
                """);
        }
    }
}
