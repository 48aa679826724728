//! `/api/auth/*`: first-run setup, login, logout and status.
//! `POST /api/auth/setup {"password"}` works only while no password exists,
//! and from another machine only with `"token"`: the one-time setup token
//! the collector prints in its start-up log (so whoever reaches a fresh
//! collector on a public address first cannot claim it);
//! `POST /api/auth/login {"name"?, "password"}` answers with a session
//! cookie (`HttpOnly; SameSite=Strict`, `Secure` with
//! MALLARD_SECURE_COOKIES); without a name it is the first owner's login.
//! Repeated failures answer `429` with `Retry-After`.
//! `POST /api/auth/password {"current", "password"}` changes the logged-in
//! user's own password and ends their other sessions.

use crate::http::Request;
use serde_json::{Value, json};

use crate::app::App;
use crate::auth::access::{self, Principal, SESSION_COOKIE};
use crate::auth::users::{ALL_SITES, Role, Roles, User};
use crate::auth::{LoginError, PasswordError};
use crate::http::{self, Reply, header};

/// The setup token a non-local setup must carry (`"token"` in the body).
fn setup_token(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Value>(body).ok()?["token"].as_str().map(|t| t.trim().to_string())
}

fn password(body: &[u8]) -> Result<String, Reply> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => match v["password"].as_str() {
            Some(p) => Ok(p.to_string()),
            None => Err(http::error(400, "the body must be {\"password\": \"...\"}")),
        },
        Err(_) => Err(http::error(400, "the body must be JSON: {\"password\": \"...\"}")),
    }
}

fn cookie(app: &App, value: &str, max_age: u64) -> crate::http::Header {
    let secure = if app.config.secure_cookies { "; Secure" } else { "" };
    header(
        "Set-Cookie",
        &format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"),
    )
}

pub fn login_reply(app: &App, token: &str, user: &User) -> Reply {
    http::json(200, &json!({"authenticated": true, "user": user.name})).with_header(cookie(
        app,
        token,
        app.auth.session_ttl().as_secs(),
    ))
}

/// The login must come from this dashboard when the browser says where
/// from (login CSRF); scripts without an Origin are fine.
pub(super) fn same_origin(app: &App, request: &Request) -> Result<(), Reply> {
    if http::header_value(request, "Origin").is_none() {
        return Ok(());
    }
    access::check_cookie_origin(app, request).map_err(|(s, m)| http::error(s, &m))
}

