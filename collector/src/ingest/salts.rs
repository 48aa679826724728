//! The visitor-id salts: 32 random bytes per rotation period, kept in
//! `<data>/salts.json` (mode 0600). Only the current and the previous period's
//! salts are ever kept; older ones are deleted from memory and disk the moment
//! the period turns, so nobody can recompute old visitor ids.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use mallard_core::salt::{Rotation, keep};
use mallard_core::time::Date;
use mallard_core::visitor_id::VisitorHasher;

use crate::files;

struct Salt {
    period: Date,
    bytes: [u8; 32],
    hasher: VisitorHasher,
}

impl Salt {
    fn new(period: Date, bytes: [u8; 32]) -> Self {
        Self { period, bytes, hasher: VisitorHasher::new(&bytes) }
    }
}

/// The salts in use.
pub struct Salts {
    path: PathBuf,
    /// A shared lake's catalog: salts are agreed there, never written here.
    shared: Option<String>,
    rotation: Rotation,
    /// Newest first: the current period, then (maybe) the previous one.
    salts: RwLock<Vec<Salt>>,
}

impl Salts {
    /// Loads the salts, rotating them for `today` (creating the file on first run).
    pub fn open(data_dir: &Path, rotation: Rotation, today: Date) -> io::Result<Self> {
        Self::open_in(data_dir, None, rotation, today)
    }

    /// Like [`Salts::open`]; with `shared` (a shared lake's catalog) the
    /// salts are the ones all collectors agreed on in its PostgreSQL.
    pub fn open_in(data_dir: &Path, shared: Option<&str>, rotation: Rotation, today: Date) -> io::Result<Self> {
        let path = data_dir.join("salts.json");
        let mut salts = Vec::new();
        if path.exists() && shared.is_none() {
            let text = std::fs::read_to_string(&path)?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))?;
            for entry in value["salts"].as_array().into_iter().flatten() {
                let period = entry["period"].as_str().and_then(Date::parse);
                let bytes = entry["salt"].as_str().and_then(from_hex);
                if let (Some(period), Some(bytes)) = (period, bytes) {
                    salts.push(Salt::new(period, bytes));
                }
            }
        }
        let this = Salts { path, shared: shared.map(str::to_string), rotation, salts: RwLock::new(salts) };
        this.rotate(today)?;
        Ok(this)
    }

    /// Makes sure a salt exists for `today`'s period and destroys salts older
    /// than the previous period. Returns whether anything changed.
    pub fn rotate(&self, today: Date) -> io::Result<bool> {
        let current = self.rotation.period_start(today);
        let mut salts = self.salts.write().unwrap_or_else(|e| e.into_inner());
        let before = salts.len();
        salts.retain(|s| keep(self.rotation, today, s.period));
        let mut changed = salts.len() != before;
        if !salts.iter().any(|s| s.period == current) {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| io::Error::other(format!("no randomness for a salt: {e}")))?;
            if let Some(catalog) = &self.shared {
                let agreed = crate::lake::catalog::agree_salts(catalog, &current.to_string(), &to_hex(&bytes), |p| {
                    Date::parse(p).is_some_and(|d| keep(self.rotation, today, d))
                })?;
                *salts =
                    agreed.iter().filter_map(|(p, salt)| Some(Salt::new(Date::parse(p)?, from_hex(salt)?))).collect();
                salts.sort_by_key(|s| std::cmp::Reverse(s.period));
                return Ok(true);
            }
            salts.push(Salt::new(current, bytes));
            changed = true;
        }
        salts.sort_by_key(|s| std::cmp::Reverse(s.period));
        if changed && self.shared.is_none() {
            let entries: Vec<_> = salts
                .iter()
                .map(|s| serde_json::json!({"period": s.period.to_string(), "salt": to_hex(&s.bytes)}))
                .collect();
            let text = serde_json::json!({"rotation": self.rotation.to_string(), "salts": entries}).to_string();
            files::write_atomic(&self.path, text.as_bytes(), 0o600)?;
        }
        Ok(changed)
    }

    /// Calls `f` with the current salt's hasher and the previous one's (if kept).
    pub fn with_hashers<R>(&self, f: impl FnOnce(&VisitorHasher, Option<&VisitorHasher>) -> R) -> R {
        let salts = self.salts.read().unwrap_or_else(|e| e.into_inner());
        f(&salts[0].hasher, salts.get(1).map(|s| &s.hasher))
    }

    /// Like [`Salts::with_hashers`], for an event of `date`: the salt of
    /// that date's period and the one before it. `None` if that salt is gone.
    pub fn with_hashers_at<R>(
        &self,
        date: Date,
        f: impl FnOnce(&VisitorHasher, Option<&VisitorHasher>) -> R,
    ) -> Option<R> {
        let salts = self.salts.read().unwrap_or_else(|e| e.into_inner());
        let period = self.rotation.period_start(date);
        let i = salts.iter().position(|s| s.period <= period)?;
        Some(f(&salts[i].hasher, salts.get(i + 1).map(|s| &s.hasher)))
    }

    /// The first moment (µs since the epoch) a kept salt covers: events
    /// older than this can no longer get a visitor id.
    pub fn oldest_micros(&self) -> i64 {
        let salts = self.salts.read().unwrap_or_else(|e| e.into_inner());
        salts.last().map_or(i64::MAX, |s| s.period.to_days() * 86_400_000_000)
    }

    /// Periods of the salts kept (newest first), for `/health/detailed`.
    pub fn periods(&self) -> Vec<Date> {
        self.salts.read().unwrap_or_else(|e| e.into_inner()).iter().map(|s| s.period).collect()
    }

    pub fn rotation(&self) -> Rotation {
        self.rotation
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_and_forgets() {
        let dir = tempdir();
        let day = |s| Date::parse(s).unwrap();
        let salts = Salts::open(&dir, Rotation::Day, day("2026-11-27")).unwrap();
        let first = salts.with_hashers(|c, p| (c.id(b"s", b"i", b"u"), p.is_none()));
        assert!(first.1);
        salts.rotate(day("2026-11-28")).unwrap();
        let (now, prev) = salts.with_hashers(|c, p| (c.id(b"s", b"i", b"u"), p.map(|p| p.id(b"s", b"i", b"u"))));
        assert_ne!(now, first.0);
        assert_eq!(prev, Some(first.0));
        salts.rotate(day("2026-11-29")).unwrap();
        assert_eq!(salts.periods(), vec![day("2026-11-29"), day("2026-11-28")]);
        // the 27th's salt is gone from disk too
        let text = std::fs::read_to_string(dir.join("salts.json")).unwrap();
        assert!(!text.contains("2026-11-27"));
        // reopening keeps the same salts
        let again = Salts::open(&dir, Rotation::Day, day("2026-11-29")).unwrap();
        assert_eq!(
            again.with_hashers(|c, _| c.id(b"a", b"b", b"c")),
            salts.with_hashers(|c, _| c.id(b"a", b"b", b"c"))
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(dir.join("salts.json")).unwrap().permissions().mode() & 0o777, 0o600);
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "mallard-salts-{}-{}",
            std::process::id(),
            mallard_core::time::now_micros()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
