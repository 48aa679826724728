//! The event schema: the columns of the Parquet lake (format v1), in order.
//!
//! This list is a public contract. Readers (the extension) accept files that
//! lack trailing columns, so new columns may only ever be appended.

/// Lake format version written into every Parquet file's metadata.
pub const LAKE_FORMAT_VERSION: u32 = 1;

/// The DuckDB type of a lake column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Varchar,
    /// UTC, microseconds.
    Timestamp,
    UBigInt,
    UInteger,
    USmallInt,
    UTinyInt,
    Boolean,
    /// DECIMAL(18,4)
    Decimal18x4,
    /// MAP(VARCHAR, VARCHAR)
    MapVarchar,
}

impl ColumnType {
    /// The type as DuckDB spells it.
    pub fn sql(self) -> &'static str {
        match self {
            ColumnType::Varchar => "VARCHAR",
            ColumnType::Timestamp => "TIMESTAMP",
            ColumnType::UBigInt => "UBIGINT",
            ColumnType::UInteger => "UINTEGER",
            ColumnType::USmallInt => "USMALLINT",
            ColumnType::UTinyInt => "UTINYINT",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Decimal18x4 => "DECIMAL(18,4)",
            ColumnType::MapVarchar => "MAP(VARCHAR, VARCHAR)",
        }
    }
}

/// One column of the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
}

const fn col(name: &'static str, ty: ColumnType) -> Column {
    Column { name, ty }
}

use ColumnType::*;

/// The lake's columns, in file order.
pub const LAKE_COLUMNS: &[Column] = &[
    col("site", Varchar),
    col("ts", Timestamp),
    col("visitor_id", UBigInt),
    col("visit_id", UBigInt),
    col("name", Varchar),
    col("hostname", Varchar),
    col("pathname", Varchar),
    col("referrer", Varchar),
    col("referrer_source", Varchar),
    col("utm_source", Varchar),
    col("utm_medium", Varchar),
    col("utm_campaign", Varchar),
    col("utm_content", Varchar),
    col("utm_term", Varchar),
    col("browser", Varchar),
    col("browser_version", Varchar),
    col("os", Varchar),
    col("os_version", Varchar),
    col("device", Varchar),
    col("screen_width", USmallInt),
    col("country", Varchar),
    col("region", Varchar),
    col("city", Varchar),
    col("props", MapVarchar),
    col("revenue_amount", Decimal18x4),
    col("revenue_currency", Varchar),
    col("interactive", Boolean),
    col("engaged_ms", UInteger),
    col("scroll_depth", UTinyInt),
];

/// The event name of a pageview.
pub const PAGEVIEW: &str = "pageview";
/// The event name of Plausible-style engagement rows (time on page and
/// scroll depth); they are never counted as events.
pub const ENGAGEMENT: &str = "engagement";

/// One row of the lake: an enriched event, as the collector writes it (and
/// as its write-ahead log stores it, so replay needs no re-enrichment).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Event {
    // `None` fields are left out of the serialized form (the WAL record):
    // most are empty, and a smaller record is cheaper to write and fsync.
    pub site: String,
    /// Microseconds since the epoch, UTC (server receive time).
    pub ts: i64,
    pub visitor_id: u64,
    pub visit_id: u64,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pathname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utm_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utm_medium: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utm_campaign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utm_content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utm_term: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen_width: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<(String, String)>,
    /// DECIMAL(18,4) as an integer number of 10⁻⁴ units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revenue_currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engaged_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scroll_depth: Option<u8>,
    /// Not a lake column: the `id` a server-side batch gave the event, kept
    /// in the WAL record so a retry after a crash is still recognised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
}

impl Event {
    /// The UTC date that names the event's partition.
    pub fn date(&self) -> crate::time::Date {
        crate::time::Date::of_micros(self.ts)
    }
}

/// `site, ts, ...` as a SQL column list, e.g. for a `SELECT`.
pub fn column_list() -> String {
    LAKE_COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_start_with_the_partition_keys() {
        let mut names: Vec<_> = LAKE_COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(&names[..2], &["site", "ts"]);
        names.sort();
        names.dedup();
        assert_eq!(names.len(), LAKE_COLUMNS.len());
    }
}
