//! hashpivot-store (see the crate description).
