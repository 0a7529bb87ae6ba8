/// Versioned schema changes, applied in order at start-up and recorded in
/// `schema_migrations`. Never edit a released migration: add a new one.
///
/// The SQL is the common subset of SQLite and PostgreSQL (TEXT, BIGINT, epoch
/// milliseconds for times, 0/1 for flags) so both stores run the same statements.
/// The one thing they spell differently, an auto-increment key, is written
/// `{{SERIAL_PK}}` and filled in per database.
struct Migration: Sendable {
    var version: Int
    var name: String
    var statements: [String]

    func statements(for backend: String) -> [String] {
        let serial = backend == "postgres" ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"
        return statements.map { $0.replacingOccurrences(of: "{{SERIAL_PK}}", with: serial) }
    }
}

enum Migrations {
    static let all: [Migration] = [
        Migration(version: 1, name: "fleet registry", statements: [
            """
            CREATE TABLE activations (
                id TEXT PRIMARY KEY,
                code_hash TEXT NOT NULL,
                registration_limit BIGINT NOT NULL,
                registrations_count BIGINT NOT NULL DEFAULT 0,
                expires_at BIGINT NOT NULL,
                default_instance_name TEXT,
                description TEXT,
                tags_json TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                deleted_at BIGINT
            )
            """,
            """
            CREATE TABLE instances (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                activation_id TEXT NOT NULL,
                registered_at BIGINT NOT NULL,
                state TEXT NOT NULL,
                deregistered_at BIGINT,
                certificate_serial TEXT NOT NULL,
                certificate_not_after BIGINT NOT NULL,
                ping_status TEXT NOT NULL,
                last_ping_at BIGINT,
                agent_version TEXT,
                platform_name TEXT,
                platform_version TEXT,
                hostname TEXT,
                ip_address TEXT
            )
            """,
            "CREATE INDEX instances_state ON instances (state)",
            """
            CREATE TABLE instance_tags (
                instance_id TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
                tag_key TEXT NOT NULL,
                tag_value TEXT NOT NULL,
                PRIMARY KEY (instance_id, tag_key)
            )
            """,
            """
            CREATE TABLE api_tokens (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                role TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL,
                revoked_at BIGINT
            )
            """,
        ]),
        Migration(version: 2, name: "command documents", statements: [
            """
            CREATE TABLE documents (
                name TEXT NOT NULL,
                version BIGINT NOT NULL,
                content TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                deleted_at BIGINT,
                PRIMARY KEY (name, version)
            )
            """,
        ]),
        Migration(version: 3, name: "certificate renewal overlap", statements: [
            "ALTER TABLE instances ADD COLUMN previous_certificate_serial TEXT",
        ]),
        Migration(version: 4, name: "run command", statements: [
            """
            CREATE TABLE commands (
                id TEXT PRIMARY KEY,
                document_name TEXT NOT NULL,
                document_version BIGINT NOT NULL,
                parameters_json TEXT NOT NULL,
                targets_json TEXT NOT NULL,
                steps_json TEXT NOT NULL,
                max_concurrency TEXT NOT NULL,
                max_errors TEXT NOT NULL,
                delivery_timeout_seconds BIGINT NOT NULL,
                comment TEXT,
                created_at BIGINT NOT NULL,
                created_by TEXT,
                cancel_requested_at BIGINT,
                status TEXT NOT NULL,
                status_details TEXT NOT NULL,
                target_count BIGINT NOT NULL,
                completed_count BIGINT NOT NULL,
                error_count BIGINT NOT NULL,
                delivery_timed_out_count BIGINT NOT NULL,
                finished_at BIGINT
            )
            """,
            "CREATE INDEX commands_created ON commands (created_at)",
            "CREATE INDEX commands_status ON commands (status)",
            """
            CREATE TABLE invocations (
                command_id TEXT NOT NULL REFERENCES commands(id) ON DELETE CASCADE,
                instance_id TEXT NOT NULL,
                position BIGINT NOT NULL,
                status TEXT NOT NULL,
                status_details TEXT NOT NULL,
                response_code BIGINT,
                stdout TEXT NOT NULL DEFAULT '',
                stderr TEXT NOT NULL DEFAULT '',
                output_blob TEXT,
                attempts BIGINT NOT NULL DEFAULT 0,
                sent_at BIGINT,
                started_at BIGINT,
                ended_at BIGINT,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (command_id, instance_id)
            )
            """,
            "CREATE INDEX invocations_instance_status ON invocations (instance_id, status)",
            "CREATE INDEX invocations_status ON invocations (status)",
            """
            CREATE TABLE events (
                seq {{SERIAL_PK}},
                at BIGINT NOT NULL,
                command_id TEXT NOT NULL,
                instance_id TEXT,
                status TEXT NOT NULL,
                status_details TEXT NOT NULL
            )
            """,
        ]),
        Migration(version: 5, name: "step payloads", statements: [
            // The structured results an invocation's steps reported (JSON, NULL: none).
            "ALTER TABLE invocations ADD COLUMN payloads_json TEXT",
        ]),
        Migration(version: 6, name: "replica-safe delivery", statements: [
            // The replica that last sent the invocation: only it, or any replica once
            // it has stopped, may take a sent invocation back (docs/run-command.md).
            "ALTER TABLE invocations ADD COLUMN sent_by TEXT",
            "CREATE TABLE controller_replicas (id TEXT PRIMARY KEY, started_at BIGINT NOT NULL, seen_at BIGINT NOT NULL)",
        ]),
        Migration(version: 7, name: "delivery owners", statements: [
            // Whose delivery a row of `commands` is (`DeliveryOwner`): Run Command's are
            // `command` with no owner id, and only those show in the commands API.
            "ALTER TABLE commands ADD COLUMN owner_kind TEXT NOT NULL DEFAULT 'command'",
            "ALTER TABLE commands ADD COLUMN owner_id TEXT",
            "CREATE INDEX commands_owner ON commands (owner_kind, owner_id)",
        ]),
        Migration(version: 8, name: "step variants", statements: [
            // Steps that differ per instance (a patch run's resolved baseline): variant → steps (JSON).
            "ALTER TABLE commands ADD COLUMN variants_json TEXT",
            // Which variant an invocation is sent (NULL: the command's own steps).
            "ALTER TABLE invocations ADD COLUMN variant TEXT",
        ]),
        Migration(version: 9, name: "patch baselines", statements: [
            """
            CREATE TABLE patch_baselines (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                operating_system TEXT NOT NULL,
                description TEXT,
                body_json TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            // The default baseline of an operating system (stored or predefined id).
            """
            CREATE TABLE patch_baseline_defaults (
                operating_system TEXT PRIMARY KEY,
                baseline_id TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE patch_groups (
                patch_group TEXT NOT NULL,
                operating_system TEXT NOT NULL,
                baseline_id TEXT NOT NULL,
                PRIMARY KEY (patch_group, operating_system)
            )
            """,
        ]),
        Migration(version: 10, name: "patch platform", statements: [
            // os-release ID and ID_LIKE of the system the agent patches (its package root).
            "ALTER TABLE instances ADD COLUMN platform_id TEXT",
            "ALTER TABLE instances ADD COLUMN platform_id_like TEXT",
        ]),
        Migration(version: 11, name: "compliance", statements: [
            // Each instance's latest patch report; the whole report is report_json.
            """
            CREATE TABLE compliance (
                instance_id TEXT PRIMARY KEY,
                command_id TEXT NOT NULL,
                baseline_id TEXT NOT NULL,
                patch_group TEXT,
                operating_system TEXT NOT NULL,
                operation TEXT NOT NULL,
                operation_at BIGINT NOT NULL,
                compliant BIGINT NOT NULL,
                installed_count BIGINT NOT NULL,
                installed_other_count BIGINT NOT NULL,
                installed_pending_reboot_count BIGINT NOT NULL,
                installed_rejected_count BIGINT NOT NULL,
                missing_count BIGINT NOT NULL,
                failed_count BIGINT NOT NULL,
                not_applicable_count BIGINT NOT NULL,
                report_json TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE compliance_history (
                instance_id TEXT NOT NULL,
                command_id TEXT NOT NULL,
                baseline_id TEXT NOT NULL,
                operation TEXT NOT NULL,
                operation_at BIGINT NOT NULL,
                compliant BIGINT NOT NULL,
                missing_count BIGINT NOT NULL,
                failed_count BIGINT NOT NULL,
                PRIMARY KEY (instance_id, command_id)
            )
            """,
        ]),
        Migration(version: 12, name: "compliance summary", statements: [
            // Names of the MISSING packages (newline-separated, at most 200), for the fleet summary.
            "ALTER TABLE compliance ADD COLUMN missing_names TEXT",
        ]),
    ]
}
