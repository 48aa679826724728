//! The pattern language of ClickHouse's `sequenceMatch` family.
//!
//! - `(?N)` — a row where condition N holds (N from 1 to the number of conditions);
//! - `.` — any one row (rows where no condition holds are not rows here);
//! - `.*` — any number of rows;
//! - `(?t op S)` — the time since the previous matched row, in seconds, with
//!   op one of `<=`, `<`, `>=`, `>`, `==`; it must follow `(?N)`, `.` or `.*`.
//!
//! No spaces. A pattern implicitly starts with `.*` (it may match anywhere).
//! Numbers may carry a `+` sign and leading zeros, as ClickHouse reads them.

/// A time comparison of `(?t op S)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeOp {
    LessOrEqual,
    Less,
    GreaterOrEqual,
    Greater,
    Equal,
}

/// One element of a parsed pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `(?N)`, with the condition's 0-based index.
    Event(u8),
    /// `.`
    Any,
    /// `.*` (and the implicit one at the start).
    Star,
    /// `(?t op S)`, S in microseconds.
    Time(TimeOp, u64),
}

/// What the allowed syntax is, for error messages.
pub fn grammar(conditions: usize) -> String {
    format!(
        "a pattern is a sequence of (?N) with N from 1 to {conditions}, '.', '.*' and (?t op seconds) \
         with op one of <=, <, >=, >, == (no spaces), e.g. '(?1).*(?2)' or '(?1)(?t<=3600)(?2)'"
    )
}

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub text: String,
    /// The actions, starting with the implicit `.*`.
    pub actions: Vec<Action>,
    /// Whether any `(?t …)` occurs (then matching needs backtracking).
    pub has_time: bool,
    /// Conditions the pattern names (bit k = condition k+1).
    pub conditions: u32,
}

const MICROS_PER_SECOND: u64 = 1_000_000;

/// Parses `text` for a function with `conditions` conditions.
pub fn parse(text: &str, conditions: usize) -> Result<Pattern, String> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let mut actions = vec![Action::Star];
    let mut has_time = false;
    let mut named = 0u32;
    let fail = |what: &str, at: usize| {
        Err(format!(
            "{what} at position {at} of pattern {text} (remaining: {}); {}",
            crate::quote::quoted(&text[at.min(text.len())..]),
            grammar(conditions),
            text = crate::quote::quoted(text)
        ))
    };
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest.starts_with(b"(?") {
            pos += 2;
            if bytes.get(pos) == Some(&b't') {
                pos += 1;
                let ops: [(&[u8], TimeOp); 5] = [
                    (b"<=", TimeOp::LessOrEqual),
                    (b"<", TimeOp::Less),
                    (b">=", TimeOp::GreaterOrEqual),
                    (b">", TimeOp::Greater),
                    (b"==", TimeOp::Equal),
                ];
                let Some(&(sym, op)) = ops.iter().find(|(sym, _)| bytes[pos..].starts_with(sym)) else {
                    return fail("unknown time comparison (use <=, <, >=, > or ==)", pos);
                };
                pos += sym.len();
                let Some((seconds, after)) = number(bytes, pos) else {
                    return fail("expected a number of seconds", pos);
                };
                if !matches!(actions.last(), Some(Action::Event(_) | Action::Any | Action::Star)) {
                    return Err(format!(
                        "a time condition must follow (?N), '.' or '.*' in pattern {text}; {}",
                        grammar(conditions),
                        text = crate::quote::quoted(text)
                    ));
                }
                pos = after;
                has_time = true;
                actions.push(Action::Time(op, seconds.saturating_mul(MICROS_PER_SECOND)));
            } else {
                let Some((n, after)) = number(bytes, pos) else {
                    return fail("expected a condition number", pos);
                };
                if n == 0 || n > conditions as u64 {
                    return Err(format!(
                        "condition (?{n}) is out of range in pattern {text}: there are {conditions} conditions, \
                         numbered from 1",
                        text = crate::quote::quoted(text)
                    ));
                }
                pos = after;
                let index = (n - 1) as u8;
                named |= 1 << index;
                actions.push(Action::Event(index));
            }
            if bytes.get(pos) != Some(&b')') {
                return fail("expected ')'", pos);
            }
            pos += 1;
        } else if rest.starts_with(b".*") {
            pos += 2;
            actions.push(Action::Star);
        } else if rest.starts_with(b".") {
            pos += 1;
            actions.push(Action::Any);
        } else {
            return fail("unexpected symbol", pos);
        }
    }
    Ok(Pattern { text: text.to_string(), actions, has_time, conditions: named })
}

/// An unsigned decimal at `pos` (optional `+`); the value saturates.
fn number(bytes: &[u8], mut pos: usize) -> Option<(u64, usize)> {
    if bytes.get(pos) == Some(&b'+') {
        pos += 1;
    }
    let start = pos;
    let mut value: u64 = 0;
    while let Some(d) = bytes.get(pos).filter(|b| b.is_ascii_digit()) {
        value = value.saturating_mul(10).saturating_add(u64::from(d - b'0'));
        pos += 1;
    }
    (pos > start).then_some((value, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_grammar() {
        let p = parse("(?1).*(?2)(?t<=5).(?+02)", 2).unwrap();
        assert_eq!(
            p.actions,
            vec![
                Action::Star,
                Action::Event(0),
                Action::Star,
                Action::Event(1),
                Action::Time(TimeOp::LessOrEqual, 5_000_000),
                Action::Any,
                Action::Event(1)
            ]
        );
        assert!(p.has_time);
        assert_eq!(p.conditions, 0b11);
        assert_eq!(parse("", 2).unwrap().actions, vec![Action::Star]);
        // A time condition may follow the implicit leading .*
        assert!(parse("(?t>1)(?1)", 2).is_ok());
    }

    #[test]
    fn rejects_what_clickhouse_rejects() {
        assert!(parse("(?0)", 2).unwrap_err().contains("out of range"));
        assert!(parse("(?3)", 2).unwrap_err().contains("out of range"));
        assert!(parse("(?1) (?2)", 2).unwrap_err().contains("unexpected symbol at position 4"));
        assert!(parse("(?1)(?t>1", 2).unwrap_err().contains("expected ')'"));
        assert!(parse("(?1)(?t!=1)(?2)", 2).unwrap_err().contains("unknown time comparison"));
        assert!(parse("(?1)(?t>1)(?t<9)(?2)", 2).unwrap_err().contains("must follow"));
        assert!(parse("(?1)(?t>=-1)(?2)", 2).unwrap_err().contains("expected a number"));
        assert!(parse("(?1)(?t>= 1)(?2)", 2).unwrap_err().contains("expected a number"));
        assert!(parse("x", 2).unwrap_err().contains("(?N) with N from 1 to 2"));
    }
}
