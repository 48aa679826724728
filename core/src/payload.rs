//! The tracker payload: Plausible's `/api/event` body (JSON, often sent as
//! `text/plain`) or the same fields in a pixel URL's query string, validated
//! into a [`Payload`]. Every rejection says what was wrong, for the `400`.
//!
//! Fields (short or long names): `n|name`, `u|url`, `d|domain` (a
//! comma-separated list sends the event to each site), `r|referrer`,
//! `p|props` (object or JSON-encoded object, ≤ 30 keys, scalar values),
//! `$|revenue` (`{currency, amount}`), `w` (screen width), `h` (hash mode),
//! `i` (interactive), and on `engagement` events `sd` (scroll depth %) and
//! `e` (engaged ms). Unknown fields (e.g. the tracker's `v`) are ignored.

use std::fmt;

use serde_json::{Map, Value};

/// Event names longer than this are rejected.
pub const MAX_NAME: usize = 120;
/// URLs and referrers longer than this are rejected.
pub const MAX_URL: usize = 2048;
pub const MAX_PROPS: usize = 30;
pub const MAX_PROP_KEY: usize = 300;
pub const MAX_PROP_VALUE: usize = 2000;

/// A validated tracker payload.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Payload {
    pub name: String,
    pub url: String,
    pub domains: Vec<String>,
    pub referrer: Option<String>,
    pub props: Vec<(String, String)>,
    pub revenue: Option<Revenue>,
    pub screen_width: Option<u16>,
    pub hash_mode: bool,
    /// `None`: the tracker did not say (counts as interactive).
    pub interactive: Option<bool>,
    pub scroll_depth: Option<u8>,
    pub engaged_ms: Option<u32>,
}

/// A revenue amount, exact to 4 decimals (`DECIMAL(18,4)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revenue {
    pub currency: String,
    /// The amount × 10 000.
    pub amount_e4: i64,
}

/// Why a payload was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError(pub String);

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PayloadError {}

fn err<T>(msg: impl Into<String>) -> Result<T, PayloadError> {
    Err(PayloadError(msg.into()))
}

/// Parses a JSON body.
pub fn parse_json(body: &[u8]) -> Result<Payload, PayloadError> {
    let text = std::str::from_utf8(body).map_err(|_| PayloadError("body is not valid UTF-8".into()))?;
    if text.trim().is_empty() {
        return err("body is empty: expected a JSON object with n, u and d");
    }
    let value: Value = serde_json::from_str(text).map_err(|e| PayloadError(format!("body is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return err("body must be a JSON object");
    };
    from_fields(&Fields::Json(&map))
}

/// The most events one `POST /api/batch` may carry.
pub const MAX_BATCH: usize = 1000;
/// A batch item's `id` is at most this many bytes.
pub const MAX_ID: usize = 128;
/// A batch item's `user_agent` is at most this many bytes.
pub const MAX_USER_AGENT: usize = 2048;

/// One event of a server-side batch: the `/api/event` payload plus what the
/// sender knows of the visitor (its own IP and user agent are nobody's).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchItem {
    pub payload: Payload,
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
    /// When it happened, µs since the epoch (`None`: when it arrives).
    pub timestamp: Option<i64>,
    /// The sender's id for it: a retried batch stores it once.
    pub id: Option<String>,
}

/// Parses a batch body: a JSON array of at most [`MAX_BATCH`] objects. A
/// malformed body is an `Err`; a malformed item is an `Err` in its place, so
/// the others can still be stored.
pub fn parse_batch(body: &[u8]) -> Result<Vec<Result<BatchItem, PayloadError>>, PayloadError> {
    let text = std::str::from_utf8(body).map_err(|_| PayloadError("body is not valid UTF-8".into()))?;
    let value: Value = serde_json::from_str(text).map_err(|e| PayloadError(format!("body is not valid JSON: {e}")))?;
    let Value::Array(items) = value else {
        return err("body must be a JSON array of events");
    };
    if items.is_empty() {
        return err("the batch is empty: send 1 to 1000 events");
    }
    if items.len() > MAX_BATCH {
        return err(format!("the batch has {} events; at most {MAX_BATCH} are allowed", items.len()));
    }
    Ok(items.iter().map(batch_item).collect())
}

fn batch_item(value: &Value) -> Result<BatchItem, PayloadError> {
    let Value::Object(map) = value else {
        return err("each event must be a JSON object");
    };
    let payload = from_fields(&Fields::Json(map))?;
    let text = |key: &str, max: usize| -> Result<Option<String>, PayloadError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.len() > max => err(format!("{key} is longer than {max} bytes")),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => err(format!("{key} must be a string")),
        }
    };
    let ip = match text("ip", 64)? {
        None => None,
        Some(s) => Some(s.trim().parse().map_err(|_| PayloadError(format!("ip {:?} is not an IP address", s)))?),
    };
    let timestamp = match map.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(crate::time::parse_timestamp(s).ok_or_else(|| {
            PayloadError("timestamp must be UTC like \"2026-12-04T10:20:30Z\" or milliseconds since 1970".into())
        })?),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(ms) if (0..=i64::MAX / 1000).contains(&ms) => Some(ms * 1000),
            _ => return err("timestamp must be a whole number of milliseconds since 1970"),
        },
        Some(_) => return err("timestamp must be a UTC string or milliseconds since 1970"),
    };
    let id = text("id", MAX_ID)?;
    if id.as_deref() == Some("") {
        return err("id is empty");
    }
    Ok(BatchItem { payload, ip, user_agent: text("user_agent", MAX_USER_AGENT)?, timestamp, id })
}

