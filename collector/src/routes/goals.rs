//! `/api/goals?site_id=…`: saved goals of a site. `GET` lists them, `PUT`
//! saves one (`{"name", "step", "props"}`: `step` is `page:/signup/*` or
//! `event:Signup`, `props` an optional object of property conditions; 201
//! when new, 200 when replaced), `DELETE` with `&name=…` removes one.
//! `/api/stats/goals` reports them; `goal=<name>` on a breakdown adds each
//! row's conversions.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::app::App;
use crate::http::params::Params;
use crate::http::{self, Reply};
use crate::query::goals::Goal;

pub fn get(app: &App, query: &str) -> Reply {
    super::saved::list(&app.goals, query, "goals")
}

pub fn put(app: &App, query: &str, body: &[u8]) -> Reply {
    let site = match super::saved::site(&Params::parse(query)) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let usage = "the body must be a JSON object {\"name\", \"step\", \"props\"}, e.g. \
                 {\"name\": \"Pro signups\", \"step\": \"event:Signup\", \"props\": {\"plan\": \"pro\"}}";
    let v: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return http::error(400, usage),
    };
    let props: BTreeMap<String, String> = match &v["props"] {
        Value::Null => BTreeMap::new(),
        other => match serde_json::from_value(other.clone()) {
            Ok(p) => p,
            Err(_) => return http::error(400, "props must be an object of text values, e.g. {\"plan\": \"pro\"}"),
        },
    };
    let (Some(name), Some(step)) = (v["name"].as_str(), v["step"].as_str()) else {
        return http::error(400, usage);
    };
    let goal = Goal { name: name.trim().to_string(), step: step.trim().to_string(), props };
    if let Err(e) = goal.validate() {
        return http::error(400, &e);
    }
    super::saved::put(&app.goals, &site, goal, "goal")
}

pub fn delete(app: &App, query: &str) -> Reply {
    super::saved::delete(&app.goals, query, "goal", "name")
}
