//! Persistence for the ASL engine, kept at the JSON level so that this crate does not depend on it: the
//! engine serialises its own snapshot and history events.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::StoreError;
use crate::store::Store;

pub const EXECUTION_STATUSES: [&str; 5] = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

/// The DescribeExecution fields of one execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRecord {
    pub execution_arn: String,
    pub name: String,
    pub state_machine_arn: String,
    /// One of [`EXECUTION_STATUSES`].
    pub status: String,
    pub input: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// RFC 3339.
    pub start_date: String,
    pub stop_date: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "returned once per StartExecution; boxing would only make callers' matches clumsier"
)]
pub enum CreateOutcome {
    Created,
    /// An execution with this state machine and name exists already; nothing was written.
    Existing(ExecutionRecord),
}

/// One history event: its id within the execution and the engine's JSON for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub id: i64,
    pub json: String,
}

/// Which executions [`Store::list_executions_page`] returns; `None` matches everything.
#[derive(Clone, Debug, Default)]
pub struct ExecutionFilter {
    pub state_machine_arn: Option<String>,
    pub status: Option<String>,
    pub name_contains: Option<String>,
}

/// One page of executions and the cursor of the next page, if there is one.
#[derive(Clone, Debug)]
pub struct ExecutionPage {
    pub executions: Vec<ExecutionRecord>,
    pub next: Option<String>,
}

fn parse_cursor(cursor: &str) -> Result<(i64, i64), StoreError> {
    let bad = || StoreError::Invalid(format!("invalid page cursor {cursor:?}"));
    let (nanos, rowid) = cursor.split_once('.').ok_or_else(bad)?;
    Ok((
        nanos.parse().map_err(|_| bad())?,
        rowid.parse().map_err(|_| bad())?,
    ))
}

const COLUMNS: &str =
    "execution_arn, name, state_machine_arn, status, input, output, error, cause, start_date, stop_date";

fn record_from_row(row: &Row<'_>) -> rusqlite::Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        execution_arn: row.get(0)?,
        name: row.get(1)?,
        state_machine_arn: row.get(2)?,
        status: row.get(3)?,
        input: row.get(4)?,
        output: row.get(5)?,
        error: row.get(6)?,
        cause: row.get(7)?,
        start_date: row.get(8)?,
        stop_date: row.get(9)?,
    })
}

/// Checks what the schema cannot and returns the start date as nanoseconds for ordering.
fn validate(record: &ExecutionRecord) -> Result<i64, StoreError> {
    if !EXECUTION_STATUSES.contains(&record.status.as_str()) {
        return Err(StoreError::Invalid(format!(
            "execution status {:?} is not one of {}",
            record.status,
            EXECUTION_STATUSES.join(", ")
        )));
    }
    let start = OffsetDateTime::parse(&record.start_date, &Rfc3339).map_err(|e| {
        StoreError::Invalid(format!("startDate {:?} is not RFC 3339: {e}", record.start_date))
    })?;
    if let Some(stop) = &record.stop_date {
        OffsetDateTime::parse(stop, &Rfc3339)
            .map_err(|e| StoreError::Invalid(format!("stopDate {stop:?} is not RFC 3339: {e}")))?;
    }
    i64::try_from(start.unix_timestamp_nanos())
        .map_err(|_| StoreError::Invalid(format!("startDate {} is out of range", record.start_date)))
}

fn by_arn(conn: &Connection, arn: &str) -> Result<Option<ExecutionRecord>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM executions WHERE execution_arn = ?1"),
            [arn],
            record_from_row,
        )
        .optional()?)
}

fn by_name(
    conn: &Connection,
    state_machine_arn: &str,
    name: &str,
) -> Result<Option<ExecutionRecord>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM executions WHERE state_machine_arn = ?1 AND name = ?2"),
            [state_machine_arn, name],
            record_from_row,
        )
        .optional()?)
}

fn create_tx(
    conn: &mut Connection,
    record: &ExecutionRecord,
    snapshot: &str,
    definition_id: Option<&str>,
) -> Result<CreateOutcome, StoreError> {
    let start_nanos = validate(record)?;
    let tx = conn.savepoint()?;
    if let Some(existing) = by_name(&tx, &record.state_machine_arn, &record.name)? {
        return Ok(CreateOutcome::Existing(existing));
    }
    if by_arn(&tx, &record.execution_arn)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "execution {} exists under another state machine or name",
            record.execution_arn
        )));
    }
    tx.execute(
        "INSERT INTO executions (execution_arn, name, state_machine_arn, status, input, output, error, cause,
                                 start_date, start_unix_nanos, stop_date, snapshot, definition_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            record.execution_arn,
            record.name,
            record.state_machine_arn,
            record.status,
            record.input,
            record.output,
            record.error,
            record.cause,
            record.start_date,
            start_nanos,
            record.stop_date,
            snapshot,
            definition_id,
        ],
    )?;
    tx.commit()?;
    Ok(CreateOutcome::Created)
}

