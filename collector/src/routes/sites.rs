//! `GET /api/sites`: the sites the dashboard can pick — every site with a
//! partition in the lake, plus those `MALLARD_SITES` names (which may have
//! no events yet).

use std::collections::BTreeSet;

use serde_json::json;

use crate::app::App;
use crate::auth::access::Principal;
use crate::http::{self, Reply};
use crate::lake;

/// Only the sites `who` may read.
pub fn get(app: &App, who: Option<&Principal>) -> Reply {
    let mut sites: BTreeSet<String> = app.config.sites.iter().cloned().collect();
    match lake::sites(&app.config.lake_dir()) {
        Ok(found) => sites.extend(found),
        Err(e) => {
            crate::log::error("cannot list the lake's sites", &[("error", &e.to_string())]);
            return http::error(500, "cannot list the lake's sites; see the collector's log");
        }
    }
    let sites: Vec<String> = sites.into_iter().filter(|s| who.is_none_or(|w| w.can_read(s))).collect();
    http::json(200, &json!({ "sites": sites }))
}
