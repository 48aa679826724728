//! The `mallard_*` report functions' signatures, declared once: the
//! extension registers each function from its signature, and the collector
//! builds its calls from the same one, so a name or a type cannot drift
//! between them.

use crate::time::Date;

/// An argument's SQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Varchar,
    Date,
    BigInt,
    Interval,
    VarcharList,
}

/// One argument: its name (the named parameter's, or what an error calls a
/// positional one) and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arg {
    pub name: &'static str,
    pub ty: Type,
}

/// A table function: name, positional arguments, named parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    pub name: &'static str,
    pub positional: &'static [Arg],
    pub named: &'static [Arg],
}

const fn arg(name: &'static str, ty: Type) -> Arg {
    Arg { name, ty }
}

const LAKE: Arg = arg("lake", Type::Varchar);
const SITE: Arg = arg("site", Type::Varchar);
const START: Arg = arg("start_date", Type::Date);
const END: Arg = arg("end_date", Type::Date);
const FILTERS: Arg = arg("filters", Type::VarcharList);
const TIMEZONE: Arg = arg("timezone", Type::Varchar);
const TOP: Arg = arg("top", Type::BigInt);
/// A shared (DuckLake) lake's reader may add its own not-yet-committed hot
/// files: their folder, and the collector id their commits carry.
const HOT: Arg = arg("hot", Type::Varchar);
const COLLECTOR: Arg = arg("collector", Type::Varchar);

pub const EVENTS: Signature = Signature {
    name: "mallard_events",
    positional: &[LAKE],
    named: &[SITE, START, END, FILTERS, TIMEZONE, HOT, COLLECTOR],
};
pub const METRICS: Signature = Signature {
    name: "mallard_metrics",
    positional: &[LAKE, SITE, START, END],
    named: &[FILTERS, TIMEZONE, HOT, COLLECTOR],
};
pub const TIMESERIES: Signature = Signature {
    name: "mallard_timeseries",
    positional: &[LAKE, SITE, START, END],
    named: &[arg("granularity", Type::Varchar), arg("goal", Type::Varchar), FILTERS, TIMEZONE, HOT, COLLECTOR],
};
pub const BREAKDOWN: Signature = Signature {
    name: "mallard_breakdown",
    positional: &[LAKE, SITE, START, END, arg("dimension", Type::Varchar)],
    named: &[TOP, arg("goal", Type::Varchar), FILTERS, TIMEZONE, HOT, COLLECTOR],
};
pub const GOALS: Signature = Signature {
    name: "mallard_goals",
    positional: &[LAKE, SITE, START, END, arg("goals", Type::VarcharList)],
    named: &[FILTERS, TIMEZONE, HOT, COLLECTOR],
};
pub const SESSIONS: Signature = Signature {
    name: "mallard_sessions",
    positional: &[LAKE, SITE, START, END],
    named: &[TOP, FILTERS, TIMEZONE, HOT, COLLECTOR],
};
pub const REALTIME: Signature =
    Signature { name: "mallard_realtime", positional: &[LAKE, SITE], named: &[HOT, COLLECTOR] };
pub const FUNNEL: Signature = Signature {
    name: "mallard_funnel",
    positional: &[LAKE, SITE, START, END, arg("steps", Type::VarcharList)],
    named: &[arg("within", Type::Interval), arg("mode", Type::Varchar), FILTERS, TIMEZONE, HOT, COLLECTOR],
};
pub const RETENTION: Signature = Signature {
    name: "mallard_retention",
    positional: &[LAKE, SITE, START, END],
    named: &[arg("period", Type::Varchar), arg("periods", Type::BigInt), FILTERS, TIMEZONE, HOT, COLLECTOR],
};
pub const SEQUENCES: Signature = Signature {
    name: "mallard_sequences",
    positional: &[LAKE, SITE, START, END, arg("pattern", Type::Varchar), arg("steps", Type::VarcharList)],
    named: &[FILTERS, TIMEZONE, HOT, COLLECTOR],
};
pub const FLOW: Signature = Signature {
    name: "mallard_flow",
    positional: &[LAKE, SITE, START, END, arg("page", Type::Varchar)],
    named: &[arg("direction", Type::Varchar), arg("depth", Type::BigInt), FILTERS, TIMEZONE, HOT, COLLECTOR],
};

/// Every report function.
pub const REPORTS: [Signature; 11] =
    [EVENTS, METRICS, TIMESERIES, BREAKDOWN, GOALS, SESSIONS, REALTIME, FUNNEL, RETENTION, SEQUENCES, FLOW];

/// A value passed to a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Texts(Vec<String>),
    Date(Date),
    Int(i64),
    /// An INTERVAL of whole seconds.
    Seconds(i64),
}

/// A scalar bound parameter of a call (lists are bound item by item).
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Null,
    Text(String),
    Date(Date),
    Int(i64),
}

