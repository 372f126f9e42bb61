//! Stored simulation runs (owned by the server work).