/// Parses a pixel request's query string (`n=pageview&u=...&d=...`).
pub fn parse_query(query: &str) -> Result<Payload, PayloadError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    from_fields(&Fields::Query(&pairs))
}

/// A field source: the JSON object, or query pairs (all values are text).
enum Fields<'a> {
    Json(&'a Map<String, Value>),
    Query(&'a [(String, String)]),
}

impl Fields<'_> {
    fn get(&self, short: &str, long: &str) -> Option<Value> {
        match self {
            Fields::Json(m) => m.get(short).or_else(|| m.get(long)).cloned(),
            Fields::Query(pairs) => pairs
                .iter()
                .find(|(k, _)| k == short)
                .or_else(|| pairs.iter().find(|(k, _)| k == long))
                .map(|(_, v)| Value::String(v.clone())),
        }
    }
}

fn from_fields(f: &Fields<'_>) -> Result<Payload, PayloadError> {
    let name = required_text(f.get("n", "name"), "n (event name)")?;
    if name.chars().count() > MAX_NAME {
        return err(format!("n (event name) is longer than {MAX_NAME} characters"));
    }
    let url = required_text(f.get("u", "url"), "u (page URL)")?;
    if url.len() > MAX_URL {
        return err(format!("u (page URL) is longer than {MAX_URL} bytes"));
    }
    let domain = required_text(f.get("d", "domain"), "d (site domain)")?;
    let domains: Vec<String> = domain.split(',').map(|d| d.trim().to_lowercase()).filter(|d| !d.is_empty()).collect();
    if domains.is_empty() {
        return err("d (site domain) is empty");
    }
    let referrer = match f.get("r", "referrer") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) if s.len() > MAX_URL => {
            return err(format!("r (referrer) is longer than {MAX_URL} bytes"));
        }
        Some(Value::String(s)) => Some(s),
        Some(_) => return err("r (referrer) must be a string or null"),
    };
    let props = props(f.get("p", "props"))?;
    let revenue = revenue(f.get("$", "revenue"))?;
    let screen_width = match integer(f.get("w", "screen_width"), "w (screen width)")? {
        None => None,
        Some(w) if (0..=i64::from(u16::MAX)).contains(&w) => Some(w as u16),
        Some(_) => return err("w (screen width) must be between 0 and 65535"),
    };
    let hash_mode = flag(f.get("h", "hashMode"), "h (hash mode)")?.unwrap_or(false);
    let interactive = flag(f.get("i", "interactive"), "i (interactive)")?;
    let scroll_depth = integer(f.get("sd", "scroll_depth"), "sd (scroll depth)")?.map(|v| v.clamp(0, 100) as u8);
    let engaged_ms = integer(f.get("e", "engaged_ms"), "e (engaged time)")?.map(|v| v.clamp(0, u32::MAX.into()) as u32);
    Ok(Payload {
        name,
        url,
        domains,
        referrer,
        props,
        revenue,
        screen_width,
        hash_mode,
        interactive,
        scroll_depth,
        engaged_ms,
    })
}

