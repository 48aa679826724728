//! `mallard_visitor_id(salt, site, ip, user_agent) → UBIGINT`: the salted
//! visitor hash of `mallard_core::visitor_id`. NULL in any argument → NULL.

use mallard_core::visitor_id::VisitorHasher;

use crate::ffi::{Chunk, Connection, LogicalType, ScalarFunction, TypeId, VectorMut};

pub fn register(con: &Connection) -> Result<(), String> {
    let varchar = || LogicalType::new(TypeId::Varchar);
    ScalarFunction::new(
        "mallard_visitor_id",
        vec![varchar(), varchar(), varchar(), varchar()],
        LogicalType::new(TypeId::UBigInt),
        visitor_id,
    )
    .register(con)
}

fn visitor_id(input: &Chunk<'_>, out: &mut VectorMut<'_>) -> Result<(), String> {
    let (salt, site, ip, ua) = (input.strings(0)?, input.strings(1)?, input.strings(2)?, input.strings(3)?);
    let mut ids = vec![0u64; input.len()];
    let mut nulls = Vec::new();
    // The salt is nearly always the same on consecutive rows: key the HMAC
    // once and reuse it until the salt changes.
    let mut keyed: Option<(&[u8], VisitorHasher)> = None;
    for (row, id) in ids.iter_mut().enumerate() {
        match (salt.get(row), site.get(row), ip.get(row), ua.get(row)) {
            (Some(salt), Some(site), Some(ip), Some(ua)) => {
                if keyed.as_ref().is_none_or(|(s, _)| *s != salt) {
                    keyed = Some((salt, VisitorHasher::new(salt)));
                }
                *id = keyed.as_ref().map(|(_, h)| h.id(site, ip, ua)).unwrap_or_default();
            }
            _ => nulls.push(row),
        }
    }
    out.values::<u64>()?.copy_from_slice(&ids);
    for row in nulls {
        out.set_null(row);
    }
    Ok(())
}
