//! hashpivot-store: the SQLite store (history series, imports, runs).

pub mod runs;
