//! The schema, versioned with `PRAGMA user_version`: migration N brings a database from version N to N+1.
//! Never edit a released migration; append a new one.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::StoreError;

const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE products (
    sku      TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    price    INTEGER NOT NULL CHECK (price >= 0),
    currency TEXT NOT NULL CHECK (length(currency) = 3),
    active   INTEGER NOT NULL CHECK (active IN (0, 1))
) STRICT;

-- `stocked` is every unit the shop ever put on sale; the CHECK makes conservation a database rule,
-- so no bug in a reservation path can create or destroy a unit without the write failing.
CREATE TABLE stock (
    sku       TEXT PRIMARY KEY REFERENCES products (sku),
    stocked   INTEGER NOT NULL,
    available INTEGER NOT NULL,
    reserved  INTEGER NOT NULL DEFAULT 0,
    sold      INTEGER NOT NULL DEFAULT 0,
    CHECK (available >= 0 AND reserved >= 0 AND sold >= 0),
    CHECK (available + reserved + sold = stocked)
) STRICT;

CREATE TABLE discounts (
    code            TEXT PRIMARY KEY,
    percent_off     INTEGER CHECK (percent_off BETWEEN 1 AND 100),
    amount_off      INTEGER CHECK (amount_off > 0),
    amount_currency TEXT,
    min_subtotal    INTEGER CHECK (min_subtotal >= 0),
    min_currency    TEXT,
    CHECK ((percent_off IS NULL) <> (amount_off IS NULL)),
    CHECK ((amount_off IS NULL) = (amount_currency IS NULL)),
    CHECK ((min_subtotal IS NULL) = (min_currency IS NULL))
) STRICT;

CREATE TABLE reservations (
    reservation_id TEXT PRIMARY KEY,
    execution_name TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('RESERVED', 'COMMITTED', 'RELEASED')),
    order_id       TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    CHECK ((status = 'COMMITTED') = (order_id IS NOT NULL))
) STRICT;

CREATE TABLE reservation_lines (
    reservation_id TEXT NOT NULL REFERENCES reservations (reservation_id),
    position       INTEGER NOT NULL,
    sku            TEXT NOT NULL REFERENCES stock (sku),
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (reservation_id, position),
    UNIQUE (reservation_id, sku)
) STRICT;

CREATE TABLE orders (
    order_id       TEXT PRIMARY KEY,
    status         TEXT NOT NULL,
    subtotal       INTEGER NOT NULL,
    discount       INTEGER NOT NULL,
    total          INTEGER NOT NULL,
    currency       TEXT NOT NULL,
    payment_id     TEXT NOT NULL,
    reservation_id TEXT NOT NULL UNIQUE REFERENCES reservations (reservation_id),
    discount_code  TEXT,
    execution_name TEXT NOT NULL,
    customer_id    TEXT NOT NULL,
    customer_email TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    CHECK (discount >= 0 AND total >= 0 AND total = subtotal - discount)
) STRICT;
CREATE INDEX orders_by_creation ON orders (created_at);

CREATE TABLE order_lines (
    order_id   TEXT NOT NULL REFERENCES orders (order_id),
    position   INTEGER NOT NULL,
    sku        TEXT NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    unit_price INTEGER NOT NULL,
    line_total INTEGER NOT NULL,
    PRIMARY KEY (order_id, position)
) STRICT;

-- The outbox: a row is the promise to deliver once; `sent_at` is for a future relay.
CREATE TABLE notifications (
    dedup_key      TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    customer_email TEXT NOT NULL,
    subject        TEXT NOT NULL,
    detail         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    sent_at        TEXT
) STRICT;

CREATE TABLE authentication_waits (
    payment_id    TEXT PRIMARY KEY,
    task_token    TEXT NOT NULL,
    registered_at TEXT NOT NULL
) STRICT;

