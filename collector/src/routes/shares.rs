//! `/api/shares` (admin): `GET` lists shared links, `POST {"site_id",
//! "name"}` creates one (its URL shown once), `DELETE ?id=` revokes one.
//! `GET /share/<token>` opens the dashboard for that site alone.

use serde_json::{Value, json};

use crate::app::App;
use crate::auth::access::{self, Principal};
use crate::http::params::Params;
use crate::http::{self, Reply};

pub fn get(app: &App) -> Reply {
    http::json(200, &json!({"shares": app.shares.list()}))
}

pub fn post(app: &App, body: &[u8], who: Option<&Principal>) -> Reply {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return http::error(400, "the body must be JSON: {\"site_id\": \"example.com\", \"name\": \"...\"}");
    };
    let site = v["site_id"].as_str().unwrap_or("").to_lowercase();
    if !mallard_core::lake::valid_site(&site) {
        return http::error(400, "site_id must be a site name like example.com");
    }
    let name = v["name"].as_str().unwrap_or("shared link").trim().chars().take(100).collect::<String>();
    match app.shares.create(&site, &name) {
        Ok((token, share)) => {
            app.audit.access(
                "access shared link created",
                &access::label(who),
                json!({"share": share.id, "site": site}),
            );
            http::json(201, &json!({"url": format!("/share/{token}"), "share": share}))
        }
        Err(e) => super::auth::store_error(&e, "could not save the shared link"),
    }
}

pub fn delete(app: &App, query: &str, who: Option<&Principal>) -> Reply {
    let p = Params::parse(query);
    let Some(id) = p.get("id") else { return http::error(400, "id is required: DELETE /api/shares?id=<id>") };
    match app.shares.revoke(id) {
        Ok(true) => {
            app.audit.access("access shared link revoked", &access::label(who), json!({"share": id}));
            http::json(200, &json!({"revoked": id}))
        }
        Ok(false) => http::error(404, &format!("no shared link with id {id:?}")),
        Err(e) => super::auth::store_error(&e, "could not revoke the shared link"),
    }
}

/// `/share/<token>`: the dashboard page, if the link is live.
pub fn page(app: &App, token: &str, if_none_match: Option<&str>) -> Reply {
    match app.shares.find(token) {
        Some(_) => super::dashboard::index(if_none_match),
        None => http::reply(404, "text/plain; charset=utf-8", "This shared link was revoked or never existed.\n"),
    }
}
