//! Structured logs on stderr: `ts level message key=value…` as text, or one
//! JSON object per line with `MALLARD_LOG_FORMAT=json`.
//!
//! Callers pass only values that are safe to log: never an IP address, a
//! user agent, a salt, a password or a token.

use std::fmt::Display;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static JSON: AtomicBool = AtomicBool::new(false);

/// Chooses the format for the whole process.
pub fn set_json(json: bool) {
    JSON.store(json, Ordering::Relaxed);
}

#[derive(Debug, Clone, Copy)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Writes one log line.
pub fn log(level: Level, message: &str, fields: &[(&str, &dyn Display)]) {
    let now = mallard_core::time::now_micros();
    let date = mallard_core::time::Date::of_micros(now);
    let secs = now.rem_euclid(mallard_core::time::MICROS_PER_DAY) / 1_000_000;
    let ts = format!(
        "{date}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        now.rem_euclid(1_000_000) / 1000
    );
    let line = if JSON.load(Ordering::Relaxed) {
        let mut obj = serde_json::Map::new();
        obj.insert("ts".into(), ts.into());
        obj.insert("level".into(), level.as_str().into());
        obj.insert("msg".into(), message.into());
        for (k, v) in fields {
            obj.insert((*k).into(), v.to_string().into());
        }
        serde_json::Value::Object(obj).to_string()
    } else {
        let mut s = format!("{ts} {:<5} {message}", level.as_str());
        for (k, v) in fields {
            let v = v.to_string();
            if v.contains(' ') || v.is_empty() {
                s.push_str(&format!(" {k}={v:?}"));
            } else {
                s.push_str(&format!(" {k}={v}"));
            }
        }
        s
    };
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

pub fn info(message: &str, fields: &[(&str, &dyn Display)]) {
    log(Level::Info, message, fields);
}

pub fn warn(message: &str, fields: &[(&str, &dyn Display)]) {
    log(Level::Warn, message, fields);
}

pub fn error(message: &str, fields: &[(&str, &dyn Display)]) {
    log(Level::Error, message, fields);
}
