//! Fuzz harness support for hashpivot (see the crate description).
