//! hashpivot-server (see the crate description).
