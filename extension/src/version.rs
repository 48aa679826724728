//! `mallard_version() → VARCHAR`: the extension's version.

use crate::ffi::{Chunk, Connection, LogicalType, ScalarFunction, TypeId, VectorMut};

pub fn register(con: &Connection) -> Result<(), String> {
    ScalarFunction::new("mallard_version", vec![], LogicalType::new(TypeId::Varchar), version).register(con)
}

fn version(input: &Chunk<'_>, out: &mut VectorMut<'_>) -> Result<(), String> {
    for row in 0..input.len() {
        out.set_str(row, mallard_core::VERSION.as_bytes());
    }
    Ok(())
}
