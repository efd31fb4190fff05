//! Task handlers (in progress).
