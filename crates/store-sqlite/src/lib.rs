//! SQLite adapters (in progress).