fn save_tx(
    conn: &mut Connection,
    record: &ExecutionRecord,
    snapshot: &str,
    new_events: &[StoredEvent],
    waiting_tokens: &[String],
) -> Result<(), StoreError> {
    validate(record)?;
    let tx = conn.savepoint()?;
    // Name, state machine, input and start date are fixed at creation; only the outcome moves.
    let changed = tx.execute(
        "UPDATE executions SET status = ?2, output = ?3, error = ?4, cause = ?5, stop_date = ?6, snapshot = ?7
         WHERE execution_arn = ?1",
        params![
            record.execution_arn,
            record.status,
            record.output,
            record.error,
            record.cause,
            record.stop_date,
            snapshot,
        ],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!(
            "execution {}",
            record.execution_arn
        )));
    }
    {
        // DO NOTHING: an engine that crashed after saving re-appends the same events on recovery.
        let mut append = tx.prepare_cached(
            "INSERT INTO execution_events (execution_arn, event_id, json) VALUES (?1, ?2, ?3)
             ON CONFLICT (execution_arn, event_id) DO NOTHING",
        )?;
        for event in new_events {
            append.execute(params![record.execution_arn, event.id, event.json])?;
        }
    }
    tx.execute(
        "INSERT INTO execution_closed_task_tokens (task_token, execution_arn)
         SELECT task_token, execution_arn FROM execution_task_tokens WHERE execution_arn = ?1
         ON CONFLICT (task_token) DO NOTHING",
        [&record.execution_arn],
    )?;
    tx.execute(
        "DELETE FROM execution_task_tokens WHERE execution_arn = ?1",
        [&record.execution_arn],
    )?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO execution_task_tokens (task_token, execution_arn) VALUES (?1, ?2)",
        )?;
        for token in waiting_tokens {
            tx.execute(
                "DELETE FROM execution_closed_task_tokens WHERE task_token = ?1",
                [token],
            )?;
            insert
                .execute(params![token, record.execution_arn])
                .map_err(|e| match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Conflict(format!(
                        "task token is already waited on by another execution (saving {})",
                        record.execution_arn
                    )),
                    _ => StoreError::Sqlite(e),
                })?;
        }
    }
    tx.commit()?;
    Ok(())
}

impl Store {
    /// Records a new execution with its first snapshot. Unique by (state machine, name): if one exists,
    /// it is returned and nothing is written (StartExecution's idempotency is the caller's to decide).
    pub async fn create_execution(
        &self,
        record: &ExecutionRecord,
        snapshot: &str,
    ) -> Result<CreateOutcome, StoreError> {
        let (record, snapshot) = (record.clone(), snapshot.to_owned());
        self.run(move |conn| create_tx(conn, &record, &snapshot, None))
            .await
    }

    /// [`Store::create_execution`] for an execution of a stored definition (see
    /// [`Store::save_definition`]), which it keeps running on whatever later updates its state machine.
    pub async fn create_execution_on(
        &self,
        record: &ExecutionRecord,
        snapshot: &str,
        definition_id: &str,
    ) -> Result<CreateOutcome, StoreError> {
        let (record, snapshot, id) = (record.clone(), snapshot.to_owned(), definition_id.to_owned());
        self.run(move |conn| create_tx(conn, &record, &snapshot, Some(&id)))
            .await
    }

    /// The definition an execution runs on, if it was created with one.
    pub async fn execution_definition_id(&self, execution_arn: &str) -> Result<Option<String>, StoreError> {
        self.lookup(
            "SELECT definition_id FROM executions WHERE execution_arn = ?1",
            execution_arn,
        )
        .await
    }

