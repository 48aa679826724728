//! `/api/annotations?site_id=…`: dated notes of a site. `GET` lists them by
//! date (optionally `from`/`to`, `YYYY-MM-DD`), `POST {"date", "text"}`
//! (admin) adds one (201), `DELETE …&id=…` (admin) removes one.

use serde_json::{Value, json};

use crate::app::App;
use crate::auth::secret;
use crate::http::params::Params;
use crate::http::{self, Reply};
use crate::query::annotations::Annotation;

pub fn get(app: &App, query: &str) -> Reply {
    let p = Params::parse(query);
    let site = match super::saved::site(&p) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (from, to) = (p.get("from").unwrap_or(""), p.get("to").unwrap_or("9999-12-31"));
    let mut notes: Vec<Annotation> =
        app.annotations.list(&site).into_iter().filter(|a| a.date.as_str() >= from && a.date.as_str() <= to).collect();
    notes.sort_by(|a, b| (&a.date, &a.id).cmp(&(&b.date, &b.id)));
    http::json(200, &json!({"site_id": site, "annotations": notes}))
}

pub fn post(app: &App, query: &str, body: &[u8]) -> Reply {
    let site = match super::saved::site(&Params::parse(query)) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let (Some(date), Some(text)) = (v["date"].as_str(), v["text"].as_str()) else {
        return http::error(400, "the body must be a JSON object {\"date\": \"2026-11-30\", \"text\": \"…\"}");
    };
    if let Err(e) = Annotation::check(date, text) {
        return http::error(400, &e);
    }
    let id = match secret::random::<8>() {
        Ok(bytes) => secret::to_hex(&bytes),
        Err(e) => return http::error(500, &format!("no random id: {e}")),
    };
    let note = Annotation { id, date: date.to_string(), text: text.trim().to_string() };
    super::saved::put(&app.annotations, &site, note, "annotation")
}

pub fn delete(app: &App, query: &str) -> Reply {
    super::saved::delete(&app.annotations, query, "annotation", "id")
}
