//! ERCOT hourly day-ahead hub prices (owned by the dispatch work).