fn required_text(v: Option<Value>, what: &str) -> Result<String, PayloadError> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::String(_)) => err(format!("{what} is empty")),
        None | Some(Value::Null) => err(format!("missing field {what}")),
        Some(_) => err(format!("{what} must be a string")),
    }
}

/// Integers as JSON numbers or numeric strings (pixel query values are text).
fn integer(v: Option<Value>, what: &str) -> Result<Option<i64>, PayloadError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(Some(i)),
            (None, Some(f)) if f.is_finite() => Ok(Some(f.round().clamp(i64::MIN as f64, i64::MAX as f64) as i64)),
            _ => err(format!("{what} must be a number")),
        },
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            s.trim().parse::<i64>().map(Some).map_err(|_| PayloadError(format!("{what} must be a number")))
        }
        Some(_) => err(format!("{what} must be a number")),
    }
}

fn flag(v: Option<Value>, what: &str) -> Result<Option<bool>, PayloadError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(Some(false)),
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(Some(true)),
        Some(Value::String(s)) => match s.trim() {
            "1" | "true" => Ok(Some(true)),
            "0" | "false" => Ok(Some(false)),
            "" => Ok(None),
            _ => err(format!("{what} must be true, false, 1 or 0")),
        },
        Some(_) => err(format!("{what} must be true, false, 1 or 0")),
    }
}

/// Objects may arrive JSON-encoded inside a string (Plausible's trackers do this).
fn object(v: Option<Value>, what: &str) -> Result<Option<Map<String, Value>>, PayloadError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            Ok(Value::Null) => Ok(None),
            _ => err(format!("{what} must be a JSON object")),
        },
        Some(_) => err(format!("{what} must be a JSON object")),
    }
}

fn props(v: Option<Value>) -> Result<Vec<(String, String)>, PayloadError> {
    let Some(map) = object(v, "p (props)")? else {
        return Ok(Vec::new());
    };
    if map.len() > MAX_PROPS {
        return err(format!("p (props) has {} keys; at most {MAX_PROPS} are allowed", map.len()));
    }
    let mut out = Vec::with_capacity(map.len());
    for (key, value) in map {
        let key = key.trim().to_string();
        if key.is_empty() {
            return err("p (props) has an empty key");
        }
        if key.chars().count() > MAX_PROP_KEY {
            return err(format!("p (props) key is longer than {MAX_PROP_KEY} characters"));
        }
        let value = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Array(_) | Value::Object(_) => {
                return err(format!("p (props) value of {key:?} must be a string, number or boolean"));
            }
        };
        if value.chars().count() > MAX_PROP_VALUE {
            return err(format!("p (props) value of {key:?} is longer than {MAX_PROP_VALUE} characters"));
        }
        out.push((key, value));
    }
    out.sort();
    Ok(out)
}

