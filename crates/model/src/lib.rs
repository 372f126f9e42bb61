//! hashpivot-model (see the crate description).
