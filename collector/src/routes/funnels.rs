//! `/api/funnels?site_id=…`: saved funnels of a site. `GET` lists them,
//! `PUT` saves one (`{"name", "steps", "within", "mode"}`, `within` in
//! seconds or like "30m"/"1d"; 201 when new, 200 when replaced), `DELETE`
//! with `&name=…` removes one. `/api/stats/funnel?funnel=<name>` runs one.

use mallard_core::lake;
use serde_json::{Value, json};

use crate::app::App;
use crate::http::params::Params;
use crate::http::{self, Reply};
use crate::query::funnels::Funnel;

fn site(p: &Params) -> Result<String, Reply> {
    let site = p.get("site_id").ok_or_else(|| http::error(400, "site_id is required, e.g. site_id=example.com"))?;
    let site = site.to_lowercase();
    if !lake::valid_site(&site) {
        return Err(http::error(400, &format!("invalid site {site:?}: a host name like example.com")));
    }
    Ok(site)
}

/// `within` as seconds: a number, or a duration like "90s", "30m", "1d".
pub fn within_seconds(v: &Value) -> Result<u64, String> {
    let bad = || "within is a duration like 3600, \"30m\", \"12h\" or \"1d\"".to_string();
    match v {
        Value::Null => Ok(86_400),
        Value::Number(n) => n.as_u64().ok_or_else(bad),
        Value::String(s) => crate::config::parse_duration(s).map(|d| d.as_secs()).ok_or_else(bad),
        _ => Err(bad()),
    }
}

pub fn get(app: &App, query: &str) -> Reply {
    let p = Params::parse(query);
    match site(&p) {
        Ok(site) => http::json(200, &json!({"site_id": site, "funnels": app.funnels.list(&site)})),
        Err(r) => r,
    }
}

pub fn put(app: &App, query: &str, body: &[u8]) -> Reply {
    let p = Params::parse(query);
    let site = match site(&p) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let v: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return http::error(400, "the body must be a JSON object {\"name\", \"steps\", \"within\", \"mode\"}"),
    };
    let steps = match v["steps"].as_array() {
        Some(items) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()
        }
        _ => return http::error(400, "steps must be a list of steps like [\"page:/\", \"event:Signup\"]"),
    };
    let within = match within_seconds(&v["within"]) {
        Ok(w) => w,
        Err(e) => return http::error(400, &e),
    };
    let funnel = Funnel {
        name: v["name"].as_str().unwrap_or("").trim().to_string(),
        steps,
        within,
        mode: v["mode"].as_str().unwrap_or("").to_string(),
    };
    if let Err(e) = funnel.validate() {
        return http::error(400, &e);
    }
    match app.funnels.put(&site, funnel.clone()) {
        Ok(replaced) => http::json(if replaced { 200 } else { 201 }, &json!({"site_id": site, "funnel": funnel})),
        Err(e) => super::auth::store_error(&e, "could not save the funnel"),
    }
}

pub fn delete(app: &App, query: &str) -> Reply {
    let p = Params::parse(query);
    let site = match site(&p) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(name) = p.get("name") else { return http::error(400, "name is required") };
    match app.funnels.delete(&site, name) {
        Ok(true) => http::reply(204, "application/json", Vec::new()),
        Ok(false) => http::error(404, &format!("no saved funnel {name:?} for {site}")),
        Err(e) => super::auth::store_error(&e, "could not delete the funnel"),
    }
}
