use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::StoreError;
use crate::schema;

/// How long a write waits for another process (the CLI next to `stepcart serve`) to finish its transaction
/// before giving up with SQLITE_BUSY, which the ports report as `Unavailable` (retried).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The embedded store. Cloning is cheap and every clone shares the one connection.
///
/// SQLite calls block, so each operation runs on tokio's blocking pool; the mutex makes this process a
/// single writer, and write transactions start with `BEGIN IMMEDIATE` so that another process on the
/// same file is serialised by SQLite's lock instead of failing half-way through.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

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
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `work` on the blocking pool with the connection. Business outcomes travel inside `T`
    /// (often a nested `Result`), so that only infrastructure failures are `StoreError`.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StoreError::Poisoned)?;
            work(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Background(e.to_string()))?
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
