using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Tasks.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class ApiKeyScopes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_tasks_idempotency_key",
                table: "tasks");

            migrationBuilder.AddColumn<Guid>(
                name: "api_key_id",
                table: "tasks",
                type: "uuid",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "scope",
                table: "api_keys",
                type: "character varying(16)",
                maxLength: 16,
                nullable: false,
                defaultValue: "admin");

            // The keys there are could do everything before scopes existed, so they stay admin (above). A key
            // added by hand in SQL from now on gets the least scope; the app always names one.
            migrationBuilder.Sql("ALTER TABLE api_keys ALTER COLUMN scope SET DEFAULT 'read';");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_idempotency_key_api_key_id",
                table: "tasks",
                columns: new[] { "idempotency_key", "api_key_id" },
                unique: true,
                filter: "idempotency_key IS NOT NULL")
                .Annotation("Npgsql:NullsDistinct", false);

            migrationBuilder.AddCheckConstraint(
                name: "ck_api_keys_scope",
                table: "api_keys",
                sql: "scope IN ('read', 'enqueue', 'admin')");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_tasks_idempotency_key_api_key_id",
                table: "tasks");

            migrationBuilder.DropCheckConstraint(
                name: "ck_api_keys_scope",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "api_key_id",
                table: "tasks");

            migrationBuilder.DropColumn(
                name: "scope",
                table: "api_keys");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_idempotency_key",
                table: "tasks",
                column: "idempotency_key",
                unique: true,
                filter: "idempotency_key IS NOT NULL");
        }
    }
}
