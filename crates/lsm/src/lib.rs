//! hashpivot-lsm (see the crate description).
