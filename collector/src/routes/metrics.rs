//! `GET /metrics`: Prometheus text, behind `MALLARD_METRICS_TOKEN` if set.

use crate::http::Request;

use crate::app::App;
use crate::http::{self, Reply, header};

pub fn get(app: &App, request: &Request) -> Reply {
    if let Some(token) = &app.config.metrics_token {
        let given = http::header_value(request, "Authorization").and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
        if !crate::auth::secret::same(given.trim().as_bytes(), token.as_bytes()) {
            return http::error(401, "metrics require Authorization: Bearer <MALLARD_METRICS_TOKEN>")
                .with_header(header("WWW-Authenticate", "Bearer"));
        }
    }
    let mut text = app.metrics.render();
    app.pipeline.render_step_times(&mut text);
    http::reply(200, "text/plain; version=0.0.4", text).with_header(header("Cache-Control", "no-store"))
}
