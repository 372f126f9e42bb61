//! Errors of the LSM crate.

/// Everything that can go wrong in this crate. Messages name the input, the value and what is
/// allowed, so the CLI can pass them straight to the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LsmError {
    /// An input is outside its allowed range.
    #[error("{name}: {value} is not allowed; {allowed}")]
    Invalid {
        /// The input's name (a flag or field).
        name: &'static str,
        /// The value given, as text.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// Arrays handed to the core do not have the sizes they announce.
    #[error("inconsistent path set: {0}")]
    Shape(String),
}

impl LsmError {
    /// Builds an [`LsmError::Invalid`].
    pub fn invalid(name: &'static str, value: impl ToString, allowed: &'static str) -> Self {
        LsmError::Invalid {
            name,
            value: value.to_string(),
            allowed,
        }
    }
}
