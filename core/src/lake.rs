//! The lake's layout (format v1): where files go and which of them a reader
//! must see.
//!
//! `<lake>/site=<site>/date=<YYYY-MM-DD>/<from>-<to>.parquet`, where
//! `<from>`/`<to>` (16 hex digits) is the range of flush sequence numbers
//! whose events the file holds. A flush writes `<n>-<n>`; compaction merges
//! files into one covering their union. A merged file is renamed into place
//! before the files it replaces are deleted, so for a moment both exist: a
//! reader must then see only the file with the widest range — [`visible`]
//! decides, and every Mallard reader applies it, so readers see each event
//! exactly once at every moment, even mid-compaction or after a crash.
//!
//! Hot files, `<seq>.<part>.hot` (Parquet too), hold events of flush `seq`
//! that are acknowledged but not yet flushed, written every second so that
//! queries see fresh data. A reader includes a hot file only while no lake
//! file of its partition covers `seq`; once one does, the hot file is stale
//! (and deleted a little later, after any reader that listed it is done).

use crate::time::Date;

/// `site=<site>/date=<date>`, relative to the lake root.
pub fn partition_dir(site: &str, date: Date) -> String {
    format!("site={site}/date={date}")
}

/// The file name for the flush sequence range `from..=to`.
pub fn file_name(from: u64, to: u64) -> String {
    format!("{from:016x}-{to:016x}.parquet")
}

/// The flush range of a lake file name, `None` for anything else (temp
/// files, foreign files).
pub fn parse_file_name(name: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(".parquet")?;
    let (from, to) = stem.split_once('-')?;
    if from.len() != 16 || to.len() != 16 {
        return None;
    }
    let from = u64::from_str_radix(from, 16).ok()?;
    let to = u64::from_str_radix(to, 16).ok()?;
    (from <= to).then_some((from, to))
}

/// The name of part `part` of flush `seq`'s hot data in a partition.
pub fn hot_file_name(seq: u64, part: u32) -> String {
    format!("{seq:016x}.{part:08x}.hot")
}

/// The `(seq, part)` of a hot file name.
pub fn parse_hot_file_name(name: &str) -> Option<(u64, u32)> {
    let stem = name.strip_suffix(".hot")?;
    let (seq, part) = stem.split_once('.')?;
    if seq.len() != 16 || part.len() != 8 {
        return None;
    }
    Some((u64::from_str_radix(seq, 16).ok()?, u32::from_str_radix(part, 16).ok()?))
}

/// The `(site, date)` of a path inside a partition (`…/site=<s>/date=<d>/<file>`,
/// a lake folder's or a DuckLake's), if it is in one.
pub fn partition_of(path: &str) -> Option<(&str, &str)> {
    let mut parts = path.rsplitn(4, ['/', '\\']);
    let (_, date_dir, site_dir) = (parts.next()?, parts.next()?, parts.next()?);
    Some((site_dir.strip_prefix("site=")?, date_dir.strip_prefix("date=")?))
}

/// The rollup files written beside a partition's single, compacted lake
/// file `<from>-<to>.parquet`: per-visit rows (`<from>-<to>.visits`) and
/// per-page-and-visitor rows (`<from>-<to>.pages`), both Parquet. They are
/// valid exactly while that file is the partition's only file.
pub fn rollup_names(from: u64, to: u64) -> (String, String) {
    let stem = format!("{from:016x}-{to:016x}");
    (format!("{stem}.visits"), format!("{stem}.pages"))
}

/// What a reader reads of one partition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartitionFiles {
    /// The event files to read (visible lake files, uncovered hot files,
    /// foreign Parquet files).
    pub files: Vec<String>,
    /// `(visits, pages)` rollups that stand for `files`, when valid.
    pub rollup: Option<(String, String)>,
}

