use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::StoreError;
use crate::schema;

/// How long a write waits for another process (the CLI next to `stepcart serve`) to finish its transaction
/// before giving up with SQLITE_BUSY, which the ports report as `Unavailable` (retried).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The most operations one commit carries.
const MAX_BATCH: usize = 256;

/// The embedded store. Cloning is cheap and every clone shares the one connection.
///
/// One thread owns the connection and runs every operation (SQLite calls block). It commits in groups:
/// the operations that queued while a commit was under way run together in one `BEGIN IMMEDIATE`
/// transaction, each inside its own savepoint (an operation that fails rolls back alone), and each
/// caller hears its result only once the group is committed. Under load that turns many small commits
/// into few larger ones; an operation alone still commits at once. `BEGIN IMMEDIATE` makes another
/// process on the same file wait for SQLite's lock instead of failing half-way through.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
}

/// An operation on the connection, or (given an error) told why it will not run. It returns what to
/// tell its caller once the group is settled, and whether it panicked.
type Job = Box<dyn FnOnce(Result<&mut Connection, StoreError>) -> (Reply, bool) + Send>;
/// Tells one caller its result, given the outcome of the group's commit.
type Reply = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating it and its parent directories if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // WAL lets readers (the CLI listing orders) run while a checkout writes. If the file system
        // cannot do WAL, SQLite keeps the rollback journal, which is slower but just as correct.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        // In WAL mode NORMAL syncs at checkpoints, not at every commit: a committed transaction survives
        // the process being killed (what the engine's write-ahead recovery relies on), though the last
        // commits may be lost if the machine itself loses power.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::prepare(conn)
    }

    /// A private database that lives as long as this `Store` (and its clones). For tests.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::prepare(Connection::open_in_memory()?)
    }

    fn prepare(mut conn: Connection) -> Result<Store, StoreError> {
        conn.pragma_update(None, "foreign_keys", true)?;
        schema::migrate(&mut conn)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("stepcart-store".into())
            .spawn(move || serve(conn, &queue))
            .map_err(|e| StoreError::Background(format!("cannot start the store thread: {e}")))?;
        Ok(Store { jobs })
    }

    /// Runs `work` on the blocking pool with the connection. Business outcomes travel inside `T`
    /// (often a nested `Result`), so that only infrastructure failures are `StoreError`.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |conn: Result<&mut Connection, StoreError>| {
            let (result, panicked) = match conn {
                Err(refused) => (Err(refused), false),
                Ok(conn) => match in_savepoint(conn, work) {
                    Ok(result) => (result, false),
                    Err(panic) => (Err(panic), true),
                },
            };
            let reply: Reply = Box::new(move |group: Result<(), StoreError>| {
                let _ = reply.send(group.and(result));
            });
            (reply, panicked)
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Background("the store thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Background("the store thread dropped the operation".into()))?
    }
}

/// Runs `work` inside a savepoint: kept if it succeeds, rolled back if it fails. A panic comes back as
/// the outer error.
fn in_savepoint<T, F>(conn: &mut Connection, work: F) -> Result<Result<T, StoreError>, StoreError>
where
    F: FnOnce(&mut Connection) -> Result<T, StoreError>,
{
    if let Err(e) = conn.execute_batch("SAVEPOINT operation") {
        return Ok(Err(e.into()));
    }
    match catch_unwind(AssertUnwindSafe(|| work(conn))) {
        Ok(Ok(value)) => Ok(conn
            .execute_batch("RELEASE operation")
            .map(|()| value)
            .map_err(Into::into)),
        Ok(Err(error)) => {
            let _ = conn.execute_batch("ROLLBACK TO operation; RELEASE operation");
            Ok(Err(error))
        }
        Err(_) => {
            let _ = conn.execute_batch("ROLLBACK TO operation; RELEASE operation");
            Err(StoreError::Background("a store operation panicked".into()))
        }
    }
}

/// The same SQLite failure for each operation of a group that could not begin (the error is not
/// `Clone`), so that every caller can tell a busy database (retried) from other failures.
fn refusal(error: &rusqlite::Error) -> StoreError {
    match error {
        rusqlite::Error::SqliteFailure(code, message) => {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(*code, message.clone()))
        }
        other => StoreError::Background(other.to_string()),
    }
}

