//! `/api/keys` (admin): `GET` lists keys (never the keys themselves),
//! `POST {"name", "scope": "read"|"admin"|"ingest", "sites": [..]?}` creates one and
//! shows it once, `DELETE ?id=` revokes one.

use serde_json::{Value, json};

use crate::app::App;
use crate::auth::access::{self, Principal};
use crate::auth::keys::Scope;
use crate::http::params::Params;
use crate::http::{self, Reply};

pub fn get(app: &App) -> Reply {
    http::json(200, &json!({"keys": app.keys.list()}))
}

pub fn post(app: &App, body: &[u8], who: Option<&Principal>) -> Reply {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return http::error(
            400,
            "the body must be JSON: {\"name\", \"scope\": \"read\"|\"admin\"|\"ingest\", \"sites\": [...]}",
        );
    };
    let name = v["name"].as_str().unwrap_or("").trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return http::error(400, "a key needs a name of 1 to 100 characters");
    }
    let scope = match Scope::parse(v["scope"].as_str().unwrap_or("read")) {
        Ok(s) => s,
        Err(e) => return http::error(400, &e),
    };
    let sites = match &v["sites"] {
        Value::Null => None,
        Value::Array(items) => {
            let sites: Option<Vec<String>> = items.iter().map(|s| s.as_str().map(str::to_lowercase)).collect();
            match sites {
                Some(s) if !s.is_empty() && s.iter().all(|x| mallard_core::lake::valid_site(x)) => Some(s),
                _ => return http::error(400, "sites must be a non-empty list of site names like [\"example.com\"]"),
            }
        }
        _ => return http::error(400, "sites must be a list of site names, or absent for every site"),
    };
    match app.keys.create(name, scope, sites) {
        Ok((token, key)) => {
            app.audit.access(
                "access key created",
                &access::label(who),
                json!({"key": key.id, "name": key.name, "scope": key.scope, "sites": key.sites}),
            );
            http::json(201, &json!({"key": token, "info": key}))
        }
        Err(e) => super::auth::store_error(&e, "could not save the key"),
    }
}

pub fn delete(app: &App, query: &str, who: Option<&Principal>) -> Reply {
    let p = Params::parse(query);
    let Some(id) = p.get("id") else { return http::error(400, "id is required: DELETE /api/keys?id=<id>") };
    match app.keys.revoke(id) {
        Ok(true) => {
            app.audit.access("access key revoked", &access::label(who), json!({"key": id}));
            http::json(200, &json!({"revoked": id}))
        }
        Ok(false) => http::error(404, &format!("no API key with id {id:?}")),
        Err(e) => super::auth::store_error(&e, "could not revoke the key"),
    }
}
