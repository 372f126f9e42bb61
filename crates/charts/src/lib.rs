//! hashpivot-charts (see the crate description).