-- The simulated payment provider. It shares the file but not the tables of the shop: the shop never
-- reads them except through the PaymentGateway port (and the CLI's listing).
CREATE TABLE sim_payment_intents (
    payment_id      TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    currency        TEXT NOT NULL,
    payment_method  TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    execution_name  TEXT NOT NULL,
    status          TEXT NOT NULL
        CHECK (status IN ('succeeded', 'requires_action', 'processing', 'failed', 'canceled')),
    client_secret   TEXT,
    failure_code    TEXT,
    failure_message TEXT,
    captured        INTEGER NOT NULL DEFAULT 0,
    refunded        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK (captured >= 0 AND captured <= amount AND refunded >= 0 AND refunded <= captured),
    CHECK (status = 'succeeded' OR captured = 0)
) STRICT;

-- UNIQUE (payment_id): a full refund happens at most once per payment, whatever keys are used.
CREATE TABLE sim_refunds (
    refund_id       TEXT PRIMARY KEY,
    payment_id      TEXT NOT NULL UNIQUE REFERENCES sim_payment_intents (payment_id),
    amount          INTEGER NOT NULL CHECK (amount > 0),
    idempotency_key TEXT NOT NULL,
    created_at      TEXT NOT NULL
) STRICT;

-- Stripe's idempotency: the first response to a key is replayed for the same endpoint and parameters.
CREATE TABLE sim_idempotency_keys (
    idempotency_key TEXT PRIMARY KEY,
    endpoint        TEXT NOT NULL,
    parameters      TEXT NOT NULL,
    response        TEXT NOT NULL,
    created_at      TEXT NOT NULL
) STRICT;

CREATE TABLE executions (
    execution_arn     TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    state_machine_arn TEXT NOT NULL,
    status            TEXT NOT NULL
        CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED')),
    input             TEXT NOT NULL,
    output            TEXT,
    error             TEXT,
    cause             TEXT,
    start_date        TEXT NOT NULL,
    -- RFC 3339 strings with different fraction lengths do not sort as text; this does.
    start_unix_nanos  INTEGER NOT NULL,
    stop_date         TEXT,
    snapshot          TEXT NOT NULL,
    UNIQUE (state_machine_arn, name)
) STRICT;
CREATE INDEX executions_by_start ON executions (start_unix_nanos);
CREATE INDEX executions_by_status ON executions (status);

CREATE TABLE execution_events (
    execution_arn TEXT NOT NULL REFERENCES executions (execution_arn),
    event_id      INTEGER NOT NULL,
    json          TEXT NOT NULL,
    PRIMARY KEY (execution_arn, event_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE execution_task_tokens (
    task_token    TEXT PRIMARY KEY,
    execution_arn TEXT NOT NULL REFERENCES executions (execution_arn)
) STRICT;
CREATE INDEX execution_task_tokens_by_execution ON execution_task_tokens (execution_arn);
"#;

/// The local server's state machines, the definitions executions run on, and Stripe webhook events.
const V2: &str = r#"
CREATE TABLE state_machine_definitions (
    -- A content hash: an execution keeps running on the definition it started with.
    definition_id TEXT PRIMARY KEY,
    definition    TEXT NOT NULL
) STRICT;

CREATE TABLE state_machines (
    state_machine_arn TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    type              TEXT NOT NULL CHECK (type IN ('STANDARD', 'EXPRESS')),
    role_arn          TEXT NOT NULL,
    definition_id     TEXT NOT NULL REFERENCES state_machine_definitions (definition_id),
    creation_date     TEXT NOT NULL,
    update_date       TEXT
) STRICT;

ALTER TABLE executions ADD COLUMN definition_id TEXT REFERENCES state_machine_definitions (definition_id);
CREATE INDEX executions_by_machine_start ON executions (state_machine_arn, start_unix_nanos);

-- Tokens an execution no longer waits on: a late callback gets TaskTimedOut rather than InvalidToken.
CREATE TABLE execution_closed_task_tokens (
    task_token    TEXT PRIMARY KEY,
    execution_arn TEXT NOT NULL
) STRICT;

CREATE TABLE webhook_events (
    event_id    TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('processing', 'done')),
    -- While 'processing': until when this delivery holds the event (a crashed delivery's claim lapses).
    lease_until_unix INTEGER NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
"#;

const MIGRATIONS: &[&str] = &[V1, V2];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // IMMEDIATE so two processes opening a new file at once do not both try to create the tables.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (version, sql) in (1_i64..)
        .zip(MIGRATIONS.iter())
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    Ok(())
}
