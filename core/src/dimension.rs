//! Dimensions: the closed list of things a report can be broken down or
//! filtered by, namespaced like Plausible's. `event:*` dimensions are
//! properties of each event; `visit:*` dimensions are properties of the
//! visit an event belongs to (of the visit's first event, or its first and
//! last pageview for entry and exit page).

use std::fmt;

/// Whether a dimension describes events or visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Event,
    Visit,
}

/// One dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dimension {
    /// An event column (`event:page` → `pathname`, …).
    Event(&'static str, &'static str),
    /// `event:props:<key>`: a custom property.
    Prop(String),
    /// A column of `visit_attributes` (`visit:source` → `source`, …).
    Visit(&'static str, &'static str),
}

/// `(name, event column)` for event dimensions.
const EVENT: &[(&str, &str)] = &[("event:page", "pathname"), ("event:name", "name"), ("event:hostname", "hostname")];

/// `(name, visit attribute)` for visit dimensions.
const VISIT: &[(&str, &str)] = &[
    ("visit:entry_page", "entry_page"),
    ("visit:exit_page", "exit_page"),
    ("visit:source", "source"),
    ("visit:referrer", "referrer"),
    ("visit:utm_source", "utm_source"),
    ("visit:utm_medium", "utm_medium"),
    ("visit:utm_campaign", "utm_campaign"),
    ("visit:utm_content", "utm_content"),
    ("visit:utm_term", "utm_term"),
    ("visit:device", "device"),
    ("visit:browser", "browser"),
    ("visit:browser_version", "browser_version"),
    ("visit:os", "os"),
    ("visit:os_version", "os_version"),
    ("visit:country", "country"),
    ("visit:region", "region"),
    ("visit:city", "city"),
];

/// Every dimension name, for error messages and documentation.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<_> = EVENT.iter().map(|(n, _)| *n).collect();
    names.push("event:props:<key>");
    names.extend(VISIT.iter().map(|(n, _)| *n));
    names
}

impl Dimension {
    /// Parses a dimension name; the error lists every allowed one.
    pub fn parse(name: &str) -> Result<Dimension, String> {
        let name = name.trim();
        if let Some((n, col)) = EVENT.iter().find(|(n, _)| *n == name) {
            return Ok(Dimension::Event(n, col));
        }
        if let Some((n, col)) = VISIT.iter().find(|(n, _)| *n == name) {
            return Ok(Dimension::Visit(n, col));
        }
        if let Some(key) = name.strip_prefix("event:props:") {
            if key.is_empty() {
                return Err("event:props:<key> needs a property key, e.g. event:props:plan".into());
            }
            return Ok(Dimension::Prop(key.to_string()));
        }
        Err(format!("unknown dimension {name}; allowed: {}", names().join(", "), name = crate::quote::quoted(name)))
    }

    pub fn level(&self) -> Level {
        match self {
            Dimension::Event(..) | Dimension::Prop(_) => Level::Event,
            Dimension::Visit(..) => Level::Visit,
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dimension::Event(n, _) | Dimension::Visit(n, _) => f.write_str(n),
            Dimension::Prop(key) => write!(f, "event:props:{key}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_closed_list() {
        assert_eq!(Dimension::parse("event:page").unwrap(), Dimension::Event("event:page", "pathname"));
        assert_eq!(Dimension::parse("visit:source").unwrap().level(), Level::Visit);
        assert_eq!(Dimension::parse("event:props:plan").unwrap(), Dimension::Prop("plan".into()));
        assert_eq!(Dimension::parse("event:props:plan").unwrap().to_string(), "event:props:plan");
        let e = Dimension::parse("visit:shoe_size").unwrap_err();
        assert!(e.contains("unknown dimension") && e.contains("visit:utm_campaign"), "{e}");
        assert!(Dimension::parse("event:props:").is_err());
    }
}
