//! Filters: `'<dimension> <op> <value>'`, e.g. `'visit:source == Google'`.
//!
//! Ops: `==` (is), `!=` (is not), `~` (contains, case-insensitive), `!~`
//! (does not contain), `=~` (matches a regular expression). The value is the
//! rest of the string; a JSON array (`["Google","Bing"]`) means any of them
//! (none of them for `!=` and `!~`). A NULL value is matched as `(none)`,
//! as reports show it. Values are only ever bound as SQL parameters.

use std::fmt;

use crate::dimension::Dimension;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Is,
    IsNot,
    Contains,
    NotContains,
    Matches,
}

impl Op {
    pub const ALL: [(&'static str, Op); 5] =
        [("==", Op::Is), ("!=", Op::IsNot), ("=~", Op::Matches), ("!~", Op::NotContains), ("~", Op::Contains)];

    pub fn symbol(self) -> &'static str {
        Op::ALL.iter().find(|(_, op)| *op == self).map(|(s, _)| *s).unwrap_or("?")
    }

    /// Whether the op rejects matches (`!=`, `!~`).
    pub fn negated(self) -> bool {
        matches!(self, Op::IsNot | Op::NotContains)
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub dimension: Dimension,
    pub op: Op,
    pub values: Vec<String>,
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.dimension, self.op.symbol(), self.values.join("|"))
    }
}

/// Longest regex source we accept (regexes run against every event).
pub const MAX_REGEX: usize = 1000;
/// Deepest nesting of groups and repetitions in a filter's regex.
pub const MAX_NESTING: u32 = 32;

/// Parses one filter string.
pub fn parse(text: &str) -> Result<Filter, String> {
    let usage = "filters look like '<dimension> <op> <value>' with op ==, !=, ~, !~ or =~, \
                 e.g. 'visit:source == Google'";
    let text = text.trim();
    let (dimension, rest) = text
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("bad filter {text}: {usage}", text = crate::quote::quoted(text)))?;
    let rest = rest.trim_start();
    let (op, value) = Op::ALL
        .iter()
        .find_map(|(symbol, op)| {
            rest.strip_prefix(symbol).filter(|v| v.is_empty() || v.starts_with(char::is_whitespace)).map(|v| (*op, v))
        })
        .ok_or_else(|| format!("bad filter {text}: {usage}", text = crate::quote::quoted(text)))?;
    let dimension = Dimension::parse(dimension)
        .map_err(|e| format!("bad filter {text}: {e}", text = crate::quote::quoted(text)))?;
    let value = value.trim();
    let values: Vec<String> = match serde_json::from_str::<Vec<String>>(value) {
        Ok(list) if value.starts_with('[') => list,
        _ => vec![value.to_string()],
    };
    if values.is_empty() || values.iter().any(|v| v.is_empty()) {
        return Err(format!("bad filter {text}: the value is empty", text = crate::quote::quoted(text)));
    }
    if op == Op::Matches {
        for v in &values {
            if v.len() > MAX_REGEX {
                return Err(format!(
                    "bad filter {text}: the regular expression is longer than {MAX_REGEX} bytes",
                    text = crate::quote::quoted(text)
                ));
            }
            // A shallow nest limit: stacked repetitions like `a*****…` nest
            // one level per operator, and compiling hundreds of levels
            // overflowed a thread's stack (found by fuzzing).
            regex::RegexBuilder::new(v).nest_limit(MAX_NESTING).build().map_err(|e| {
                format!("bad filter {text}: invalid regular expression: {e}", text = crate::quote::quoted(text))
            })?;
        }
    }
    Ok(Filter { dimension, op, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_op() {
        let f = parse("visit:source == Google").unwrap();
        assert_eq!((f.op, f.values.clone()), (Op::Is, vec!["Google".to_string()]));
        assert_eq!(parse("event:page != /a b").unwrap().values, vec!["/a b"]);
        assert_eq!(parse("event:page ~ blog").unwrap().op, Op::Contains);
        assert_eq!(parse("event:page !~ blog").unwrap().op, Op::NotContains);
        assert_eq!(parse("event:page =~ ^/blog/[0-9]+$").unwrap().op, Op::Matches);
        assert_eq!(parse(r#"visit:country == ["DE","FR"]"#).unwrap().values, vec!["DE", "FR"]);
        assert_eq!(parse("event:props:plan == pro").unwrap().dimension, Dimension::Prop("plan".into()));
        // an injection attempt is just a value
        assert_eq!(parse("event:page == x' OR 1=1 --").unwrap().values, vec!["x' OR 1=1 --"]);
    }

    #[test]
    fn errors_say_what_is_allowed() {
        assert!(parse("visit:source").unwrap_err().contains("op ==, !=, ~, !~ or =~"));
        assert!(parse("visit:source >= 3").unwrap_err().contains("op =="));
        assert!(parse("visit:nope == x").unwrap_err().contains("unknown dimension"));
        assert!(parse("visit:source == ").unwrap_err().contains("empty"));
        assert!(parse("event:page =~ (").unwrap_err().contains("invalid regular expression"));
        assert!(parse("visit:source ==Google").is_err());
    }
}
