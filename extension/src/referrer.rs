//! `mallard_referrer_source(referrer, site_host) → VARCHAR`: the traffic
//! source of a referrer (see `mallard_core::referrer`). NULL for a NULL or
//! empty referrer and for self-referrals; a NULL `site_host` disables the
//! self-referral check.

use mallard_core::referrer::referrer_source;

use crate::ffi::{Chunk, Connection, LogicalType, ScalarFunction, TypeId, VectorMut};

pub fn register(con: &Connection) -> Result<(), String> {
    let varchar = || LogicalType::new(TypeId::Varchar);
    ScalarFunction::new("mallard_referrer_source", vec![varchar(), varchar()], varchar(), source).register(con)
}

fn source(input: &Chunk<'_>, out: &mut VectorMut<'_>) -> Result<(), String> {
    let (referrers, sites) = (input.strings(0)?, input.strings(1)?);
    for row in 0..input.len() {
        let site = sites.get_str(row);
        let value = referrers.get_str(row).and_then(|r| referrer_source(&r, site.as_deref()));
        out.set_opt_str(row, value.as_deref());
    }
    Ok(())
}
