//! Steps of funnels and sequences: `page:/pricing`, `page:/blog/*`,
//! `event:Signup`, or alternatives joined by `|` (`page:/a|event:B`).
//!
//! A page step matches pageviews by pathname; `*` matches within one path
//! segment and `**` across segments (`/blog/*` matches `/blog/a`, not
//! `/blog/a/b`; `/docs/**` matches both). An event step matches events of
//! that name.

/// How steps are written, for error messages.
pub const SYNTAX: &str = "steps look like 'page:/pricing', 'page:/blog/*' (* within a path segment, ** across), \
                          'event:Signup', or alternatives joined by | such as 'page:/a|event:B'";

/// One way to match a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// A pageview whose pathname equals this.
    Page(String),
    /// A pageview whose pathname fully matches this regular expression
    /// (made from a glob).
    PagePattern(String),
    /// An event of this name.
    Event(String),
}

/// A step: the row matches when any alternative does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub text: String,
    pub alternatives: Vec<Matcher>,
}

pub fn parse(text: &str) -> Result<Step, String> {
    let mut alternatives = Vec::new();
    for part in text.split('|').map(str::trim) {
        let matcher = if let Some(path) = part.strip_prefix("page:") {
            if !path.starts_with('/') {
                return Err(format!(
                    "bad step {text}: a page path starts with '/'; {SYNTAX}",
                    text = crate::quote::quoted(text)
                ));
            }
            if path.contains('*') { Matcher::PagePattern(glob_regex(path)) } else { Matcher::Page(path.to_string()) }
        } else if let Some(name) = part.strip_prefix("event:") {
            if name.is_empty() {
                return Err(format!(
                    "bad step {text}: the event name is empty; {SYNTAX}",
                    text = crate::quote::quoted(text)
                ));
            }
            Matcher::Event(name.to_string())
        } else {
            return Err(format!("bad step {text}; {SYNTAX}", text = crate::quote::quoted(text)));
        };
        alternatives.push(matcher);
    }
    Ok(Step { text: text.to_string(), alternatives })
}

/// Steps as lookups over codes the engine computes cheaply per row: the
/// position of the row's name in [`Steps::names`] and of its pathname in
/// [`Steps::pages`] (0: not listed), and a bit per page glob of
/// [`Steps::patterns`] the pathname fully matches. A page step matches a
/// pageview by its pathname; an event step, the event's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Steps {
    /// `pageview` first, then the event steps' names.
    pub names: Vec<String>,
    /// The page steps' exact paths.
    pub pages: Vec<String>,
    /// The page steps' globs, as regular expressions for a full match.
    pub patterns: Vec<String>,
    /// Steps matched, by name code (index 0: no listed name).
    by_name: Vec<u32>,
    /// Steps matched by a pageview, by page code.
    by_page: Vec<u32>,
    /// Steps matched by a pageview, by pattern bit.
    by_pattern: Vec<u32>,
}

impl Steps {
    pub fn new(steps: &[Step]) -> Steps {
        let mut s = Steps {
            names: vec!["pageview".into()],
            pages: Vec::new(),
            patterns: Vec::new(),
            by_name: vec![0, 0],
            by_page: vec![0],
            by_pattern: Vec::new(),
        };
        fn code(list: &mut Vec<String>, masks: &mut Vec<u32>, value: &str, base: usize) -> usize {
            let i = list.iter().position(|v| v == value).unwrap_or_else(|| {
                list.push(value.to_string());
                masks.push(0);
                list.len() - 1
            });
            i + base
        }
        for (k, step) in steps.iter().enumerate() {
            for m in &step.alternatives {
                match m {
                    Matcher::Event(e) => {
                        let c = code(&mut s.names, &mut s.by_name, e, 1);
                        s.by_name[c] |= 1 << k;
                    }
                    Matcher::Page(p) => {
                        let c = code(&mut s.pages, &mut s.by_page, p, 1);
                        s.by_page[c] |= 1 << k;
                    }
                    Matcher::PagePattern(re) => {
                        let c = code(&mut s.patterns, &mut s.by_pattern, re, 0);
                        s.by_pattern[c] |= 1 << k;
                    }
                }
            }
        }
        s
    }

    /// The steps a row matches (bit k = step k+1), from its codes.
    #[inline]
    pub fn mask(&self, name: usize, page: usize, mut patterns: u32) -> u32 {
        let mut mask = self.by_name.get(name).copied().unwrap_or(0);
        if name == 1 {
            mask |= self.by_page.get(page).copied().unwrap_or(0);
            while patterns != 0 {
                let j = patterns.trailing_zeros() as usize;
                mask |= self.by_pattern.get(j).copied().unwrap_or(0);
                patterns &= patterns - 1;
            }
        }
        mask
    }
}

/// Parses a list of 1 to `max` steps.
pub fn parse_all(steps: &[String], max: usize) -> Result<Vec<Step>, String> {
    if steps.is_empty() || steps.len() > max {
        return Err(format!("steps must list 1 to {max} steps, got {}; {SYNTAX}", steps.len()));
    }
    steps.iter().map(|s| parse(s)).collect()
}

/// A path glob as a regular expression for a full match.
pub fn glob_regex(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() * 2);
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '*' {
            if chars.peek() == Some(&'*') {
                chars.next();
                out.push_str(".*");
            } else {
                out.push_str("[^/]*");
            }
        } else {
            let mut buf = [0u8; 4];
            out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(re: &str, s: &str) -> bool {
        regex::Regex::new(&format!("^(?:{re})$")).unwrap().is_match(s)
    }

    #[test]
    fn steps_and_globs() {
        assert_eq!(parse("page:/pricing").unwrap().alternatives, vec![Matcher::Page("/pricing".into())]);
        assert_eq!(
            parse("page:/a | event:Sign up").unwrap().alternatives,
            vec![Matcher::Page("/a".into()), Matcher::Event("Sign up".into())]
        );
        let re = glob_regex("/blog/*");
        assert!(full(&re, "/blog/a") && !full(&re, "/blog/a/b") && !full(&re, "/blogx/a"));
        let re = glob_regex("/docs/**");
        assert!(full(&re, "/docs/a/b") && full(&re, "/docs/"));
        assert!(full(&glob_regex("/a.b(c)*"), "/a.b(c)d") && !full(&glob_regex("/a.b"), "/axb"));
    }

    #[test]
    fn rows_match_steps_by_their_codes() {
        let steps = parse_all(&["page:/blog/*".into(), "event:Signup|page:/".into(), "page:/".into()], 32).unwrap();
        let m = Steps::new(&steps);
        assert_eq!((m.names.clone(), m.pages.clone()), (vec!["pageview".into(), "Signup".into()], vec!["/".into()]));
        assert_eq!(m.patterns, vec![glob_regex("/blog/*")]);
        // A pageview of /blog/a (pattern 0), of / (page 1), a Signup event.
        assert_eq!(m.mask(1, 0, 1), 0b001);
        assert_eq!(m.mask(1, 1, 0), 0b110);
        assert_eq!(m.mask(2, 1, 1), 0b010);
        // A page step matches page views only; an unlisted name nothing.
        assert_eq!(m.mask(0, 1, 1), 0);
    }

    #[test]
    fn bad_steps_say_how_to_write_them() {
        assert!(parse("pricing").unwrap_err().contains(SYNTAX));
        assert!(parse("page:pricing").unwrap_err().contains("starts with '/'"));
        assert!(parse("event:").unwrap_err().contains("empty"));
        assert!(parse_all(&[], 32).unwrap_err().contains("1 to 32"));
    }
}
