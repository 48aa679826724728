//! `DELETE /api/admin/erase` (admin): removes a site's events, by date
//! range (`site_id`, `from`, `to`) or of one visitor (`visitor_id`, on the
//! days whose salt still exists — older ids belong to destroyed salts and
//! identify nobody). Each erase goes to the audit log.

use mallard_core::time::{Date, now_micros};
use serde_json::json;

use crate::app::App;
use crate::auth::access::Principal;
use crate::http::params::Params;
use crate::http::{self, Reply};
use crate::lake::erase::Rule;

pub fn delete(app: &App, query: &str, who: &Principal) -> Reply {
    let p = Params::parse(query);
    let site = p.get("site_id").unwrap_or("").to_lowercase();
    if !mallard_core::lake::valid_site(&site) {
        return http::error(400, "site_id is required: a site name like example.com");
    }
    let date = |key: &str| -> Result<Option<Date>, Reply> {
        match p.get(key) {
            None => Ok(None),
            Some(v) => {
                Date::parse(v).map(Some).ok_or_else(|| http::error(400, &format!("{key} must be a date YYYY-MM-DD")))
            }
        }
    };
    let (from, to) = match (date("from"), date("to")) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let visitor = match p.get("visitor_id").map(str::parse::<u64>) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => return http::error(400, "visitor_id must be a visitor id (a whole number, as in the lake)"),
    };
    let today = Date::of_micros(now_micros());
    let (from, to) = match (visitor, from, to) {
        (None, Some(f), Some(t)) if f <= t => (f, t),
        (None, _, _) => return http::error(400, "give from and to (from ≤ to), or a visitor_id"),
        (Some(_), f, t) => {
            // Only days whose salt exists: the visitor id means this person there.
            let oldest = app.pipeline.salts.periods().into_iter().min().unwrap_or(today);
            (f.unwrap_or(oldest).max(oldest), t.unwrap_or(today))
        }
    };
    let rule = Rule { site: site.clone(), from, to, visitor, visitor_digest: None, before: now_micros() };
    match app.erase(&rule) {
        Ok(o) => {
            let details = json!({
                "site": site, "from": from.to_string(), "to": to.to_string(),
                "by_visitor": visitor.is_some(), "partitions": o.partitions,
                "files_rewritten": o.files_rewritten, "rows_removed": o.rows_removed,
                "unflushed_rows_removed": o.wal_rows_removed, "wal_segments_rewritten": o.wal_segments_rewritten,
                "hot_files_rewritten": o.hot_files_rewritten, "by": who.label(),
            });
            if let Err(e) = app.audit.record("erase", details.clone()) {
                crate::log::error("could not write the audit log", &[("error", &e)]);
            }
            crate::log::info("erased", &[("site", &site), ("rows", &o.rows_removed), ("by", &who.label())]);
            http::json(200, &details)
        }
        Err(e) => {
            crate::log::error("erase failed", &[("site", &site), ("error", &e)]);
            http::error(500, "the erase failed part-way; files are whole, run it again; see the collector's log")
        }
    }
}
