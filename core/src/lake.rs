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
    fn sites_are_host_names() {
        assert!(valid_site("example.com"));
        assert!(valid_site("sub-1.example.co.uk"));
        for bad in ["", "../etc", "a/b", "Example.com", "a..b", ".a", "a.", "a b", "a\\b", "a:80", "é.com"] {
            assert!(!valid_site(bad), "{bad}");
        }
    }
}
