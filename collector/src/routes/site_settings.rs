//! `/api/sites/settings?site_id=…`: a site's settings. `GET` reads them,
//! `PUT {"small_count_k": 5, "timezone": "Europe/Berlin"}` (admin) changes
//! them: shared links of the site hide every number that describes fewer
//! than k visitors (0 or 1: off); email digests count the zone's days.

use serde_json::{Value, json};

use crate::app::App;
use crate::http::params::Params;
use crate::http::{self, Reply};

/// The largest k accepted.
const MAX_K: u64 = 1000;

fn reply(site: &str, app: &App) -> Reply {
    let settings = app.site_settings.get(site);
    http::json(
        200,
        &json!({"site_id": site, "small_count_k": settings.k(), "timezone": settings.timezone.unwrap_or("UTC".into())}),
    )
}

pub fn get(app: &App, query: &str) -> Reply {
    match super::saved::site(&Params::parse(query)) {
        Ok(site) => reply(&site, app),
        Err(r) => r,
    }
}

pub fn put(app: &App, query: &str, body: &[u8]) -> Reply {
    let site = match super::saved::site(&Params::parse(query)) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(v @ Value::Object(_)) = serde_json::from_slice::<Value>(body) else {
        return http::error(
            400,
            "the body must be a JSON object like {\"small_count_k\": 5, \"timezone\": \"Europe/Berlin\"}",
        );
    };
    let mut settings = app.site_settings.get(&site);
    if let Some(k) = v.get("small_count_k") {
        match k.as_u64() {
            Some(k) if k <= MAX_K => settings.small_count_k = Some(k),
            _ => {
                return http::error(
                    400,
                    &format!("small_count_k must be a whole number from 0 to {MAX_K} (0 or 1: show every number)"),
                );
            }
        }
    }
    if let Some(tz) = v.get("timezone") {
        let Some(tz) = tz.as_str() else { return http::error(400, "timezone must be text, e.g. \"Europe/Berlin\"") };
        // The same check every report makes.
        if let Err(e) = app.stats.today(Some(tz)) {
            return super::stats::error_reply(e);
        }
        settings.timezone = (tz != "UTC").then(|| tz.to_string());
    }
    if let Err(e) = app.site_settings.put(&site, settings) {
        return super::auth::store_error(&e, "could not save the site's settings");
    }
    reply(&site, app)
}
