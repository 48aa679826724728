//! Who is asking, and what they may do. Ingestion and the page's static
//! files are open to every browser; stats need a viewer of the site; goals,
//! settings, keys, shares and erase an admin; users and invitations an
//! owner. A request's site is its `site_id`; without one, the role must
//! cover every site (`*`).
//!
//! A request is identified by, in order: `Authorization: Bearer mm_…` (an
//! API key: `read` acts as a viewer, `admin` as an admin, of its sites),
//! the `mallard_session` cookie (a user), `X-Mallard-Share` (a shared link:
//! a viewer of one site). Until a password is set, loopback clients are the
//! owner and nobody else gets in.

use std::net::IpAddr;

use crate::app::App;
use crate::auth::keys::Scope;
use crate::auth::users::{self, Role, Roles};
use crate::http;
use crate::http::Request;

pub const SESSION_COOKIE: &str = "mallard_session";
pub const SHARE_HEADER: &str = "X-Mallard-Share";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// This machine before any password exists: the owner of every site.
    Local,
    /// A logged-in user (the session cookie), with their roles as they are now.
    User {
        id: String,
        name: String,
        roles: Roles,
    },
    Key {
        id: String,
        scope: Scope,
        sites: Option<Vec<String>>,
    },
    Share {
        site: String,
    },
}

impl Principal {
    /// The role on `site`; `None` asks for a role on every site.
    pub fn role(&self, site: Option<&str>) -> Option<Role> {
        match self {
            Principal::Local => Some(Role::Owner),
            Principal::User { roles, .. } => users::role_on(roles, site),
            Principal::Key { scope, sites, .. } => {
                let covered = match (sites, site) {
                    (None, _) => true,
                    (Some(list), Some(site)) => list.iter().any(|s| s == site),
                    (Some(_), None) => false,
                };
                match scope {
                    Scope::Read if covered => Some(Role::Viewer),
                    Scope::Admin if covered => Some(Role::Admin),
                    _ => None,
                }
            }
            Principal::Share { site: s } => (site == Some(s.as_str())).then_some(Role::Viewer),
        }
    }

    /// An admin of every site.
    pub fn is_admin(&self) -> bool {
        self.role(None) >= Some(Role::Admin)
    }

    /// Whether this principal may read `site`'s stats.
    pub fn can_read(&self, site: &str) -> bool {
        match self {
            // Scope is checked apart (an ingest key reads nothing anyway).
            Principal::Key { sites, .. } => sites.as_ref().is_none_or(|s| s.iter().any(|x| x == site)),
            _ => self.role(Some(site)).is_some(),
        }
    }

    /// For the audit log: who did it (never a secret).
    pub fn label(&self) -> String {
        match self {
            Principal::Local => "owner (this machine, before any password)".into(),
            Principal::User { name, .. } => format!("user:{name}"),
            Principal::Key { id, .. } => format!("key:{id}"),
            Principal::Share { site } => format!("share:{site}"),
        }
    }
}

/// The audit label of a request's principal (`anonymous` for none).
pub fn label(who: Option<&Principal>) -> String {
    who.map_or_else(|| "anonymous".into(), Principal::label)
}

/// Why a request is refused: (status, message).
pub type Refusal = (u16, String);

/// The value of cookie `name`.
pub fn cookie<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    http::header_value(request, "Cookie")?.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

pub fn peer_ip(app: &App, request: &Request) -> Option<IpAddr> {
    http::client_ip(request, app.config.trust_proxy)
}

/// Whether the request comes from this machine: the socket peer is loopback
/// and no proxy header names another address. A reverse proxy on the same
/// host connects from loopback for everyone, so a forwarded address counts
/// here even when `MALLARD_TRUST_PROXY` is off.
pub fn is_local(request: &Request) -> bool {
    let forwarded_elsewhere = ["X-Forwarded-For", "X-Real-IP"].into_iter().any(|name| {
        http::header_value(request, name)
            .is_some_and(|v| v.split(',').any(|ip| !ip.trim().parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())))
    });
    request.remote_addr().is_some_and(|a| a.ip().is_loopback()) && !forwarded_elsewhere
}

