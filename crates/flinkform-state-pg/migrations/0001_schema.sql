-- flinkform state in PostgreSQL, schema version 1 (specs/state-postgres.md).
-- Every table is keyed by the stack name: many stacks share one database.

-- One row per stack: its identity and the serial of its last commit.
CREATE TABLE flinkform.stacks (
    name       text        PRIMARY KEY,
    lineage    uuid        NOT NULL,
    serial     bigint      NOT NULL CHECK (serial >= 0),
    -- The cloud and accounts the state belongs to (state format v1 `target`), null until
    -- the first apply.
    target     jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per recorded resource; `record` is the state format v1 resource object.
CREATE TABLE flinkform.resources (
    stack   text  NOT NULL REFERENCES flinkform.stacks (name) ON DELETE CASCADE,
    address text  NOT NULL,
    record  jsonb NOT NULL,
    PRIMARY KEY (stack, address)
);

-- One row per announced mutating call whose outcome is not recorded yet (state format v1
-- intent object).
CREATE TABLE flinkform.intents (
    stack   text   NOT NULL REFERENCES flinkform.stacks (name) ON DELETE CASCADE,
    id      bigint NOT NULL,
    address text   NOT NULL,
    record  jsonb  NOT NULL,
    PRIMARY KEY (stack, id)
);

-- One row per gate the last apply stopped at (state format v1 gate object).
CREATE TABLE flinkform.gates (
    stack   text  NOT NULL REFERENCES flinkform.stacks (name) ON DELETE CASCADE,
    name    text  NOT NULL,
    address text  NOT NULL,
    record  jsonb NOT NULL,
    PRIMARY KEY (stack, name)
);

-- Every serial a stack had: the changes of a commit, or the whole state of a replace
-- (`snapshot`), from which `read_serial` rebuilds any version.
CREATE TABLE flinkform.history (
    stack      text        NOT NULL REFERENCES flinkform.stacks (name) ON DELETE CASCADE,
    serial     bigint      NOT NULL,
    lineage    uuid        NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    operation  text        NOT NULL,
    who        text        NOT NULL,
    -- Addresses the write changed (empty for a whole-state write).
    changed    text[]      NOT NULL,
    -- The changes, in order (null for a snapshot).
    changes    jsonb,
    -- The whole state as a state format v1 document (null for a commit of changes).
    snapshot   jsonb,
    PRIMARY KEY (stack, serial),
    CHECK ((changes IS NULL) <> (snapshot IS NULL))
);

-- Who holds a stack's lock. The lock itself is a session-level advisory lock on the
-- holder's connection; a row whose advisory lock nobody holds was left by a holder that died.
CREATE TABLE flinkform.locks (
    stack       text    PRIMARY KEY,
    id          text    NOT NULL,
    operation   text    NOT NULL,
    who         text    NOT NULL,
    pid         bigint  NOT NULL,
    created     text    NOT NULL,
    -- pg_backend_pid() of the holder's connection.
    backend_pid integer NOT NULL
);
