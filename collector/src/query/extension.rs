//! The `mallard` extension this binary carries (`make extension`, embedded
//! at compile time), loaded into the stats engine's DuckDB without writing
//! it to the data directory, which is for data: a nearly full data disk must
//! not stop the collector from starting.
//!
//! DuckDB loads an extension from a path, and finds its entry point by the
//! file's name, so the bytes go into an anonymous memory file (`memfd`)
//! reached through a symlink named `mallard.duckdb_extension` in a private
//! temp directory; the symlink is removed once loaded. Where memfd or
//! `/proc` is missing, the file itself goes into that temp directory, just
//! as briefly.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use duckdb::Connection;

/// The extension, as built (`make extension`), embedded at compile time.
const EXTENSION: &[u8] = include_bytes!(env!("MALLARD_EXTENSION_FILE"));

/// DuckDB derives the entry point (`mallard_init_c_api`) from this name.
const FILE_NAME: &str = "mallard.duckdb_extension";

/// A private directory that is removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> io::Result<TempDir> {
        let nonce = crate::auth::secret::to_hex(&crate::auth::secret::random::<8>()?);
        let path = std::env::temp_dir().join(format!("mallard-extension-{}-{nonce}", std::process::id()));
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The extension's bytes in an anonymous memory file.
fn memory_file() -> io::Result<File> {
    let fd = rustix::fs::memfd_create(FILE_NAME, rustix::fs::MemfdFlags::CLOEXEC)?;
    let mut file = File::from(fd);
    file.write_all(EXTENSION)?;
    Ok(file)
}

fn load_from(con: &Connection, path: &Path) -> io::Result<()> {
    con.execute_batch(&format!("LOAD {}", crate::query::db::quote(&path.to_string_lossy())))
        .map_err(|e| io::Error::other(format!("cannot load the mallard extension: {e}")))
}

/// Loads the embedded extension into `con`'s database.
pub fn load(con: &Connection) -> io::Result<()> {
    let dir = TempDir::new().map_err(|e| {
        io::Error::new(e.kind(), format!("cannot create a directory in {}: {e}", std::env::temp_dir().display()))
    })?;
    let path = dir.0.join(FILE_NAME);
    if let Ok(file) = memory_file() {
        use std::os::fd::AsRawFd;
        let target = format!("/proc/self/fd/{}", file.as_raw_fd());
        if Path::new(&target).exists() && std::os::unix::fs::symlink(&target, &path).is_ok() {
            // The mapping DuckDB makes outlives the file descriptor and the link.
            return load_from(con, &path);
        }
    }
    crate::files::write_atomic(&path, EXTENSION, 0o600)?;
    load_from(con, &path)
}
