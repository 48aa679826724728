//! What the routes of named things saved per site (`/api/funnels`,
//! `/api/goals`) share: the site parameter, saving and deleting.

use mallard_core::lake;
use serde_json::json;

use crate::http::params::Params;
use crate::http::{self, Reply};
use crate::query::saved::{Named, Saved};

/// The `site_id` parameter, checked.
pub fn site(p: &Params) -> Result<String, Reply> {
    let site = p.get("site_id").ok_or_else(|| http::error(400, "site_id is required, e.g. site_id=example.com"))?;
    let site = site.to_lowercase();
    if !lake::valid_site(&site) {
        return Err(http::error(400, &format!("invalid site {site:?}: a host name like example.com")));
    }
    Ok(site)
}

/// `GET …?site_id=…`: `{"site_id", <plural>: [...]}`.
pub fn list<T: Named>(saved: &Saved<T>, query: &str, plural: &str) -> Reply {
    match site(&Params::parse(query)) {
        Ok(site) => http::json(200, &json!({"site_id": site, plural: saved.list(&site)})),
        Err(r) => r,
    }
}

/// Saves a checked `item` (a `what`): 201 when new, 200 when it replaced one.
pub fn put<T: Named>(saved: &Saved<T>, site: &str, item: T, what: &str) -> Reply {
    match saved.put(site, item.clone()) {
        Ok(replaced) => http::json(if replaced { 200 } else { 201 }, &json!({"site_id": site, what: item})),
        Err(e) => super::auth::store_error(&e, &format!("could not save the {what}")),
    }
}

/// `DELETE …?site_id=…&<key>=…` (`key`: the parameter naming the item,
/// `name` or `id`): 204, or 404 when there is no such `what`.
pub fn delete<T: Named>(saved: &Saved<T>, query: &str, what: &str, key: &str) -> Reply {
    let p = Params::parse(query);
    let site = match site(&p) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(name) = p.get(key) else { return http::error(400, &format!("{key} is required")) };
    match saved.delete(&site, name) {
        Ok(true) => http::reply(204, "application/json", Vec::new()),
        Ok(false) => http::error(404, &format!("no saved {what} {name:?} for {site}")),
        Err(e) => super::auth::store_error(&e, &format!("could not delete the {what}")),
    }
}
