//! `/api/digests?site_id=…` (admin): who gets a site's email digests. `GET`
//! lists them, `PUT {"email", "weekly", "monthly"}` subscribes (or changes)
//! an address, `DELETE …&email=…` removes one. `/api/digests/unsubscribe?
//! token=…` is the link in every digest: `GET` shows a one-button page,
//! `POST` (the button, or a mail client's one-click, RFC 8058) unsubscribes.
//! `/api/digests/mine?site_id=…` (any logged-in user who may read the site):
//! `GET` shows, `PUT {"email"?, "weekly", "monthly"}` sets the user's own
//! opt-in (the address defaults to their name when that is one).

use serde_json::{Value, json};

use crate::app::App;
use crate::auth::access::Principal;
use crate::digests::valid_email;
use crate::http::params::Params;
use crate::http::{self, Reply};

fn list(app: &App, site: &str) -> Reply {
    let subscribers: Vec<Value> = app
        .digests
        .subscribers(site)
        .into_iter()
        .map(|s| json!({"email": s.email, "weekly": s.weekly, "monthly": s.monthly}))
        .collect();
    let settings = app.site_settings.get(site);
    http::json(
        200,
        &json!({"site_id": site, "subscribers": subscribers, "timezone": settings.timezone.unwrap_or("UTC".into()),
                "email": app.config.smtp_url.is_some()}),
    )
}

pub fn get(app: &App, query: &str) -> Reply {
    match super::saved::site(&Params::parse(query)) {
        Ok(site) => list(app, &site),
        Err(r) => r,
    }
}

fn change(app: &App, site: &str, email: &str, weekly: bool, monthly: bool) -> Reply {
    if !valid_email(email) {
        return http::error(400, &format!("{email:?} is not an email address"));
    }
    match app.digests.put(site, email, weekly, monthly) {
        Ok(()) => list(app, site),
        Err(e) => super::auth::store_error(&e, "could not save the subscription"),
    }
}

pub fn put(app: &App, query: &str, body: &[u8]) -> Reply {
    let site = match super::saved::site(&Params::parse(query)) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let (Some(email), weekly, monthly) = (v["email"].as_str(), v["weekly"].as_bool(), v["monthly"].as_bool()) else {
        return http::error(400, "the body must be {\"email\", \"weekly\": true|false, \"monthly\": true|false}");
    };
    change(app, &site, email.trim(), weekly.unwrap_or(false), monthly.unwrap_or(false))
}

pub fn delete(app: &App, query: &str) -> Reply {
    let p = Params::parse(query);
    let site = match super::saved::site(&p) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match p.get("email") {
        Some(email) => change(app, &site, email, false, false),
        None => http::error(400, "email is required"),
    }
}

fn page(title: &str, body: &str) -> Reply {
    let html = format!(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>{title}</title><body style=\"font-family:system-ui;max-width:32em;margin:3em auto\">{body}</body>"
    );
    http::reply(200, "text/html; charset=utf-8", html)
}

/// `GET`: a page whose button POSTs (a link scanner's GET unsubscribes no one).
pub fn unsubscribe_page(query: &str) -> Reply {
    let token = Params::parse(query).get("token").unwrap_or("").to_string();
    if !token.starts_with("unsub_")
        || token.len() > 100
        || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return http::error(400, "this unsubscribe link is not valid");
    }
    page(
        "Unsubscribe",
        &format!(
            "<h1>Unsubscribe from these reports?</h1><form method=post action=\"/api/digests/unsubscribe?token={token}\">\
             <button type=submit>Unsubscribe</button></form>"
        ),
    )
}

pub fn unsubscribe(app: &App, query: &str) -> Reply {
    let token = Params::parse(query).get("token").unwrap_or("").to_string();
    match app.digests.unsubscribe(&token) {
        Ok(Some((site, _))) => {
            let _ = app.audit.record("digest unsubscribed", json!({"site": site}));
            page("Unsubscribed", &format!("<h1>Unsubscribed</h1><p>You will get no more reports about {site}.</p>"))
        }
        Ok(None) => http::error(404, "this unsubscribe link is not (or no longer) valid"),
        Err(e) => super::auth::store_error(&e, "could not unsubscribe"),
    }
}

/// The site asked about and the logged-in user's id and name, or the reply refusing.
fn site_and_me<'a>(query: &str, who: Option<&'a Principal>) -> Result<(String, &'a str, &'a str), Reply> {
    let site = super::saved::site(&Params::parse(query))?;
    match who {
        Some(Principal::User { id, name, .. }) => Ok((site, id, name)),
        _ => Err(http::error(403, "only a logged-in user opts in to digests; admins list addresses at /api/digests")),
    }
}

fn mine_reply(app: &App, site: &str, id: &str, name: &str) -> Reply {
    let mine = app.digests.mine(site, id);
    let suggested = valid_email(name).then_some(name);
    http::json(
        200,
        &json!({"site_id": site, "email": mine.as_ref().map(|s| s.email.as_str()).or(suggested),
                "weekly": mine.as_ref().is_some_and(|s| s.weekly), "monthly": mine.as_ref().is_some_and(|s| s.monthly),
                "sending": app.config.smtp_url.is_some()}),
    )
}

pub fn mine_get(app: &App, query: &str, who: Option<&Principal>) -> Reply {
    match site_and_me(query, who) {
        Ok((site, id, name)) => mine_reply(app, &site, id, name),
        Err(r) => r,
    }
}

pub fn mine_put(app: &App, query: &str, body: &[u8], who: Option<&Principal>) -> Reply {
    let (site, id, name) = match site_and_me(query, who) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let (weekly, monthly) = (v["weekly"].as_bool().unwrap_or(false), v["monthly"].as_bool().unwrap_or(false));
    let email = v["email"].as_str().unwrap_or(name).trim();
    if (weekly || monthly) && !valid_email(email) {
        return http::error(
            400,
            &format!("{email:?} is not an email address; send {{\"email\": \"you@example.com\"}}"),
        );
    }
    match app.digests.put_mine(&site, id, email, weekly, monthly) {
        Ok(()) => mine_reply(app, &site, id, name),
        Err(e) => super::auth::store_error(&e, "could not save the subscription"),
    }
}
