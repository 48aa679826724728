//! Build-time setup of the collector:
//! - an rpath to `DUCKDB_LIB_DIR`, so the prebuilt libduckdb.so is found at
//!   run time (unless DuckDB is `bundled` in statically);
//! - the `mallard` extension file embedded into the binary: the stats API
//!   runs the very same `mallard_*` SQL functions users load in DuckDB, so
//!   the collector carries the built extension (`make extension` first, or
//!   point `MALLARD_EXTENSION_FILE` at one).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    if std::env::var_os("CARGO_FEATURE_BUNDLED").is_none()
        && let Some(dir) = std::env::var_os("DUCKDB_LIB_DIR")
    {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.to_string_lossy());
    }

    println!("cargo:rerun-if-env-changed=MALLARD_EXTENSION_FILE");
    let file = match std::env::var_os("MALLARD_EXTENSION_FILE") {
        Some(f) => PathBuf::from(f),
        None => {
            PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap()).join("../build/mallard.duckdb_extension")
        }
    };
    println!("cargo:rerun-if-changed={}", file.display());
    assert!(
        file.is_file(),
        "{} not found: build the extension first (`make extension`) or set MALLARD_EXTENSION_FILE",
        file.display()
    );
    println!("cargo:rustc-env=MALLARD_EXTENSION_FILE={}", file.canonicalize().unwrap().display());
}
