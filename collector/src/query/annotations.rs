//! Annotations: dated notes per site ("launched the new pricing page"),
//! shown on the dashboard's chart and listed under it; kept in the settings
//! store (`<data>/annotations.json`, or the shared catalog).

use mallard_core::time::Date;
use serde::{Deserialize, Serialize};

use super::saved::{Named, Saved};

/// The longest note.
pub const MAX_TEXT: usize = 500;

/// One note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    /// Random, hex.
    pub id: String,
    /// The day it is about, `YYYY-MM-DD` (the site's days).
    pub date: String,
    pub text: String,
}

impl Annotation {
    /// Checks a note's date and text.
    pub fn check(date: &str, text: &str) -> Result<(), String> {
        Date::parse(date).ok_or_else(|| format!("date must be a day like 2026-11-30, got {date:?}"))?;
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_TEXT || text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(format!("text must be 1 to {MAX_TEXT} characters (no control characters but newlines)"));
        }
        Ok(())
    }
}

impl Named for Annotation {
    const DOC: &'static str = "annotations";

    fn name(&self) -> &str {
        &self.id
    }
}

/// The annotations of every site, by id.
pub type Annotations = Saved<Annotation>;
