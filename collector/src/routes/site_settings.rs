//! `/api/sites/settings?site_id=…`: a site's settings. `GET` reads them,
//! `PUT {"small_count_k": 5}` (admin) changes them: shared links of the site
//! hide every number that describes fewer than k visitors (0 or 1: off).

use serde_json::{Value, json};

use crate::app::App;
use crate::http::params::Params;
use crate::http::{self, Reply};

/// The largest k accepted.
const MAX_K: u64 = 1000;

fn reply(site: &str, app: &App) -> Reply {
    let settings = app.site_settings.get(site);
    http::json(200, &json!({"site_id": site, "small_count_k": settings.k()}))
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
    let k = match serde_json::from_slice::<Value>(body) {
        Ok(v) => match v.get("small_count_k").and_then(Value::as_u64) {
            Some(k) if k <= MAX_K => k,
            _ => {
                return http::error(
                    400,
                    &format!("small_count_k must be a whole number from 0 to {MAX_K} (0 or 1: show every number)"),
                );
            }
        },
        Err(_) => return http::error(400, "the body must be a JSON object like {\"small_count_k\": 5}"),
    };
    let mut settings = app.site_settings.get(&site);
    settings.small_count_k = Some(k);
    if let Err(e) = app.site_settings.put(&site, settings) {
        return super::auth::store_error(&e, "could not save the site's settings");
    }
    reply(&site, app)
}
