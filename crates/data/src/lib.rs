//! hashpivot-data (see the crate description).