impl Signature {
    /// `SELECT * FROM <name>(…)` with every value a bound parameter (`?`, in
    /// order). Positional values come in order; named ones by name, in any
    /// order. A wrong count, an unknown name or a value of the wrong type is
    /// a bug of the caller, reported as an error.
    pub fn call(&self, positional: Vec<Value>, named: Vec<(&str, Value)>) -> Result<(String, Vec<Bound>), String> {
        if positional.len() != self.positional.len() {
            return Err(format!("{} takes {} arguments, got {}", self.name, self.positional.len(), positional.len()));
        }
        let mut parts = Vec::new();
        let mut bound = Vec::new();
        for (a, v) in self.positional.iter().zip(positional) {
            parts.push(placeholder(self.name, a, v, &mut bound)?);
        }
        for (name, v) in named {
            let a = self
                .named
                .iter()
                .find(|a| a.name == name)
                .ok_or_else(|| format!("{} has no parameter {name}", self.name))?;
            parts.push(format!("{name} := {}", placeholder(self.name, a, v, &mut bound)?));
        }
        Ok((format!("SELECT * FROM {}({})", self.name, parts.join(", ")), bound))
    }
}

/// The SQL of one value of `a`, typed so DuckDB knows it when preparing.
fn placeholder(function: &str, a: &Arg, v: Value, bound: &mut Vec<Bound>) -> Result<String, String> {
    let cast = |ty: &str| format!("CAST(? AS {ty})");
    Ok(match (a.ty, v) {
        (Type::VarcharList, Value::Texts(items)) => {
            let n = items.len();
            bound.extend(items.into_iter().map(Bound::Text));
            format!("CAST([{}] AS VARCHAR[])", vec![cast("VARCHAR"); n].join(", "))
        }
        (Type::Interval, Value::Seconds(s)) => {
            bound.push(Bound::Int(s));
            "to_seconds(CAST(? AS BIGINT))".into()
        }
        (ty, Value::Null) => {
            bound.push(Bound::Null);
            cast(sql(ty))
        }
        (Type::Varchar, Value::Text(t)) => {
            bound.push(Bound::Text(t));
            cast("VARCHAR")
        }
        (Type::Date, Value::Date(d)) => {
            bound.push(Bound::Date(d));
            cast("DATE")
        }
        (Type::BigInt, Value::Int(i)) => {
            bound.push(Bound::Int(i));
            cast("BIGINT")
        }
        (ty, v) => return Err(format!("{function}: {} is {ty:?}, got {v:?}", a.name)),
    })
}

/// The SQL name of a type.
pub fn sql(ty: Type) -> &'static str {
    match ty {
        Type::Varchar => "VARCHAR",
        Type::Date => "DATE",
        Type::BigInt => "BIGINT",
        Type::Interval => "INTERVAL",
        Type::VarcharList => "VARCHAR[]",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_binds_every_value() {
        let d = Date::parse("2026-11-01").unwrap();
        let (sql, bound) = FUNNEL
            .call(
                vec![
                    Value::Text("lake".into()),
                    Value::Text("example.com".into()),
                    Value::Date(d),
                    Value::Date(d),
                    Value::Texts(vec!["page:/".into(), "event:Signup".into()]),
                ],
                vec![("within", Value::Seconds(3600)), ("timezone", Value::Null), ("filters", Value::Texts(vec![]))],
            )
            .unwrap();
        assert_eq!(
            sql,
            "SELECT * FROM mallard_funnel(CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS DATE), CAST(? AS DATE), \
             CAST([CAST(? AS VARCHAR), CAST(? AS VARCHAR)] AS VARCHAR[]), within := to_seconds(CAST(? AS BIGINT)), \
             timezone := CAST(? AS VARCHAR), filters := CAST([] AS VARCHAR[]))"
        );
        assert_eq!(bound.len(), 8);
        assert_eq!(bound[6], Bound::Int(3600));
        assert_eq!(bound[7], Bound::Null);
    }

    #[test]
    fn a_wrong_call_is_an_error() {
        assert!(METRICS.call(vec![], vec![]).unwrap_err().contains("takes 4 arguments"));
        let args = || vec![Value::Text("l".into()), Value::Text("s".into()), Value::Null, Value::Null];
        assert!(METRICS.call(args(), vec![("top", Value::Int(3))]).unwrap_err().contains("no parameter top"));
        assert!(METRICS.call(args(), vec![("timezone", Value::Int(3))]).unwrap_err().contains("timezone is Varchar"));
    }

    #[test]
    fn every_report_has_a_unique_name_and_named_parameters() {
        let mut names: Vec<_> = REPORTS.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), REPORTS.len());
        for s in REPORTS {
            let mut n: Vec<_> = s.named.iter().chain(s.positional).map(|a| a.name).collect();
            n.sort();
            n.dedup();
            assert_eq!(n.len(), s.named.len() + s.positional.len(), "{}", s.name);
        }
    }
}
