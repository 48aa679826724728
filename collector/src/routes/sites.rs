//! `GET /api/sites`: the sites the dashboard can pick — every site with a
//! partition in the lake, plus those `MALLARD_SITES` names and those an
//! owner added (which may have no events yet). An owner of every site
//! adds one with `POST {"site_id"}` (its events are then accepted beside
//! `MALLARD_SITES`) and takes it off with `DELETE ?site_id=` (its data stays
//! until erased).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::app::App;
use crate::auth::access::Principal;
use crate::http::{self, Reply};
use crate::lake;

/// Only the sites `who` may read.
pub fn get(app: &App, who: Option<&Principal>) -> Reply {
    let mut sites: BTreeSet<String> = app.config.sites.iter().cloned().collect();
    let added = app.site_settings.added();
    sites.extend(added.iter().cloned());
    match lake::sites(&app.config.lake_dir()) {
        Ok(found) => sites.extend(found),
        Err(e) => {
            crate::log::error("cannot list the lake's sites", &[("error", &e.to_string())]);
            return http::error(500, "cannot list the lake's sites; see the collector's log");
        }
    }
    let sites: Vec<String> = sites.into_iter().filter(|s| who.is_none_or(|w| w.can_read(s))).collect();
    let added: Vec<&String> = added.iter().filter(|s| sites.contains(*s)).collect();
    http::json(200, &json!({ "sites": sites, "added": added }))
}

pub fn post(app: &App, body: &[u8], who: Option<&Principal>) -> Reply {
    let site = serde_json::from_slice::<Value>(body).ok().and_then(|v| v["site_id"].as_str().map(str::to_lowercase));
    let Some(site) = site.filter(|s| mallard_core::lake::valid_site(s)) else {
        return http::error(400, "the body must be {\"site_id\": \"example.com\"}: a site name like example.com");
    };
    match app.site_settings.set_added(&site, true) {
        Ok(changed) => {
            if changed {
                app.audit.access("site added", &crate::auth::access::label(who), json!({"site": site}));
            }
            http::json(if changed { 201 } else { 200 }, &json!({"site_id": site, "added": true}))
        }
        Err(e) => super::auth::store_error(&e, "could not add the site"),
    }
}

pub fn delete(app: &App, query: &str, who: Option<&Principal>) -> Reply {
    let site = match super::saved::site(&crate::http::params::Params::parse(query)) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match app.site_settings.set_added(&site, false) {
        Ok(true) => {
            app.audit.access("site removed", &crate::auth::access::label(who), json!({"site": site}));
            http::json(
                200,
                &json!({"site_id": site, "added": false, "note": "its data stays until erased (DELETE /api/admin/erase)"}),
            )
        }
        Ok(false) => http::error(
            404,
            &format!(
                "{site} was not added by an owner: it is listed for its data or MALLARD_SITES; erase its data to drop it"
            ),
        ),
        Err(e) => super::auth::store_error(&e, "could not remove the site"),
    }
}