pub fn setup(app: &App, request: &Request, body: &[u8]) -> Reply {
    if let Err(r) = same_origin(app, request) {
        return r;
    }
    let password = match password(body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if app.auth.has_password() {
        return http::error(409, "a password is already set; log in instead");
    }
    if !access::is_local(request) && !setup_token(body).is_some_and(|t| app.auth.is_setup_token(&t)) {
        app.metrics.inc("mallard_login_failures_total", "", 1.0);
        return http::error(
            403,
            "first-run setup from another machine needs the setup token printed in the collector's start-up log \
             (\"token\" in the body), or set MALLARD_ADMIN_PASSWORD",
        );
    }
    if let Err(e) = app.auth.setup(&password) {
        return http::error(400, &e);
    }
    crate::log::info("dashboard password set", &[]);
    let by = if access::is_local(request) { "this machine" } else { "setup token" };
    app.audit.access("access first owner set", by, json!({"user": crate::auth::users::FIRST_OWNER}));
    let Some(ip) = access::peer_ip(app, request) else { return http::error(400, "no client address") };
    match app.auth.login(ip, None, &password) {
        Ok((token, user)) => login_reply(app, &token, &user),
        Err(_) => http::json(200, &json!({"authenticated": false})),
    }
}

pub fn login(app: &App, request: &Request, body: &[u8]) -> Reply {
    if let Err(r) = same_origin(app, request) {
        return r;
    }
    let password = match password(body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let name = serde_json::from_slice::<Value>(body).ok().and_then(|v| v["name"].as_str().map(str::to_string));
    let name = name.filter(|n| !n.trim().is_empty());
    let Some(ip) = access::peer_ip(app, request) else { return http::error(400, "no client address") };
    match app.auth.login(ip, name.as_deref(), &password) {
        Ok((token, user)) => login_reply(app, &token, &user),
        Err(LoginError::Wrong) => {
            app.metrics.inc("mallard_login_failures_total", "", 1.0);
            http::error(401, if name.is_some() { "wrong name or password" } else { "wrong password" })
        }
        Err(LoginError::NoPassword) => http::error(409, "no password is set yet; set one with POST /api/auth/setup"),
        Err(LoginError::Locked(wait)) => {
            let secs = wait.as_secs().max(1);
            http::error(429, &format!("too many failed logins; try again in {secs} s"))
                .with_header(header("Retry-After", &secs.to_string()))
        }
        Err(LoginError::Store(e)) => store_error(&e, "could not start the session"),
    }
}

/// A settings store that cannot save: `503` while the shared one is
/// unreachable (try again), `500` otherwise.
pub fn store_error(e: &std::io::Error, what: &str) -> Reply {
    crate::log::error(what, &[("error", e)]);
    if crate::store::is_unavailable(e) {
        http::error(503, &format!("{what}: {e}; try again shortly")).with_header(header("Retry-After", "5"))
    } else {
        http::error(500, &format!("{what}; see the collector's log"))
    }
}

pub fn logout(app: &App, request: &Request) -> Reply {
    if let Some(token) = access::cookie(request, SESSION_COOKIE) {
        if let Err(r) = same_origin(app, request) {
            return r;
        }
        if let Err(e) = app.auth.logout(token) {
            return store_error(&e, "could not end the session");
        }
    }
    http::json(200, &json!({"authenticated": false})).with_header(cookie(app, "", 0))
}

/// `POST /api/auth/password`: the logged-in user's own password.
pub fn change_password(app: &App, request: &Request, body: &[u8], who: Option<&Principal>) -> Reply {
    let (Some(Principal::User { id, name, .. }), Some(token)) = (who, access::cookie(request, SESSION_COOKIE)) else {
        return http::error(403, "only a logged-in user has a password to change here");
    };
    let v = serde_json::from_slice::<Value>(body).unwrap_or_default();
    let (Some(current), Some(new)) = (v["current"].as_str(), v["password"].as_str()) else {
        return http::error(400, "the body must be JSON: {\"current\": \"...\", \"password\": \"new ...\"}");
    };
    match app.auth.change_password(id, token, current, new) {
        Ok(()) => {
            app.audit.access("access password changed", &access::label(who), json!({"user": id}));
            http::json(200, &json!({"changed": true, "user": name}))
        }
        Err(PasswordError::Wrong) => {
            app.metrics.inc("mallard_login_failures_total", "", 1.0);
            http::error(403, "the current password is wrong")
        }
        Err(PasswordError::Weak(e)) => http::error(400, &e),
        Err(PasswordError::User(e)) => http::error(500, &e.to_string()),
    }
}

/// The roles the dashboard shows or hides its controls by.
fn roles(who: &Principal) -> Roles {
    match who {
        Principal::Local => Roles::from([(ALL_SITES.to_string(), Role::Owner)]),
        Principal::User { roles, .. } => roles.clone(),
        Principal::Key { sites, .. } => {
            let sites = sites.clone().unwrap_or_else(|| vec![ALL_SITES.to_string()]);
            sites.into_iter().filter_map(|s| who.role(Some(&s)).map(|r| (s, r))).collect()
        }
        Principal::Share { site } => Roles::from([(site.clone(), Role::Viewer)]),
    }
}

pub fn status(app: &App, request: &Request) -> Reply {
    let who = access::identify(app, request).ok().flatten();
    http::json(
        200,
        &json!({
            "password_set": app.auth.has_password(),
            "setup_token_required": !app.auth.has_password() && !access::is_local(request),
            "authenticated": who.is_some(),
            "admin": who.as_ref().is_some_and(Principal::is_admin),
            "owner": who.as_ref().is_some_and(|p| p.role(None) == Some(Role::Owner)),
            "roles": who.as_ref().map(roles),
            "user": match &who { Some(Principal::User { name, .. }) => Some(name.clone()), _ => None },
            "via": who.as_ref().map(|p| match p {
                Principal::User { .. } => "session",
                Principal::Local => "loopback",
                Principal::Key { .. } => "api_key",
                Principal::Share { .. } => "share",
            }),
            "site": match &who { Some(Principal::Share { site }) => Some(site.clone()), _ => None },
        }),
    )
}
