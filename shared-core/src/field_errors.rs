//! Validation errors in Django REST Framework's shape: `{"field": ["message", ...]}`.

use std::collections::BTreeMap;

use serde::Serialize;

/// Field name -> messages, serialised exactly as DRF does so the tutorial's clients can read it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", schema(example = json!({"password2": ["Password fields didn't match."]})))]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.entry(field.to_owned()).or_default().push(message.into());
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was added, so validators can end with `errors.into_result()?`.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    pub fn messages(&self, field: &str) -> &[String] {
        self.0.get(field).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// DRF's messages, shared so both servers say the same thing.
pub mod messages {
    pub const REQUIRED: &str = "This field is required.";
    pub const BLANK: &str = "This field may not be blank.";
    pub const NOT_A_STRING: &str = "Not a valid string.";
    /// DRF's `ProhibitNullCharactersValidator`.
    pub const NULL_CHARACTER: &str = "Null characters are not allowed.";
    /// This project's: no field takes other control characters (a description may hold line breaks and tabs).
    pub const CONTROL_CHARACTER: &str = "Control characters are not allowed.";
}
