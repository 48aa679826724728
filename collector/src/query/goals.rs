//! Saved goals: what counts as a conversion on a site, by name, kept in the
//! settings store (`<data>/goals.json`, or the shared catalog). A goal is a
//! step (`page:/signup/*`, `event:Signup`) and optional property conditions;
//! `mallard_goals` and `mallard_breakdown(…, goal := …)` take it as text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::saved::{Named, Saved, check_name};

/// A saved goal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    pub name: String,
    /// `page:/path` (globs allowed) or `event:Name`, or alternatives joined by `|`.
    pub step: String,
    /// Property conditions: each key must have exactly this value.
    #[serde(default)]
    pub props: BTreeMap<String, String>,
}

impl Goal {
    /// The goal as the report functions take it.
    pub fn text(&self) -> String {
        if self.props.is_empty() {
            self.step.clone()
        } else {
            format!("{} {}", self.step, serde_json::to_string(&self.props).unwrap_or_default())
        }
    }

    /// Checks the goal as `mallard_goals` would.
    pub fn validate(&self) -> Result<(), String> {
        check_name("goal", &self.name)?;
        if self.step.contains('{') {
            return Err("a goal's step has no '{'; give property conditions as \"props\"".into());
        }
        mallard_core::goal::parse(&self.text()).map(|_| ())
    }
}

impl Named for Goal {
    const DOC: &'static str = "goals";

    fn name(&self) -> &str {
        &self.name
    }
}

/// The saved goals: the settings store's document `goals`.
pub type Goals = Saved<Goal>;
