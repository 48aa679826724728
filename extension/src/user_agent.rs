//! `mallard_parse_ua(user_agent) → STRUCT(browser, browser_version, os,
//! os_version, device)` and `mallard_is_bot(user_agent) → BOOLEAN`.
//!
//! Both use `mallard_core`'s cached parser, so a column of repeated user
//! agents costs one parse per distinct string. `mallard_parse_ua(NULL)` is
//! NULL; `mallard_is_bot(NULL)` is true (a missing user agent is a bot).

use mallard_core::{bot, user_agent};

use crate::ffi::{Chunk, Connection, LogicalType, ScalarFunction, TypeId, VectorMut};

const FIELDS: [&str; 5] = ["browser", "browser_version", "os", "os_version", "device"];

pub fn register(con: &Connection) -> Result<(), String> {
    let varchar = || LogicalType::new(TypeId::Varchar);
    let members: Vec<(&str, LogicalType)> = FIELDS.iter().map(|f| (*f, varchar())).collect();
    ScalarFunction::new("mallard_parse_ua", vec![varchar()], LogicalType::structure(&members), parse_ua)
        .register(con)?;
    ScalarFunction::new("mallard_is_bot", vec![varchar()], LogicalType::new(TypeId::Boolean), is_bot).register(con)
}

fn parse_ua(input: &Chunk<'_>, out: &mut VectorMut<'_>) -> Result<(), String> {
    let uas = input.strings(0)?;
    let mut nulls = Vec::new();
    {
        let mut children = out.struct_children(FIELDS.len());
        for row in 0..input.len() {
            let Some(ua) = uas.get(row) else {
                nulls.push(row);
                continue;
            };
            user_agent::with_parsed(ua, |p| {
                let values = [
                    p.browser.as_deref(),
                    p.browser_version.as_deref(),
                    p.os.as_deref(),
                    p.os_version.as_deref(),
                    p.device.map(|d| d.as_str()),
                ];
                for (child, value) in children.iter_mut().zip(values) {
                    child.set_opt_str(row, value);
                }
            });
        }
        // A NULL struct has NULL members too.
        for child in children.iter_mut() {
            for &row in &nulls {
                child.set_null(row);
            }
        }
    }
    for row in nulls {
        out.set_null(row);
    }
    Ok(())
}

fn is_bot(input: &Chunk<'_>, out: &mut VectorMut<'_>) -> Result<(), String> {
    let uas = input.strings(0)?;
    let values = out.values::<bool>()?;
    for (row, v) in values.iter_mut().enumerate() {
        *v = bot::is_bot(uas.get(row));
    }
    Ok(())
}