/// The store thread: runs queued operations in committed groups until every `Store` clone is gone.
/// After an operation panicked, what it left half-done is unknown, so every later one is refused
/// (`Poisoned`).
fn serve(mut conn: Connection, queue: &mpsc::Receiver<Job>) {
    let mut poisoned = false;
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        if poisoned {
            for job in group {
                let (reply, _) = job(Err(StoreError::Poisoned));
                reply(Ok(()));
            }
            continue;
        }
        // Another process holding the lock past the busy timeout: each caller hears SQLITE_BUSY.
        if let Err(error) = conn.execute_batch("BEGIN IMMEDIATE") {
            for job in group {
                let (reply, _) = job(Err(refusal(&error)));
                reply(Ok(()));
            }
            continue;
        }
        let mut replies = Vec::with_capacity(group.len());
        for job in group {
            if poisoned {
                let (reply, _) = job(Err(StoreError::Poisoned));
                replies.push(reply);
                continue;
            }
            let (reply, panicked) = job(Ok(&mut conn));
            poisoned |= panicked;
            replies.push(reply);
        }
        let committed = conn.execute_batch("COMMIT");
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for reply in replies {
            reply(match &committed {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Background(format!("the commit failed: {e}"))),
            });
        }
    }
}

/// Now, as RFC 3339 in UTC with a fixed six-digit fraction: what every `created_at` holds. The fixed
/// width makes text order time order, so `ORDER BY created_at` needs no parsing.
pub(crate) fn now_rfc3339() -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(FORMAT)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00.000000Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_while_holding_the_connection_poisons_the_store_without_panicking_later() {
        let store = Store::open_in_memory().expect("store");
        let crashed = store
            .run(|_conn| -> Result<(), StoreError> { panic!("simulated bug") })
            .await;
        assert!(matches!(crashed, Err(StoreError::Background(_))), "{crashed:?}");
        let after = store.run(|_conn| Ok(())).await;
        assert!(matches!(after, Err(StoreError::Poisoned)), "{after:?}");
        let port: stepcart_domain::PortError = StoreError::Poisoned.into();
        assert!(matches!(port, stepcart_domain::PortError::Failed(_)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_operation_of_a_group_that_cannot_begin_hears_busy() {
        let dir = std::env::temp_dir().join(format!("stepcart-busy-{}", std::process::id()));
        let path = dir.join("busy.db");
        let store = Store::open(&path).expect("store");
        store
            .run(|conn| Ok(conn.busy_timeout(Duration::from_millis(50))?))
            .await
            .expect("a short busy timeout for the test");
        // Another process holds the write lock for longer than the busy timeout.
        let other = Connection::open(&path).expect("other");
        other.execute_batch("BEGIN IMMEDIATE").expect("lock");
        let attempts: Vec<_> = (0..3)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.run(|_conn| Ok(())).await })
            })
            .collect();
        for attempt in attempts {
            let refused = attempt.await.expect("joined");
            assert!(
                matches!(&refused, Err(e) if e.is_busy()),
                "each queued operation hears SQLITE_BUSY: {refused:?}"
            );
        }
        other.execute_batch("ROLLBACK").expect("unlock");
        assert!(
            store.run(|_conn| Ok(())).await.is_ok(),
            "works again once the lock is gone"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn busy_and_locked_are_unavailable_and_the_rest_failed() {
        use rusqlite::ffi;
        use stepcart_domain::PortError;
        let sqlite = |code| StoreError::Sqlite(rusqlite::Error::SqliteFailure(ffi::Error::new(code), None));
        assert!(matches!(
            PortError::from(sqlite(ffi::SQLITE_BUSY)),
            PortError::Unavailable(_)
        ));
        assert!(matches!(
            PortError::from(sqlite(ffi::SQLITE_LOCKED)),
            PortError::Unavailable(_)
        ));
        assert!(matches!(
            PortError::from(sqlite(ffi::SQLITE_CONSTRAINT)),
            PortError::Failed(_)
        ));
        assert!(matches!(
            PortError::from(StoreError::Invalid("x".into())),
            PortError::Failed(_)
        ));
    }

    #[test]
    fn timestamps_are_fixed_width_rfc3339() {
        let now = now_rfc3339();
        assert_eq!(now.len(), "2026-05-01T10:00:00.000000Z".len(), "{now}");
        let parsed = time::OffsetDateTime::parse(&now, &time::format_description::well_known::Rfc3339);
        assert!(parsed.is_ok(), "{now}");
    }

    #[test]
    fn opening_twice_does_not_migrate_twice() {
        let mut conn = Connection::open_in_memory().expect("conn");
        schema::migrate(&mut conn).expect("first");
        schema::migrate(&mut conn).expect("second is a no-op");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .expect("version");
        assert_eq!(version, schema::SCHEMA_VERSION);
    }
}
