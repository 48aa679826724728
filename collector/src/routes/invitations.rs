//! `/api/invitations` (owner of the site in `?site_id=`, `*` or none for
//! every site): `POST {"name", "role"}` invites someone and answers the link
//! (`<MALLARD_PUBLIC_URL>/invite/<token>`, shown once, single-use, expiring
//! after `MALLARD_INVITATION_TTL`, 7 days); `GET` lists pending ones; `DELETE ?id=` revokes one.
//! `POST /api/invitations/accept {"token", "password"}` (open: the token is
//! the credential) makes the user and logs them in. `GET /invite/<token>`
//! serves the dashboard, which asks for the password.

use mallard_core::time::now_micros;
use serde_json::{Value, json};

use crate::app::App;
use crate::auth::access::{self, Principal};
use crate::auth::password::{self, PasswordHash};
use crate::auth::users::{self, ALL_SITES, Role, UserError};
use crate::http::params::Params;
use crate::http::{self, Reply, Request};

pub fn get(app: &App, query: &str) -> Reply {
    let (site, now) = (super::users::site(query), now_micros());
    let pending: Vec<_> =
        app.invitations.list().into_iter().filter(|i| i.live(now) && (site == ALL_SITES || i.site == site)).collect();
    http::json(200, &json!({"site": site, "invitations": pending}))
}

pub fn post(app: &App, request: &Request, query: &str, body: &[u8], who: Option<&Principal>) -> Reply {
    let site = super::users::site(query);
    if site != ALL_SITES && !mallard_core::lake::valid_site(&site) {
        return http::error(400, "site_id must be a site name like example.com, or * for every site");
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return http::error(400, "the body must be JSON: {\"name\": \"ana@example.com\", \"role\": \"viewer\"}");
    };
    let name = match users::check_name(v["name"].as_str().unwrap_or("")) {
        Ok(n) => n,
        Err(e) => return http::error(400, &e),
    };
    let role = match Role::parse(v["role"].as_str().unwrap_or("viewer")) {
        Ok(r) => r,
        Err(e) => return http::error(400, &e),
    };
    if app.auth.users.by_name(&name).is_some() {
        return http::error(409, &format!("{name:?} is already a user: give them a role with PUT /api/users"));
    }
    match app.invitations.invite(&name, &site, role, &access::label(who), app.config.invitation_ttl) {
        Ok((token, invitation)) => {
            app.audit.access(
                "access invited",
                &access::label(who),
                json!({"invitation": invitation.id, "name": name, "site": site, "role": role}),
            );
            // Without MALLARD_PUBLIC_URL, the address the owner reached us at.
            let host = http::header_value(request, "Host").filter(|h| !h.contains(['/', '@', ' ']));
            let url = format!("{}/invite/{token}", app.config.public_url(host));
            http::json(201, &json!({"url": url, "invitation": invitation}))
        }
        Err(e) => super::auth::store_error(&e, "could not save the invitation"),
    }
}

pub fn delete(app: &App, query: &str, who: Option<&Principal>) -> Reply {
    let site = super::users::site(query);
    let Some(id) = Params::parse(query).get("id").map(str::to_string) else {
        return http::error(400, "id is required: DELETE /api/invitations?id=<id>");
    };
    // An owner of one site revokes only that site's invitations.
    if !app.invitations.list().iter().any(|i| i.id == id && (site == ALL_SITES || i.site == site)) {
        return http::error(404, &format!("no pending invitation with id {id:?} for {site}"));
    }
    match app.invitations.revoke(&id) {
        Ok(_) => {
            app.audit.access("access invitation revoked", &access::label(who), json!({"invitation": id}));
            http::json(200, &json!({"revoked": id}))
        }
        Err(e) => super::auth::store_error(&e, "could not revoke the invitation"),
    }
}

pub fn accept(app: &App, request: &Request, body: &[u8]) -> Reply {
    // Like a login: it starts a session.
    if let Err(r) = super::auth::same_origin(app, request) {
        return r;
    }
    let v = serde_json::from_slice::<Value>(body).unwrap_or_default();
    let (Some(token), Some(new)) = (v["token"].as_str(), v["password"].as_str()) else {
        return http::error(400, "the body must be JSON: {\"token\": \"inv_…\", \"password\": \"...\"}");
    };
    // A weak password must not use up the invitation.
    if let Err(e) = password::check_new(new) {
        return http::error(400, &e);
    }
    let invitation = match app.invitations.take(token.trim()) {
        Ok(Some(i)) => i,
        Ok(None) => return http::error(404, "this invitation was used, revoked or never existed"),
        Err(e) => return super::auth::store_error(&e, "could not read the invitation"),
    };
    if !invitation.live(now_micros()) {
        return http::error(410, "this invitation has expired; ask for a new one");
    }
    let hash = match PasswordHash::new(new) {
        Ok(h) => h,
        Err(e) => return super::auth::store_error(&e, "could not hash the password"),
    };
    let user = match app.auth.users.add(&invitation.name, hash, &invitation.site, invitation.role) {
        Ok(u) => u,
        Err(e @ UserError::NameTaken(_)) => return http::error(409, &e.to_string()),
        Err(e) => return http::error(500, &e.to_string()),
    };
    app.audit.access(
        "access invitation accepted",
        &format!("user:{}", user.name),
        json!({"invitation": invitation.id, "invited_by": invitation.by, "user": user.id,
               "site": invitation.site, "role": invitation.role}),
    );
    match app.auth.start_session(&user.id) {
        Ok(token) => super::auth::login_reply(app, &token, &user),
        Err(e) => super::auth::store_error(&e, "could not start the session"),
    }
}

/// `/invite/<token>`: the dashboard page while the invitation is pending.
pub fn page(app: &App, token: &str, if_none_match: Option<&str>) -> Reply {
    match app.invitations.find(token) {
        Some(i) if i.live(now_micros()) => super::dashboard::index(if_none_match),
        Some(_) => http::reply(410, "text/plain; charset=utf-8", "This invitation has expired; ask for a new one.\n"),
        None => http::reply(404, "text/plain; charset=utf-8", "This invitation was used, revoked or never existed.\n"),
    }
}
