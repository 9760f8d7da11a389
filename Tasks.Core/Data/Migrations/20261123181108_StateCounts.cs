using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tasks.Core.Data.Migrations
{
    /// <summary>
    /// Counts by state without counting: statement triggers on <c>tasks</c> add each statement's net change per
    /// state to <c>task_state_counts</c>, in a row of the writing backend's own (slot = its pid), so writers never
    /// wait on each other or deadlock over a counter. <see cref="Queries.TaskQueries.CountByStateAsync"/> sums the
    /// rows; the relay folds them into slot 0 now and then (<see cref="Lifecycle.TaskStateMachine.FoldStateCountsAsync"/>).
    /// </summary>
    public partial class StateCounts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                """
                CREATE TABLE task_state_counts (
                    state text NOT NULL,
                    slot integer NOT NULL,
                    n bigint NOT NULL,
                    PRIMARY KEY (state, slot)
                );

                CREATE FUNCTION task_state_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'INSERT' THEN
                        INSERT INTO task_state_counts AS c (state, slot, n)
                        SELECT state, pg_backend_pid(), count(*) FROM new_rows GROUP BY state
                        ON CONFLICT (state, slot) DO UPDATE SET n = c.n + excluded.n;
                    ELSIF TG_OP = 'DELETE' THEN
                        INSERT INTO task_state_counts AS c (state, slot, n)
                        SELECT state, pg_backend_pid(), -count(*) FROM old_rows GROUP BY state
                        ON CONFLICT (state, slot) DO UPDATE SET n = c.n + excluded.n;
                    ELSE
                        INSERT INTO task_state_counts AS c (state, slot, n)
                        SELECT state, pg_backend_pid(), sum(d)
                        FROM (SELECT state, -1 AS d FROM old_rows UNION ALL SELECT state, 1 FROM new_rows) moves
                        GROUP BY state HAVING sum(d) <> 0
                        ON CONFLICT (state, slot) DO UPDATE SET n = c.n + excluded.n;
                    END IF;
                    RETURN NULL;
                END $$;

                CREATE FUNCTION task_state_counts_clear() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    DELETE FROM task_state_counts;
                    RETURN NULL;
                END $$;

                CREATE TRIGGER task_state_counts_insert AFTER INSERT ON tasks
                    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_state_counts_add();
                CREATE TRIGGER task_state_counts_update AFTER UPDATE ON tasks
                    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION task_state_counts_add();
                CREATE TRIGGER task_state_counts_delete AFTER DELETE ON tasks
                    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION task_state_counts_add();
                CREATE TRIGGER task_state_counts_truncate AFTER TRUNCATE ON tasks
                    FOR EACH STATEMENT EXECUTE FUNCTION task_state_counts_clear();

                INSERT INTO task_state_counts (state, slot, n) SELECT state, 0, count(*) FROM tasks GROUP BY state;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                """
                DROP TRIGGER task_state_counts_truncate ON tasks;
                DROP TRIGGER task_state_counts_delete ON tasks;
                DROP TRIGGER task_state_counts_update ON tasks;
                DROP TRIGGER task_state_counts_insert ON tasks;
                DROP FUNCTION task_state_counts_clear();
                DROP FUNCTION task_state_counts_add();
                DROP TABLE task_state_counts;
                """);
        }
    }
}