/// Of a listing of lake paths (`…/site=<s>/date=<d>/<file>`, e.g. from a
/// glob), what a reader must read for dates in `from..=to` (either end
/// open), per partition: the visible lake files and the hot files of flushes
/// no lake file covers yet. Other `.parquet` files (a lake written by
/// another tool, e.g. DuckDB's `COPY … PARTITION_BY`) are read as they are;
/// hidden and temporary files are never read.
pub fn select(paths: &[String], from: Option<Date>, to: Option<Date>) -> Vec<PartitionFiles> {
    use std::collections::{BTreeMap, BTreeSet};
    #[derive(Default)]
    struct Partition<'a> {
        lake: Vec<(&'a str, (u64, u64))>,
        hot: Vec<(&'a str, u64)>,
        foreign: Vec<&'a str>,
        names: BTreeSet<&'a str>,
        dir: &'a str,
    }
    let mut partitions: BTreeMap<(&str, &str), Partition<'_>> = BTreeMap::new();
    for path in paths {
        let mut parts = path.rsplitn(4, ['/', '\\']);
        let (Some(name), Some(date_dir), Some(site_dir)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Some(date), Some(site)) = (date_dir.strip_prefix("date="), site_dir.strip_prefix("site=")) else {
            continue;
        };
        let Some(day) = Date::parse(date) else { continue };
        if from.is_some_and(|f| day < f) || to.is_some_and(|t| day > t) {
            continue;
        }
        let partition = partitions.entry((site, date)).or_default();
        partition.dir = &path[..path.len() - name.len()];
        partition.names.insert(name);
        if let Some(range) = parse_file_name(name) {
            partition.lake.push((path, range));
        } else if let Some((seq, _)) = parse_hot_file_name(name) {
            partition.hot.push((path, seq));
        } else if name.ends_with(".parquet") && !name.starts_with('.') {
            partition.foreign.push(path);
        }
    }
    let mut out = Vec::new();
    for p in partitions.values() {
        let ranges: Vec<_> = p.lake.iter().map(|(_, r)| *r).collect();
        let mut selected = PartitionFiles::default();
        let mut visible_ranges = Vec::new();
        for ((path, range), keep) in p.lake.iter().zip(visible(&ranges)) {
            if keep {
                selected.files.push(path.to_string());
                visible_ranges.push(*range);
            }
        }
        let mut uncovered_hot = false;
        for (path, seq) in &p.hot {
            if !ranges.iter().any(|(f, t)| f <= seq && seq <= t) {
                selected.files.push(path.to_string());
                uncovered_hot = true;
            }
        }
        selected.files.extend(p.foreign.iter().map(|f| f.to_string()));
        if let ([(a, b)], false, true) = (visible_ranges.as_slice(), uncovered_hot, p.foreign.is_empty()) {
            let (visits, pages) = rollup_names(*a, *b);
            if p.names.contains(visits.as_str()) && p.names.contains(pages.as_str()) {
                selected.rollup = Some((format!("{}{visits}", p.dir), format!("{}{pages}", p.dir)));
            }
        }
        out.push(selected);
    }
    out
}

/// Every event file [`select`] picks, flattened.
pub fn readable_files(paths: &[String], from: Option<Date>, to: Option<Date>) -> Vec<String> {
    select(paths, from, to).into_iter().flat_map(|p| p.files).collect()
}

/// For the files of one partition (their flush ranges), which ones a reader
/// must read: a file is hidden when another file's range contains it (the
/// merge that replaced it has landed); of identical ranges the first is kept.
pub fn visible(ranges: &[(u64, u64)]) -> Vec<bool> {
    ranges
        .iter()
        .enumerate()
        .map(|(i, &(from, to))| {
            !ranges
                .iter()
                .enumerate()
                .any(|(j, &(f, t))| j != i && f <= from && to <= t && ((f, t) != (from, to) || j < i))
        })
        .collect()
}

/// Whether `site` may name a partition: a lower-case host name (letters,
/// digits, `-`, `.`), 1–253 bytes, no empty labels. Rejecting everything else
/// keeps path separators, `..` and other surprises out of file paths.
pub fn valid_site(site: &str) -> bool {
    !site.is_empty()
        && site.len() <= 253
        && site.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(file_name(1, 255), "0000000000000001-00000000000000ff.parquet");
        assert_eq!(parse_file_name(&file_name(7, 9)), Some((7, 9)));
        assert_eq!(parse_file_name("0000000000000009-0000000000000007.parquet"), None);
        assert_eq!(parse_file_name("x.parquet"), None);
        assert_eq!(parse_file_name("0000000000000001-0000000000000001.parquet.tmp"), None);
        assert_eq!(
            partition_dir("example.com", Date::parse("2026-11-28").unwrap()),
            "site=example.com/date=2026-11-28"
        );
    }

    #[test]
    fn merged_files_hide_what_they_replace() {
        // flushes 1..3 merged into 1-3 while 4 is new: only 1-3 and 4 are read
        assert_eq!(visible(&[(1, 1), (2, 2), (3, 3), (1, 3), (4, 4)]), vec![false, false, false, true, true]);
        // a later, wider merge hides an earlier merge
        assert_eq!(visible(&[(1, 3), (1, 9), (4, 9)]), vec![false, true, false]);
        // a duplicate range is read once
        assert_eq!(visible(&[(5, 5), (5, 5)]), vec![true, false]);
        assert_eq!(visible(&[]), Vec::<bool>::new());
    }

    #[test]
    fn readers_take_visible_lake_files_and_uncovered_hot_files() {
        let d = "lake/site=a.com/date=2026-11-28";
        let paths: Vec<String> = [
            format!("{d}/{}", file_name(1, 1)),
            format!("{d}/{}", file_name(2, 2)),
            format!("{d}/{}", file_name(1, 2)),
            format!("{d}/{}", hot_file_name(2, 0)),
            format!("{d}/{}", hot_file_name(3, 0)),
            format!("{d}/{}", hot_file_name(3, 1)),
            format!("{d}/.{}.tmp", file_name(4, 4)),
            format!("{d}/data_0.parquet"),
            format!("lake/site=a.com/date=2026-11-27/{}", file_name(9, 9)),
            format!("lake/site=a.com/date=2026-12-01/{}", file_name(9, 9)),
        ]
        .into();
        let got = readable_files(&paths, Date::parse("2026-11-27"), Date::parse("2026-11-30"));
        assert_eq!(
            got,
            vec![
                format!("lake/site=a.com/date=2026-11-27/{}", file_name(9, 9)),
                format!("{d}/{}", file_name(1, 2)),
                format!("{d}/{}", hot_file_name(3, 0)),
                format!("{d}/{}", hot_file_name(3, 1)),
                format!("{d}/data_0.parquet"),
            ]
        );
        assert_eq!(parse_hot_file_name(&hot_file_name(7, 3)), Some((7, 3)));
        assert_eq!(parse_hot_file_name("x.hot"), None);
    }

    #[test]
    fn rollups_stand_for_a_single_compacted_file() {
        let d = "lake/site=a.com/date=2026-11-27";
        let (v, p) = rollup_names(1, 5);
        let mut paths = vec![format!("{d}/{}", file_name(1, 5)), format!("{d}/{v}"), format!("{d}/{p}")];
        let got = select(&paths, None, None);
        assert_eq!(got[0].rollup, Some((format!("{d}/{v}"), format!("{d}/{p}"))));
        assert_eq!(got[0].files, vec![format!("{d}/{}", file_name(1, 5))]);
        // a newer flush file, an uncovered hot file or a missing rollup: no rollup
        paths.push(format!("{d}/{}", file_name(6, 6)));
        assert_eq!(select(&paths, None, None)[0].rollup, None);
        paths.pop();
        paths.push(format!("{d}/{}", hot_file_name(9, 0)));
        assert_eq!(select(&paths, None, None)[0].rollup, None);
        paths.pop();
        paths.pop();
        assert_eq!(select(&paths, None, None)[0].rollup, None);
        // a stale rollup of a file that was replaced is not used
        let paths = vec![format!("{d}/{}", file_name(1, 6)), format!("{d}/{v}"), format!("{d}/{p}")];
        assert_eq!(select(&paths, None, None)[0].rollup, None);
    }

    #[test]
    fn sites_are_host_names() {
        assert!(valid_site("example.com"));
        assert!(valid_site("sub-1.example.co.uk"));
        for bad in ["", "../etc", "a/b", "Example.com", "a..b", ".a", "a.", "a b", "a\\b", "a:80", "é.com"] {
            assert!(!valid_site(bad), "{bad}");
        }
    }

    #[test]
    fn the_partition_of_a_path() {
        assert_eq!(
            partition_of("s3://b/events/site=a.example/date=2026-10-01/x.parquet"),
            Some(("a.example", "2026-10-01"))
        );
        assert_eq!(partition_of("/lake/site=a/date=2026-10-01/0001.parquet"), Some(("a", "2026-10-01")));
        assert_eq!(partition_of("/lake/a/2026-10-01/x.parquet"), None);
        assert_eq!(partition_of("x.parquet"), None);
    }
}
