//! Goals: what counts as a conversion. A goal is a step (`page:/signup/*`,
//! `event:Signup`, or alternatives joined by `|`, as in funnels), optionally
//! narrowed by property conditions written as a JSON object after it:
//! `event:Purchase {"plan":"pro"}` converts only on purchases whose `plan`
//! property is `pro`.
//!
//! A visitor converts when one of their events in the range (and filters)
//! matches the goal: unique conversions count visitors, total conversions
//! count matching events, and the conversion rate divides converting
//! visitors by all visitors of the same range and filters.

use crate::step::{self, Step};

/// The most goals one report takes.
pub const MAX_GOALS: usize = 64;

/// How goals are written, for error messages.
pub const SYNTAX: &str = "goals look like 'page:/signup/*', 'event:Signup', or a step followed by property \
                          conditions as a JSON object, such as 'event:Purchase {\"plan\":\"pro\"}'";

/// A parsed goal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goal {
    pub text: String,
    pub step: Step,
    /// Property conditions: every key must have exactly this value.
    pub props: Vec<(String, String)>,
}

/// Parses one goal.
pub fn parse(text: &str) -> Result<Goal, String> {
    let trimmed = text.trim();
    let (step_text, props) = match trimmed.find('{') {
        Some(i) => {
            let object = &trimmed[i..];
            let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(object).map_err(|_| {
                format!(
                    "bad goal {text}: the property conditions are not a JSON object of strings; {SYNTAX}",
                    text = crate::quote::quoted(text)
                )
            })?;
            let mut props = Vec::new();
            for (k, v) in map {
                let serde_json::Value::String(v) = v else {
                    return Err(format!(
                        "bad goal {text}: the condition on {k} is not a string; {SYNTAX}",
                        text = crate::quote::quoted(text),
                        k = crate::quote::quoted(&k)
                    ));
                };
                if k.is_empty() {
                    return Err(format!(
                        "bad goal {text}: a property name is empty",
                        text = crate::quote::quoted(text)
                    ));
                }
                props.push((k, v));
            }
            (trimmed[..i].trim(), props)
        }
        None => (trimmed, Vec::new()),
    };
    let step = step::parse(step_text).map_err(|e| format!("{e}; {SYNTAX}"))?;
    Ok(Goal { text: text.to_string(), step, props })
}

/// Parses a list of goals: 1 to [`MAX_GOALS`].
pub fn parse_all(goals: &[String]) -> Result<Vec<Goal>, String> {
    if goals.is_empty() || goals.len() > MAX_GOALS {
        return Err(format!("give 1 to {MAX_GOALS} goals, got {}; {SYNTAX}", goals.len()));
    }
    goals.iter().map(|g| parse(g)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::Matcher;

    #[test]
    fn parses_pages_events_and_conditions() {
        let g = parse("page:/signup/*").unwrap();
        assert!(matches!(g.step.alternatives[..], [Matcher::PagePattern(_)]));
        assert!(g.props.is_empty());
        let g = parse(r#"event:Purchase {"plan":"pro","tier":"gold"}"#).unwrap();
        assert_eq!(g.step.alternatives, vec![Matcher::Event("Purchase".into())]);
        assert_eq!(g.props, vec![("plan".into(), "pro".into()), ("tier".into(), "gold".into())]);
        assert_eq!(parse("event:A|page:/b").unwrap().step.alternatives.len(), 2);
    }

    #[test]
    fn errors_say_what_is_allowed() {
        assert!(parse("signup").unwrap_err().contains("goals look like"));
        assert!(parse("event:A {plan}").unwrap_err().contains("JSON object"));
        assert!(parse(r#"event:A {"n":1}"#).unwrap_err().contains("not a string"));
        assert!(parse_all(&[]).unwrap_err().contains("1 to 64"));
    }
}