    /// The text in the one column of the row `sql` selects by `key` (its `?1`), if there is one.
    pub(crate) async fn lookup(&self, sql: &'static str, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row(sql, [key], |row| row.get::<_, Option<String>>(0))
                .optional()?
                .flatten())
        })
        .await
    }

    /// One page of executions, newest first, filtered by state machine, status and a substring of the
    /// name. `after` is the `next` cursor of the previous page.
    pub async fn list_executions_page(
        &self,
        filter: ExecutionFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<ExecutionPage, StoreError> {
        let after = match after {
            None => None,
            Some(cursor) => Some(parse_cursor(cursor)?),
        };
        let limit = limit.clamp(1, 1000);
        self.run(move |conn| {
            let (nanos, rowid) = after.unwrap_or((i64::MAX, i64::MAX));
            let pattern = filter.name_contains.as_deref().map(|s| {
                format!(
                    "%{}%",
                    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
                )
            });
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS}, start_unix_nanos, rowid FROM executions
                 WHERE (?1 IS NULL OR state_machine_arn = ?1) AND (?2 IS NULL OR status = ?2)
                   AND (?3 IS NULL OR name LIKE ?3 ESCAPE '\\')
                   AND (start_unix_nanos < ?4 OR (start_unix_nanos = ?4 AND rowid < ?5))
                 ORDER BY start_unix_nanos DESC, rowid DESC LIMIT ?6"
            ))?;
            let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
            let rows = stmt.query_map(
                params![
                    filter.state_machine_arn,
                    filter.status,
                    pattern,
                    nanos,
                    rowid,
                    fetch
                ],
                |row| {
                    Ok((
                        record_from_row(row)?,
                        row.get::<_, i64>(10)?,
                        row.get::<_, i64>(11)?,
                    ))
                },
            )?;
            let mut rows: Vec<(ExecutionRecord, i64, i64)> = rows.collect::<Result<_, _>>()?;
            let next = if rows.len() > limit {
                rows.truncate(limit);
                rows.last().map(|(_, n, r)| format!("{n}.{r}"))
            } else {
                None
            };
            Ok(ExecutionPage {
                executions: rows.into_iter().map(|(record, _, _)| record).collect(),
                next,
            })
        })
        .await
    }

    /// Up to `limit` events of an execution after (or, `reverse`, before) event id `after`.
    pub async fn history_page(
        &self,
        execution_arn: &str,
        after: Option<i64>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let arn = execution_arn.to_owned();
        let limit = i64::try_from(limit.clamp(1, 1000)).unwrap_or(1000);
        self.run(move |conn| {
            let sql = if reverse {
                "SELECT event_id, json FROM execution_events WHERE execution_arn = ?1 AND event_id < ?2
                 ORDER BY event_id DESC LIMIT ?3"
            } else {
                "SELECT event_id, json FROM execution_events WHERE execution_arn = ?1 AND event_id > ?2
                 ORDER BY event_id LIMIT ?3"
            };
            let bound = after.unwrap_or(if reverse { i64::MAX } else { 0 });
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params![arn, bound, limit], |row| {
                Ok(StoredEvent {
                    id: row.get(0)?,
                    json: row.get(1)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// In one transaction: updates the execution's outcome fields and snapshot, appends `new_events`
    /// (an event id already stored is skipped) and makes `waiting_tokens` the execution's only waiting
    /// task tokens. `NotFound` if the execution was never created.
    pub async fn save_execution(
        &self,
        record: &ExecutionRecord,
        snapshot: &str,
        new_events: &[StoredEvent],
        waiting_tokens: &[String],
    ) -> Result<(), StoreError> {
        let (record, snapshot) = (record.clone(), snapshot.to_owned());
        let (events, tokens) = (new_events.to_vec(), waiting_tokens.to_vec());
        self.run(move |conn| save_tx(conn, &record, &snapshot, &events, &tokens))
            .await
    }

    pub async fn execution(&self, execution_arn: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        let arn = execution_arn.to_owned();
        self.run(move |conn| by_arn(conn, &arn)).await
    }

    pub async fn execution_by_name(
        &self,
        state_machine_arn: &str,
        name: &str,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let (sm, name) = (state_machine_arn.to_owned(), name.to_owned());
        self.run(move |conn| by_name(conn, &sm, &name)).await
    }

    pub async fn snapshot(&self, execution_arn: &str) -> Result<Option<String>, StoreError> {
        self.lookup(
            "SELECT snapshot FROM executions WHERE execution_arn = ?1",
            execution_arn,
        )
        .await
    }

    /// The execution's events ordered by id; empty for an unknown execution.
    pub async fn history(&self, execution_arn: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let arn = execution_arn.to_owned();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT event_id, json FROM execution_events WHERE execution_arn = ?1 ORDER BY event_id",
            )?;
            let rows = stmt.query_map([arn], |row| {
                Ok(StoredEvent {
                    id: row.get(0)?,
                    json: row.get(1)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    /// The ARN of the execution waiting on this task token, if one is.
    pub async fn execution_for_task_token(&self, task_token: &str) -> Result<Option<String>, StoreError> {
        self.lookup(
            "SELECT execution_arn FROM execution_task_tokens WHERE task_token = ?1",
            task_token,
        )
        .await
    }

    /// The ARN of the execution that once waited on this task token and no longer does.
    pub async fn execution_for_closed_task_token(
        &self,
        task_token: &str,
    ) -> Result<Option<String>, StoreError> {
        self.lookup(
            "SELECT execution_arn FROM execution_closed_task_tokens WHERE task_token = ?1",
            task_token,
        )
        .await
    }

    /// ARNs of the RUNNING executions, oldest first: what an engine resumes after a restart.
    pub async fn running_executions(&self) -> Result<Vec<String>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT execution_arn FROM executions WHERE status = 'RUNNING' ORDER BY start_unix_nanos, rowid",
            )?;
            let rows = stmt.query_map([], |row| row.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}
