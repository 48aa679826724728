//! Saved funnels: named funnels per site, kept in the settings store
//! (`<data>/funnels.json`, or the shared catalog).

use mallard_core::report::Report;
use mallard_core::time::MICROS_PER_SECOND;
use serde::{Deserialize, Serialize};

use super::saved::{Named, Saved, check_name};

/// A saved funnel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funnel {
    pub name: String,
    pub steps: Vec<String>,
    /// Seconds.
    pub within: u64,
    #[serde(default)]
    pub mode: String,
}

impl Funnel {
    /// Checks the funnel as `mallard_funnel` would.
    pub fn validate(&self) -> Result<(), String> {
        check_name("funnel", &self.name)?;
        let micros = i64::try_from(self.within).unwrap_or(i64::MAX / 2).saturating_mul(MICROS_PER_SECOND);
        Report::funnel(&self.steps, micros, &self.mode).map(|_| ())
    }
}

impl Named for Funnel {
    const DOC: &'static str = "funnels";

    fn name(&self) -> &str {
        &self.name
    }
}

/// The saved funnels: the settings store's document `funnels`.
pub type Funnels = Saved<Funnel>;