fn revenue(v: Option<Value>) -> Result<Option<Revenue>, PayloadError> {
    let Some(map) = object(v, "$ (revenue)")? else {
        return Ok(None);
    };
    let currency = match map.get("currency") {
        Some(Value::String(c)) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => c.to_ascii_uppercase(),
        _ => return err("$ (revenue) needs currency: a 3-letter ISO 4217 code"),
    };
    let amount_e4 = match map.get("amount") {
        Some(Value::Number(n)) => decimal_e4(&n.to_string()),
        Some(Value::String(s)) => decimal_e4(s.trim()),
        _ => None,
    }
    .ok_or_else(|| PayloadError("$ (revenue) needs amount: a number with at most 4 decimals below 10^14".into()))?;
    Ok(Some(Revenue { currency, amount_e4 }))
}

/// Parses a decimal string exactly into units of 10⁻⁴ (`"9.99"` → 99900).
fn decimal_e4(s: &str) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 4
        || int.len() > 14
    {
        return None;
    }
    let int: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac: i64 = format!("{frac:0<4}").parse().ok()?;
    let v = int * 10_000 + frac;
    Some(if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    #[test]
    fn batches_are_arrays_of_items_each_valid_or_not() {
        use super::parse_batch;
        let body = br#"[
            {"n":"pageview","u":"https://a.example/x","d":"a.example","ip":"203.0.113.9","user_agent":"UA",
             "timestamp":"2026-12-04T10:00:00Z","id":"e-1"},
            {"n":"pageview","u":"https://a.example/y","d":"a.example","timestamp":1764842400000},
            {"n":"pageview","d":"a.example"},
            {"n":"pageview","u":"https://a.example/z","d":"a.example","ip":"nope"},
            3
        ]"#;
        let items = parse_batch(body).unwrap();
        assert_eq!(items.len(), 5);
        let first = items[0].as_ref().unwrap();
        assert_eq!(first.ip, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(first.user_agent.as_deref(), Some("UA"));
        assert_eq!(first.id.as_deref(), Some("e-1"));
        // 2026-12-04T10:00:00Z: day 20 791 × 86 400 s + 36 000 s.
        assert_eq!(first.timestamp, Some((20_791 * 86_400 + 36_000) * 1_000_000));
        // 1 764 842 400 000 ms = 2025-12-04T10:00:00Z.
        assert_eq!(items[1].as_ref().unwrap().timestamp, Some(1_764_842_400_000_000));
        assert!(items[2].as_ref().unwrap_err().0.contains("u (page URL)"));
        assert!(items[3].as_ref().unwrap_err().0.contains("not an IP address"));
        assert!(items[4].as_ref().unwrap_err().0.contains("JSON object"));
        assert!(parse_batch(b"{}").unwrap_err().0.contains("array"));
        assert!(parse_batch(b"[]").unwrap_err().0.contains("empty"));
        let many = format!("[{}]", vec![r#"{"n":"a","u":"https://a.example/","d":"a.example"}"#; 1001].join(","));
        assert!(parse_batch(many.as_bytes()).unwrap_err().0.contains("at most 1000"));
    }

    use super::*;

    #[test]
    fn plausible_payload() {
        let p = parse_json(
            br#"{"n":"Signup","u":"https://example.com/pricing?x=1","d":"example.com","r":"https://t.co/x",
                "p":{"plan":"pro","seats":3,"trial":true,"gone":null},"$":{"currency":"eur","amount":9.99},
                "w":1280,"h":0,"i":true,"v":36}"#,
        )
        .unwrap();
        assert_eq!(p.name, "Signup");
        assert_eq!(p.domains, vec!["example.com"]);
        assert_eq!(p.referrer.as_deref(), Some("https://t.co/x"));
        assert_eq!(
            p.props,
            vec![("plan".into(), "pro".into()), ("seats".into(), "3".into()), ("trial".into(), "true".into())]
        );
        assert_eq!(p.revenue, Some(Revenue { currency: "EUR".into(), amount_e4: 99_900 }));
        assert_eq!(p.screen_width, Some(1280));
        assert!(!p.hash_mode);
        assert_eq!(p.interactive, Some(true));
    }

    #[test]
    fn long_names_strings_and_lists() {
        let p = parse_json(
            br#"{"name":"pageview","url":"https://a.com/","domain":"a.com, B.com","props":"{\"k\":\"v\"}","revenue":"{\"currency\":\"USD\",\"amount\":\"12.5\"}"}"#,
        )
        .unwrap();
        assert_eq!(p.domains, vec!["a.com", "b.com"]);
        assert_eq!(p.props, vec![("k".into(), "v".into())]);
        assert_eq!(p.revenue.unwrap().amount_e4, 125_000);
    }

    #[test]
    fn engagement() {
        let p = parse_json(br#"{"n":"engagement","u":"https://a.com/x","d":"a.com","sd":87,"e":12345}"#).unwrap();
        assert_eq!((p.scroll_depth, p.engaged_ms), (Some(87), Some(12_345)));
        let p = parse_json(br#"{"n":"engagement","u":"https://a.com/x","d":"a.com","sd":250,"e":-5}"#).unwrap();
        assert_eq!((p.scroll_depth, p.engaged_ms), (Some(100), Some(0)));
    }

    #[test]
    fn pixel_query() {
        let p = parse_query("n=pageview&u=https%3A%2F%2Fa.com%2Fx%3Fy%3D1&d=a.com&w=390&p=%7B%22k%22%3A%22v%22%7D")
            .unwrap();
        assert_eq!(p.url, "https://a.com/x?y=1");
        assert_eq!(p.screen_width, Some(390));
        assert_eq!(p.props, vec![("k".into(), "v".into())]);
    }

    #[test]
    fn errors_name_the_problem() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty"),
            (b"not json", "not valid JSON"),
            (b"[1]", "JSON object"),
            (b"\xff\xfe", "UTF-8"),
            (br#"{"u":"https://a.com","d":"a.com"}"#, "missing field n"),
            (br#"{"n":"x","d":"a.com"}"#, "missing field u"),
            (br#"{"n":"x","u":"https://a.com"}"#, "missing field d"),
            (br#"{"n":5,"u":"https://a.com","d":"a.com"}"#, "n (event name) must be a string"),
            (br#"{"n":"x","u":"https://a.com","d":" , "}"#, "d (site domain) is empty"),
            (br#"{"n":"x","u":"https://a.com","d":"a.com","p":[1]}"#, "p (props) must be a JSON object"),
            (br#"{"n":"x","u":"https://a.com","d":"a.com","p":{"a":{"b":1}}}"#, "must be a string, number or boolean"),
            (br#"{"n":"x","u":"https://a.com","d":"a.com","$":{"currency":"EURO","amount":1}}"#, "currency"),
            (br#"{"n":"x","u":"https://a.com","d":"a.com","$":{"currency":"EUR","amount":"1.23456"}}"#, "amount"),
            (br#"{"n":"x","u":"https://a.com","d":"a.com","w":70000}"#, "screen width"),
            (br#"{"n":"x","u":"https://a.com","d":"a.com","h":"maybe"}"#, "hash mode"),
        ];
        for (body, want) in cases {
            let e = parse_json(body).unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} should mention {want:?}");
        }
        let many: String = (0..31).map(|i| format!("\"k{i}\":\"v\"")).collect::<Vec<_>>().join(",");
        let body = format!(r#"{{"n":"x","u":"https://a.com","d":"a.com","p":{{{many}}}}}"#);
        assert!(parse_json(body.as_bytes()).unwrap_err().to_string().contains("at most 30"));
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal_e4("0.1"), Some(1000));
        assert_eq!(decimal_e4("-3"), Some(-30_000));
        assert_eq!(decimal_e4(".5"), Some(5000));
        assert_eq!(decimal_e4("1e3"), None);
        assert_eq!(decimal_e4(""), None);
        assert_eq!(decimal_e4("."), None);
        assert_eq!(decimal_e4("123456789012345"), None);
    }
}
