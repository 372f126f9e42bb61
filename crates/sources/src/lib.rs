//! hashpivot-sources (see the crate description).