/// Identifies the caller; `Ok(None)` = anonymous.
pub fn identify(app: &App, request: &Request) -> Result<Option<Principal>, Refusal> {
    if let Some(auth) = http::header_value(request, "Authorization") {
        let token = auth.strip_prefix("Bearer ").map(str::trim).unwrap_or("");
        return match app.keys.find(token) {
            Some(k) => Ok(Some(Principal::Key { id: k.id, scope: k.scope, sites: k.sites })),
            None => Err((401, "unknown or revoked API key (Authorization: Bearer mm_…)".into())),
        };
    }
    if let Some(token) = cookie(request, SESSION_COOKIE)
        && let Some(user) = app.auth.session(token)
    {
        return Ok(Some(Principal::User { id: user.id, name: user.name, roles: user.roles }));
    }
    if let Some(token) = http::header_value(request, SHARE_HEADER) {
        return match app.shares.find(token.trim()) {
            Some(s) => Ok(Some(Principal::Share { site: s.site })),
            None => Err((401, "this shared link was revoked or never existed".into())),
        };
    }
    // Before a password exists, the machine's own user is the owner.
    if !app.auth.has_password() && is_local(request) {
        return Ok(Some(Principal::Local));
    }
    Ok(None)
}

/// A reader of stats, or the refusal to send.
pub fn reader(app: &App, request: &Request) -> Result<Principal, Refusal> {
    match identify(app, request)? {
        Some(Principal::Key { scope: Scope::Ingest, .. }) => {
            Err((403, "this API key may only send events (scope ingest); use a read or admin key".into()))
        }
        Some(p) => Ok(p),
        None if !app.auth.has_password() => Err((
            403,
            "no password is set yet: stats are served to this machine only until you set one (POST /api/auth/setup)"
                .into(),
        )),
        None => Err((401, "log in, or send an API key (Authorization: Bearer mm_…)".into())),
    }
}

/// A principal with at least role `need` on `site` (`None`: every site),
/// or the refusal to send.
pub fn at_least(app: &App, request: &Request, need: Role, site: Option<&str>) -> Result<Principal, Refusal> {
    let p = reader(app, request)?;
    if p.role(site) >= Some(need) {
        return Ok(p);
    }
    let what = match need {
        Role::Owner => "an owner",
        Role::Admin => "an admin",
        Role::Viewer => "a viewer",
    };
    let of = match site {
        Some(site) => format!("of site {site:?}"),
        None => "of every site (or name the site with site_id)".into(),
    };
    Err((403, format!("this needs {what} {of}; ask an owner for the role, or use an admin API key")))
}

/// A logged-in user (their own password), or the refusal to send.
pub fn user(app: &App, request: &Request) -> Result<Principal, Refusal> {
    match reader(app, request)? {
        p @ Principal::User { .. } => Ok(p),
        _ => Err((403, "only a logged-in user has a password to change here".into())),
    }
}

/// A sender of server-side events: an API key with scope `ingest` or
/// `admin`, or the refusal to send.
pub fn ingester(app: &App, request: &Request) -> Result<Principal, Refusal> {
    match identify(app, request)? {
        Some(p @ Principal::Key { scope: Scope::Ingest | Scope::Admin, .. }) => Ok(p),
        Some(_) => Err((403, "sending a batch needs an API key with scope ingest (or admin)".into())),
        None => Err((401, "sending a batch needs an API key with scope ingest (Authorization: Bearer mm_…)".into())),
    }
}

/// The origins allowed to act with a session cookie: the server's own
/// (from `Host`) and `MALLARD_DASHBOARD_ORIGIN`.
fn allowed_origin(app: &App, request: &Request, origin: &str) -> bool {
    if app.config.dashboard_origin.as_deref() == Some(origin) {
        return true;
    }
    let host = http::header_value(request, "Host").unwrap_or("");
    origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host)
}

/// CSRF: a state-changing request that relies on the session cookie must
/// come from an allowed `Origin`. Keys and share tokens are not ambient
/// credentials, so they need no such check.
pub fn check_origin(app: &App, request: &Request, principal: &Principal) -> Result<(), Refusal> {
    if !matches!(principal, Principal::User { .. }) {
        return Ok(());
    }
    check_cookie_origin(app, request)
}

/// The `Origin` check of a request made with (or for) a session cookie.
pub fn check_cookie_origin(app: &App, request: &Request) -> Result<(), Refusal> {
    match http::header_value(request, "Origin") {
        Some(origin) if allowed_origin(app, request, origin) => Ok(()),
        Some(_) => Err((403, "cross-origin request refused: Origin does not match this dashboard".into())),
        None => Err((403, "a request made with the session cookie must carry an Origin header".into())),
    }
}

/// The CORS origin to echo for stats/admin routes (credentials allowed).
pub fn cors_origin(app: &App, request: &Request) -> Option<String> {
    let origin = http::header_value(request, "Origin")?;
    (app.config.dashboard_origin.as_deref() == Some(origin)).then(|| origin.to_string())
}
