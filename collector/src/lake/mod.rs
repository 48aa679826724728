//! The lake on disk: scanning partitions and their files (format v1, see
//! `mallard_core::lake` for the naming and visibility rules).

pub mod catalog;
pub mod compactor;
pub mod erase;
pub mod maintainer;
pub mod shared;
pub mod writer;

use std::io;
use std::path::{Path, PathBuf};

use mallard_core::lake::{parse_file_name, visible};
use mallard_core::time::Date;

/// One Parquet file of a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeFile {
    pub path: PathBuf,
    pub from: u64,
    pub to: u64,
    pub bytes: u64,
}

/// One `site=<site>/date=<date>` directory.
#[derive(Debug, Clone)]
pub struct Partition {
    pub site: String,
    pub date: Date,
    pub dir: PathBuf,
    /// Every lake file, sorted by range (visible or not).
    pub files: Vec<LakeFile>,
}

impl Partition {
    /// The files a reader must read (see `mallard_core::lake::visible`).
    pub fn visible(&self) -> Vec<&LakeFile> {
        let ranges: Vec<_> = self.files.iter().map(|f| (f.from, f.to)).collect();
        self.files.iter().zip(visible(&ranges)).filter(|(_, v)| *v).map(|(f, _)| f).collect()
    }

    /// Whether some file already holds flush `seq`'s events for this partition.
    pub fn covers(&self, seq: u64) -> bool {
        self.files.iter().any(|f| f.from <= seq && seq <= f.to)
    }

    pub fn bytes(&self) -> u64 {
        self.visible().iter().map(|f| f.bytes).sum()
    }
}

fn subdirs(dir: &Path, prefix: &str) -> io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(value) = name.strip_prefix(prefix)
                    && entry.file_type()?.is_dir()
                {
                    out.push((value.to_string(), entry.path()));
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    out.sort();
    Ok(out)
}

/// Reads one partition directory.
pub fn read_partition(site: &str, date: Date, dir: &Path) -> io::Result<Partition> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((from, to)) = parse_file_name(&name) {
            files.push(LakeFile { path: entry.path(), from, to, bytes: entry.metadata()?.len() });
        }
    }
    files.sort_by_key(|f| (f.from, f.to));
    Ok(Partition { site: site.to_string(), date, dir: dir.to_path_buf(), files })
}

/// The sites that have a folder in the lake.
pub fn sites(lake: &Path) -> io::Result<Vec<String>> {
    Ok(subdirs(lake, "site=")?.into_iter().map(|(site, _)| site).collect())
}

/// Every partition of the lake (sorted by site, then date).
pub fn scan(lake: &Path) -> io::Result<Vec<Partition>> {
    let mut partitions = Vec::new();
    for (site, site_dir) in subdirs(lake, "site=")? {
        for (date, dir) in subdirs(&site_dir, "date=")? {
            if let Some(date) = Date::parse(&date) {
                partitions.push(read_partition(&site, date, &dir)?);
            }
        }
    }
    Ok(partitions)
}

/// Removes temp files a crash left behind (`.*.tmp`, never read by anyone)
/// that are at least `min_age` old. While the collector runs, pass
/// [`TEMP_FILE_AGE`]: a younger one may be a file the hot-file thread is
/// writing right now (it does not hold the lake lock).
pub fn remove_temp_files(partition: &Partition, min_age: std::time::Duration) -> io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(&partition.dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale =
            || entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|a| a >= min_age));
        if name.starts_with('.') && name.ends_with(".tmp") && stale() {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// How old a temp file must be to count as a crash's leftover.
pub const TEMP_FILE_AGE: std::time::Duration = std::time::Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_temp_file_is_left_to_its_writer() {
        let dir = std::env::temp_dir().join(format!("mallard-temp-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tmp = dir.join(".0000000000000001.00000000.hot.tmp");
        std::fs::write(&tmp, b"being written").unwrap();
        let partition =
            Partition { site: "a.example".into(), date: Date::of_micros(0), dir: dir.clone(), files: vec![] };
        assert_eq!(remove_temp_files(&partition, TEMP_FILE_AGE).unwrap(), 0, "the hot thread may be writing it");
        assert!(tmp.exists());
        assert_eq!(remove_temp_files(&partition, std::time::Duration::ZERO).unwrap(), 1, "at start-up: a leftover");
        assert!(!tmp.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
