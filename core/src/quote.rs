//! User input echoed in an error message, cut short: a 1 MB pattern or site
//! name must not come back as a 1 MB error (in a SQL error, a JSON reason or
//! a log line).

use std::fmt;

/// Longest part of the input shown, in bytes (cut on a character boundary).
const SHOWN: usize = 80;

/// Shows `s` quoted like `{:?}`; over `SHOWN` (80) bytes, its start, `…` and its length.
pub fn quoted(s: &str) -> Quoted<'_> {
    Quoted(s)
}

pub struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() <= SHOWN {
            return write!(f, "{:?}", self.0);
        }
        let mut end = SHOWN;
        while !self.0.is_char_boundary(end) {
            end -= 1;
        }
        write!(f, "{:?}… ({} bytes)", &self.0[..end], self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn short_input_is_quoted_whole() {
        assert_eq!(quoted("a\"b").to_string(), r#""a\"b""#);
    }

    #[test]
    fn long_input_is_cut_on_a_character_boundary() {
        let s = format!("{}é{}", "a".repeat(79), "b".repeat(1000));
        assert_eq!(quoted(&s).to_string(), format!("\"{}\"… (1081 bytes)", "a".repeat(79)));
    }
}
