//! Small-count protection for shared links: every number that describes
//! fewer than k visitors is hidden. A row of a list (a breakdown row, a flow
//! edge) with fewer than k visitors is left out, so its value is not shown
//! either; any other row (the KPIs, a time-series bucket, a funnel step, a
//! retention cell, a goal) keeps its labels but loses its numbers. Zero
//! counts as fewer: a filter on a value that does not exist must look the
//! same as one on a value with 1 to k-1 visitors. A conversion count under
//! k is hidden too, with its rate and revenue.

use serde_json::Value;

/// The default k.
pub const DEFAULT_K: u64 = 5;

/// Fields that label a row rather than count visitors.
const LABELS: &[&str] = &["value", "bucket", "name", "goal", "step", "cohort", "period_number", "from_page", "to_page"];

/// Hides what describes fewer than `k` visitors in a stats reply's
/// `results` (and its comparison's). `k` ≤ 1 hides nothing.
pub fn protect(reply: &mut Value, k: u64) {
    if k <= 1 {
        return;
    }
    if let Some(results) = reply.get_mut("results") {
        protect_results(results, k);
    }
    if let Some(results) = reply.pointer_mut("/comparison/results") {
        protect_results(results, k);
    }
}

/// [`protect`] for a reply that is one row (realtime's).
pub fn protect_one(row: &mut Value, k: u64) {
    if k > 1 {
        protect_row(row, k);
    }
}

fn protect_results(results: &mut Value, k: u64) {
    match results {
        Value::Array(rows) => {
            // A list keyed by value (breakdowns, flow edges) drops small rows.
            let listed = rows.first().is_some_and(|r| r.get("value").is_some() || r.get("from_page").is_some());
            if listed {
                rows.retain(|r| !small(r.get("visitors"), k));
            }
            rows.iter_mut().for_each(|r| protect_row(r, k));
        }
        row @ Value::Object(_) => protect_row(row, k),
        _ => {}
    }
}

fn small(count: Option<&Value>, k: u64) -> bool {
    match count {
        Some(Value::Number(n)) => n.as_f64().is_some_and(|v| v < k as f64),
        Some(Value::Null) => true,
        Some(Value::String(s)) => s.parse::<f64>().is_ok_and(|v| v < k as f64),
        _ => false,
    }
}

fn protect_row(row: &mut Value, k: u64) {
    let Value::Object(fields) = row else { return };
    if fields.contains_key("visitors") && small(fields.get("visitors"), k) {
        for (key, value) in fields.iter_mut() {
            if !LABELS.contains(&key.as_str()) {
                *value = Value::Null;
            }
        }
        return;
    }
    if fields.contains_key("conversions") && small(fields.get("conversions"), k) {
        for key in ["conversions", "events", "conversion_rate", "revenue"] {
            if let Some(v) = fields.get_mut(key) {
                *v = Value::Null;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn small_rows_leave_lists_and_small_kpis_lose_their_numbers() {
        let mut breakdown = json!({"results": [
            {"value": "DE", "visitors": 9, "visits": 12},
            {"value": "FR", "visitors": 4, "visits": 4},
        ], "comparison": {"results": [{"value": "DE", "visitors": 2, "visits": 2}]}});
        protect(&mut breakdown, 5);
        assert_eq!(breakdown["results"], json!([{"value": "DE", "visitors": 9, "visits": 12}]));
        assert_eq!(breakdown["comparison"]["results"], json!([]));

        for visitors in [0, 1, 4] {
            let mut main = json!({"results": {"visitors": visitors, "pageviews": 30, "bounce_rate": 50.0}});
            protect(&mut main, 5);
            assert_eq!(main["results"], json!({"visitors": null, "pageviews": null, "bounce_rate": null}));
        }
        let mut main = json!({"results": {"visitors": 5, "pageviews": 30}});
        protect(&mut main, 5);
        assert_eq!(main["results"]["visitors"], 5);

        let mut series = json!({"results": [{"bucket": "2026-11-01", "visitors": 2, "visits": 3}]});
        protect(&mut series, 5);
        assert_eq!(series["results"], json!([{"bucket": "2026-11-01", "visitors": null, "visits": null}]));

        let mut goal = json!({"results": [{"value": "DE", "visitors": 9, "conversions": 2, "events": 2,
                                            "conversion_rate": 22.2, "revenue": []}]});
        protect(&mut goal, 5);
        assert_eq!(goal["results"][0]["conversions"], Value::Null);
        assert_eq!(goal["results"][0]["visitors"], 9);

        let mut off = json!({"results": {"visitors": 1}});
        protect(&mut off, 1);
        assert_eq!(off["results"]["visitors"], 1);
    }
}
