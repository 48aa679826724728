//! `/api/funnels?site_id=…`: saved funnels of a site. `GET` lists them,
//! `PUT` saves one (`{"name", "steps", "within", "mode"}`, `within` in
//! seconds or like "30m"/"1d"; 201 when new, 200 when replaced), `DELETE`
//! with `&name=…` removes one. `/api/stats/funnel?funnel=<name>` runs one.

use serde_json::Value;

use crate::app::App;
use crate::http::params::Params;
use crate::http::{self, Reply};
use crate::query::funnels::Funnel;

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
    super::saved::list(&app.funnels, query, "funnels")
}

pub fn put(app: &App, query: &str, body: &[u8]) -> Reply {
    let site = match super::saved::site(&Params::parse(query)) {
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
    super::saved::put(&app.funnels, &site, funnel, "funnel")
}

pub fn delete(app: &App, query: &str) -> Reply {
    super::saved::delete(&app.funnels, query, "funnel", "name")
}
