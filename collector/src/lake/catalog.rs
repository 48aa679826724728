//! Mallard's own rows in a shared lake's PostgreSQL catalog, beside
//! DuckLake's tables: what every collector must agree on.
//!
//! - `mallard_salts`: the visitor-id salts. The first collector to need a
//!   period's salt inserts its random candidate; everyone reads the winner,
//!   so one person gets one visitor id whichever collector they reach.
//! - `mallard_erasures`: erases of the last day, which every collector
//!   applies to events still on their way to the lake.
//! - The maintainer's advisory lock: held on its own session, so PostgreSQL
//!   frees it the moment its holder dies and another collector takes over.

use std::str::FromStr;

use postgres::{Client, NoTls};

use mallard_core::time::Date;

use super::erase::Rule;
use super::shared::SharedError;

/// The advisory lock key of the maintainer ("mallard" in ASCII).
const MAINTAINER_KEY: i64 = 0x006d_616c_6c61_7264;

impl From<postgres::Error> for SharedError {
    fn from(e: postgres::Error) -> Self {
        SharedError(format!("PostgreSQL: {e}"))
    }
}

/// The libpq conninfo inside `ducklake:postgres:<conninfo>`.
pub fn conninfo(catalog: &str) -> Result<&str, SharedError> {
    catalog.strip_prefix("ducklake:postgres:").ok_or_else(|| {
        SharedError(format!(
            "a shared lake's catalog must be PostgreSQL (ducklake:postgres:<conninfo>), not {}",
            crate::app::redact(catalog)
        ))
    })
}

/// A new session on the catalog's database.
pub fn connect(catalog: &str) -> Result<Client, SharedError> {
    let config = postgres::Config::from_str(conninfo(catalog)?)?;
    let mut config = config;
    config.connect_timeout(std::time::Duration::from_secs(5));
    Ok(config.connect(NoTls)?)
}

/// The salts every collector uses for the periods `keep` keeps: `candidate`
/// is stored for `period` unless another collector stored one first; salts
/// of periods no longer kept are deleted for everyone.
pub fn agree_salts(
    catalog: &str,
    period: &str,
    candidate: &str,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<(String, String)>, SharedError> {
    let mut client = connect(catalog)?;
    client.batch_execute("CREATE TABLE IF NOT EXISTS mallard_salts (period text PRIMARY KEY, salt text NOT NULL)")?;
    client.execute(
        "INSERT INTO mallard_salts (period, salt) VALUES ($1, $2) ON CONFLICT (period) DO NOTHING",
        &[&period, &candidate],
    )?;
    let mut kept = Vec::new();
    for row in client.query("SELECT period, salt FROM mallard_salts", &[])? {
        let (p, salt): (String, String) = (row.get(0), row.get(1));
        if keep(&p) {
            kept.push((p, salt));
        } else {
            client.execute("DELETE FROM mallard_salts WHERE period = $1", &[&p])?;
        }
    }
    Ok(kept)
}

const ERASURES_DDL: &str = "CREATE TABLE IF NOT EXISTS mallard_erasures (site text NOT NULL, from_date text NOT NULL, \
     to_date text NOT NULL, visitor text, before bigint NOT NULL, created timestamptz NOT NULL DEFAULT now())";

/// Records an erase for every collector: each drops matching events still
/// on their way (its WAL, its flushes), and the maintainer deletes any that
/// reach the lake after the erase. The visitor is named by a digest, so the
/// record itself holds no visitor id.
pub fn record_erasure(catalog: &str, rule: &Rule) -> Result<(), SharedError> {
    let mut client = connect(catalog)?;
    client.batch_execute(ERASURES_DDL)?;
    let digest = rule.visitor.map(super::erase::visitor_digest).or_else(|| rule.visitor_digest.clone());
    client.execute(
        "INSERT INTO mallard_erasures (site, from_date, to_date, visitor, before) VALUES ($1, $2, $3, $4, $5)",
        &[&rule.site, &rule.from.to_string(), &rule.to.to_string(), &digest, &rule.before],
    )?;
    Ok(())
}

/// The erases of the last day (older ones reach no event still on its way).
pub fn recent_erasures(catalog: &str) -> Result<Vec<Rule>, SharedError> {
    let mut client = connect(catalog)?;
    client.batch_execute(ERASURES_DDL)?;
    client.execute("DELETE FROM mallard_erasures WHERE created < now() - interval '1 day'", &[])?;
    let rows = client.query("SELECT site, from_date, to_date, visitor, before FROM mallard_erasures", &[])?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let visitor: Option<String> = r.get(3);
            Some(Rule {
                site: r.get(0),
                from: Date::parse(r.get(1))?,
                to: Date::parse(r.get(2))?,
                visitor: None,
                visitor_digest: match visitor {
                    Some(d) if d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        Some(d.to_ascii_lowercase())
                    }
                    Some(_) => return None,
                    None => None,
                },
                before: r.get(4),
            })
        })
        .collect())
}

/// The maintainer's lock: held while this value lives (and its session).
pub struct MaintainerLock {
    client: Client,
}

impl MaintainerLock {
    /// Takes the lock if nobody holds it.
    pub fn try_take(catalog: &str) -> Result<Option<MaintainerLock>, SharedError> {
        let mut client = connect(catalog)?;
        let got: bool = client.query_one("SELECT pg_try_advisory_lock($1)", &[&MAINTAINER_KEY])?.get(0);
        Ok(got.then_some(MaintainerLock { client }))
    }

    /// Whether the session (and so the lock) is still alive.
    pub fn alive(&mut self) -> bool {
        self.client.simple_query("SELECT 1").is_ok()
    }
}
