//! The 534-byte metadata footer DuckDB checks before loading an extension.
//!
//! Layout: a 22-byte WebAssembly custom-section header naming
//! `duckdb_signature`, eight 32-byte NUL-padded fields, then a 256-byte
//! signature (zeros: the extension is unsigned). DuckDB reads the last 512
//! bytes and reverses the field order, so the fields are written as: three
//! unused, ABI type, extension version, C API version, platform, magic `4`.

use crate::ffi::DUCKDB_C_API_VERSION;

pub const FOOTER_LEN: usize = 534;
const FIELD_LEN: usize = 32;
const SIGNATURE_LEN: usize = 256;

/// ABI of an extension built on the stable C API: any host whose C API is
/// at least [`DUCKDB_C_API_VERSION`] accepts it.
pub const ABI_TYPE: &str = "C_STRUCT";

/// DuckDB's name for the platform this crate is compiled for.
pub fn platform() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "linux_amd64",
        ("linux", "aarch64") => "linux_arm64",
        ("macos", "x86_64") => "osx_amd64",
        ("macos", "aarch64") => "osx_arm64",
        ("windows", "x86_64") => "windows_amd64",
        _ => "unknown",
    }
}

/// The footer for an extension at `extension_version` on `platform`.
pub fn footer(extension_version: &str, platform: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(FOOTER_LEN);
    out.push(0x00); // custom section id
    out.extend_from_slice(&[0x93, 0x04]); // LEB128 531: bytes that follow
    out.push(16); // name length
    out.extend_from_slice(b"duckdb_signature");
    out.extend_from_slice(&[0x80, 0x04]); // LEB128 512: payload length
    let fields = ["", "", "", ABI_TYPE, extension_version, DUCKDB_C_API_VERSION, platform, "4"];
    for field in fields {
        if field.len() > FIELD_LEN {
            return Err(format!("footer field {field:?} is longer than {FIELD_LEN} bytes"));
        }
        let mut padded = [0u8; FIELD_LEN];
        padded[..field.len()].copy_from_slice(field.as_bytes());
        out.extend_from_slice(&padded);
    }
    out.extend_from_slice(&[0u8; SIGNATURE_LEN]);
    debug_assert_eq!(out.len(), FOOTER_LEN);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_has_duckdb_layout() {
        let f = footer("0.1.0", "linux_amd64").unwrap();
        assert_eq!(f.len(), 534);
        let fields = &f[22..22 + 256];
        let field = |i: usize| {
            let raw = &fields[i * 32..(i + 1) * 32];
            String::from_utf8(raw.iter().copied().take_while(|b| *b != 0).collect()).unwrap()
        };
        assert_eq!(field(3), "C_STRUCT");
        assert_eq!(field(4), "0.1.0");
        assert_eq!(field(5), "v1.2.0");
        assert_eq!(field(6), "linux_amd64");
        assert_eq!(field(7), "4");
        assert!(f[278..].iter().all(|b| *b == 0));
    }

    #[test]
    fn overlong_fields_are_refused() {
        assert!(footer(&"x".repeat(33), "linux_amd64").is_err());
    }
}
