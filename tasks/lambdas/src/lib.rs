//! Lambda wrappers (in progress).
