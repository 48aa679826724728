//! `/api/users` (owner): the team of a site. `?site_id=` names the site the
//! request is about, `*` (or none) every site; an owner of a site manages
//! roles on that site only.
//! - `GET` lists the users with a role there (never a password hash);
//! - `PUT ?id= {"role": "viewer"|"admin"|"owner"|null}` sets or (null)
//!   takes away the user's role there;
//! - `DELETE ?id=` takes away the role there, or on every site removes the
//!   user and ends their sessions.
//!
//! No change may leave nobody who owns every site. Each one is audited.

use serde_json::{Value, json};

use crate::app::App;
use crate::auth::access::{self, Principal};
use crate::auth::users::{ALL_SITES, Role, UserError};
use crate::http::params::Params;
use crate::http::{self, Reply};

/// The site a request is about (`*` when it names none).
pub fn site(query: &str) -> String {
    Params::parse(query).get("site_id").map_or_else(|| ALL_SITES.to_string(), str::to_lowercase)
}

fn refused(e: &UserError) -> Reply {
    match e {
        UserError::NotFound => http::error(404, "no such user (see GET /api/users)"),
        UserError::NameTaken(_) => http::error(409, &e.to_string()),
        UserError::LastOwner => http::error(409, &e.to_string()),
        UserError::Store(io) => super::auth::store_error(io, "could not save the users"),
    }
}

pub fn get(app: &App, query: &str) -> Reply {
    let site = site(query);
    let users: Vec<_> = app
        .auth
        .users
        .list()
        .into_iter()
        .filter_map(|mut u| {
            if site != ALL_SITES {
                u.roles.retain(|s, _| *s == site || s == ALL_SITES);
            }
            (!u.roles.is_empty()).then_some(u)
        })
        .collect();
    http::json(200, &json!({"site": site, "users": users}))
}

pub fn put(app: &App, query: &str, body: &[u8], who: Option<&Principal>) -> Reply {
    let site = site(query);
    let Some(id) = Params::parse(query).get("id").map(str::to_string) else {
        return http::error(400, "id is required: PUT /api/users?id=<id>&site_id=<site>");
    };
    let role = match serde_json::from_slice::<Value>(body).map(|v| v["role"].clone()) {
        Ok(Value::Null) => None,
        Ok(Value::String(r)) => match Role::parse(&r) {
            Ok(role) => Some(role),
            Err(e) => return http::error(400, &e),
        },
        _ => return http::error(400, "the body must be JSON: {\"role\": \"viewer\"|\"admin\"|\"owner\"|null}"),
    };
    if let Err(e) = app.auth.users.set_role(&id, &site, role) {
        return refused(&e);
    }
    app.audit.access("access role set", &access::label(who), json!({"user": id, "site": site, "role": role}));
    http::json(200, &json!({"id": id, "site": site, "role": role}))
}

pub fn delete(app: &App, query: &str, who: Option<&Principal>) -> Reply {
    let site = site(query);
    let Some(id) = Params::parse(query).get("id").map(str::to_string) else {
        return http::error(400, "id is required: DELETE /api/users?id=<id>");
    };
    if site != ALL_SITES {
        return match app.auth.users.set_role(&id, &site, None) {
            Ok(()) => {
                app.audit.access(
                    "access role set",
                    &access::label(who),
                    json!({"user": id, "site": site, "role": null}),
                );
                http::json(200, &json!({"id": id, "site": site, "role": null}))
            }
            Err(e) => refused(&e),
        };
    }
    let name = app.auth.users.get(&id).map(|u| u.name);
    if let Err(e) = app.auth.users.remove(&id) {
        return refused(&e);
    }
    if let Err(e) = app.auth.end_sessions(&id, None) {
        // The sessions open nothing without their user; this only tidies.
        crate::log::warn("could not end a removed user's sessions", &[("error", &e)]);
    }
    app.audit.access("access user removed", &access::label(who), json!({"user": id, "name": name}));
    http::json(200, &json!({"removed": id}))
}

/// `GET /api/audit` (owner of every site): the audit log's last 200 lines,
/// newest first.
pub fn audit(app: &App) -> Reply {
    match app.audit.tail(200) {
        Ok(lines) => http::json(200, &json!({"audit": lines})),
        Err(e) => {
            crate::log::error("cannot read the audit log", &[("error", &e)]);
            http::error(500, "cannot read the audit log; see the collector's log")
        }
    }
}
