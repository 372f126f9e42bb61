//! hashpivot-chain (see the crate description).
