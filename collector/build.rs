//! Build-time setup of the collector:
//! - an rpath to `DUCKDB_LIB_DIR`, so the prebuilt libduckdb.so is found at
//!   run time (unless DuckDB is `bundled` in statically); `MALLARD_RPATH`
//!   replaces it, e.g. `$ORIGIN/../lib` for an install or a container image
//!   that carries the library beside the binary, where the build machine's
//!   absolute path means nothing;
//! - the `mallard` extension file embedded into the binary: the stats API
//!   runs the very same `mallard_*` SQL functions users load in DuckDB, so
//!   the collector carries the built extension (`make extension` first, or
//!   point `MALLARD_EXTENSION_FILE` at one);
//! - the default, country-level GeoIP database embedded into the binary, so
//!   locations are filled out of the box (`make geoip` fetches it with a
//!   pinned checksum, or point `MALLARD_GEOIP_DEFAULT_FILE` at one).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    println!("cargo:rerun-if-env-changed=MALLARD_RPATH");
    let rpath = std::env::var_os("MALLARD_RPATH").or_else(|| std::env::var_os("DUCKDB_LIB_DIR"));
    if std::env::var_os("CARGO_FEATURE_BUNDLED").is_none()
        && let Some(dir) = rpath
    {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.to_string_lossy());
    }

    embed("MALLARD_EXTENSION_FILE", "../build/mallard.duckdb_extension", "make extension");
    embed("MALLARD_GEOIP_DEFAULT_FILE", "../build/geoip/geo-whois-asn-country.mmdb", "make geoip");
}

/// Passes the absolute path of a file to embed as env var `var`: from the
/// environment, else `default` (relative to this crate).
fn embed(var: &str, default: &str, how: &str) {
    println!("cargo:rerun-if-env-changed={var}");
    let file = match std::env::var_os(var) {
        Some(f) => PathBuf::from(f),
        None => PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap()).join(default),
    };
    println!("cargo:rerun-if-changed={}", file.display());
    assert!(file.is_file(), "{} not found: run `{how}` first, or set {var}", file.display());
    println!("cargo:rustc-env={var}={}", file.canonicalize().unwrap().display());
}
