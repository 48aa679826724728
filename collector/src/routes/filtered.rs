//! `GET /api/filtered?days=30` (admin): what the collector filtered out, by
//! day: `{"days": [{"date", "dropped": {reason: events}, "rejected":
//! {status: requests}}]}`, newest first (see `filtered.rs`).

use serde_json::json;

use crate::app::App;
use crate::http::params::Params;
use crate::http::{self, Reply};

pub fn get(app: &App, query: &str) -> Reply {
    let days = match Params::parse(query).get("days").map(str::parse::<usize>) {
        None => 30,
        Some(Ok(d)) if (1..=90).contains(&d) => d,
        Some(_) => return http::error(400, "days must be a whole number from 1 to 90"),
    };
    if let Err(e) = app.filtered.record(&app.metrics) {
        return super::auth::store_error(&e, "could not record the latest counts");
    }
    let list: Vec<_> = app
        .filtered
        .days(days)
        .into_iter()
        .map(|(date, d)| json!({"date": date, "dropped": d.dropped, "rejected": d.rejected}))
        .collect();
    http::json(200, &json!({ "days": list }))
}
