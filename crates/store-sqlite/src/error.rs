use std::path::PathBuf;

use rusqlite::ErrorCode;
use stepcart_domain::PortError;
use stepcart_domain::payment::PaymentError;

/// What the store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// An earlier operation panicked while holding the connection; its transaction state is unknown,
    /// so the store refuses further work rather than guess.
    #[error("the store is unusable: an earlier operation panicked while holding the connection")]
    Poisoned,
    #[error("a store operation did not finish: {0}")]
    Background(String),
    #[error(
        "the database has schema version {found}, newer than this stepcart supports ({supported}); upgrade stepcart"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    /// A stored value does not parse back into the domain type (edited by hand, or a bug).
    #[error("corrupt data in {what}: {detail}")]
    Corrupt { what: String, detail: String },
    /// The caller passed something the store cannot record.
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
}

impl StoreError {
    /// Another connection (another stepcart process) holds the write lock longer than the busy timeout.
    pub fn is_busy(&self) -> bool {
        match self {
            Self::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
            }
            _ => false,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>, detail: impl ToString) -> Self {
        Self::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

impl From<StoreError> for PortError {
    fn from(error: StoreError) -> Self {
        if error.is_busy() {
            PortError::Unavailable(error.to_string())
        } else {
            PortError::Failed(error.to_string())
        }
    }
}

impl From<StoreError> for PaymentError {
    /// The simulated provider's own storage failing is its "5xx": the caller retries with the same
    /// idempotency key, which is safe because a write either committed whole or not at all.
    fn from(error: StoreError) -> Self {
        PaymentError::Unavailable(error.to_string())
    }
}
