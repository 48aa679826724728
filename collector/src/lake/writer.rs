//! Writes events to a lake Parquet file (format v1): sorted by
//! `(visitor_id, ts)`, zstd-compressed, at most [`ROW_GROUP_ROWS`] rows per row group,
//! written to a temp name, fsync'd, then renamed into place, so no reader
//! ever sees a partial file.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Decimal128Builder, MapBuilder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
    UInt8Builder, UInt16Builder, UInt32Builder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use mallard_core::event::{ColumnType, Event, LAKE_COLUMNS, LAKE_FORMAT_VERSION};
use mallard_core::lake::file_name;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::files::sync_dir;

/// Rows per row group at most (DuckDB's default). A Parquet writer holds a
/// whole row group in memory: at 1M rows a merge of 806k wide rows needed
/// over 512 MB and failed with DuckDB's out-of-memory error, again on every
/// retry; at 122 880 it runs in 256 MB in 1.6 s (ARCHITECTURE.md, write path).
pub const ROW_GROUP_ROWS: usize = 122_880;

/// The Parquet key-value metadata key that records a file's lake format.
pub const FORMAT_KEY: &str = "mallard.lake_format";

/// The `COPY … TO` options of every lake file DuckDB writes (merges, rollups,
/// erase rewrites): the compression, row groups and format version of a flush.
fn copy_options() -> String {
    format!(
        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS}, \
         KV_METADATA {{'{FORMAT_KEY}': '{LAKE_FORMAT_VERSION}'}})"
    )
}

/// Writes the rows of `query` as the lake file `path` with DuckDB, the way
/// every DuckDB-written lake file is written (merges, rollups, erase
/// rewrites): `COPY` to `tmp`, fsync it, rename it over `path`. The caller
/// fsyncs the directory. Returns the file's size in bytes.
pub fn copy_into_place(db: &duckdb::Connection, query: &str, tmp: &Path, path: &Path) -> io::Result<u64> {
    let quoted = crate::query::db::quote(&tmp.to_string_lossy());
    db.execute_batch(&format!("COPY ({query}) TO {quoted} {}", copy_options())).map_err(to_io)?;
    File::open(tmp)?.sync_all()?;
    let bytes = std::fs::metadata(tmp)?.len();
    std::fs::rename(tmp, path)?;
    Ok(bytes)
}

fn arrow_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::Varchar => DataType::Utf8,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        ColumnType::UBigInt => DataType::UInt64,
        ColumnType::UInteger => DataType::UInt32,
        ColumnType::USmallInt => DataType::UInt16,
        ColumnType::UTinyInt => DataType::UInt8,
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Decimal18x4 => DataType::Decimal128(18, 4),
        ColumnType::MapVarchar => map_type(),
    }
}

fn map_type() -> DataType {
    let entries = Field::new(
        "key_value",
        DataType::Struct(
            vec![Field::new("key", DataType::Utf8, false), Field::new("value", DataType::Utf8, true)].into(),
        ),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

/// The Arrow schema of the lake.
pub fn schema() -> Schema {
    Schema::new(
        LAKE_COLUMNS
            .iter()
            .map(|c| Field::new(c.name, arrow_type(c.ty), !matches!(c.name, "site" | "ts" | "name")))
            .collect::<Vec<_>>(),
    )
}

/// The events as one Arrow batch, in the given order.
pub fn to_batch(events: &[Event]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let n = events.len();
    let text = |f: &dyn Fn(&Event) -> Option<&str>| -> ArrayRef {
        let mut b = StringBuilder::with_capacity(n, n * 8);
        for e in events {
            b.append_option(f(e));
        }
        Arc::new(b.finish())
    };
    let mut ts = TimestampMicrosecondBuilder::with_capacity(n);
    let mut visitor = UInt64Builder::with_capacity(n);
    let mut visit = UInt64Builder::with_capacity(n);
    let mut width = UInt16Builder::with_capacity(n);
    let mut revenue = Decimal128Builder::with_capacity(n).with_precision_and_scale(18, 4)?;
    let mut interactive = BooleanBuilder::with_capacity(n);
    let mut engaged = UInt32Builder::with_capacity(n);
    let mut scroll = UInt8Builder::with_capacity(n);
    let mut props = MapBuilder::new(
        Some(arrow::array::MapFieldNames { entry: "key_value".into(), key: "key".into(), value: "value".into() }),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    for e in events {
        ts.append_value(e.ts);
        visitor.append_value(e.visitor_id);
        visit.append_value(e.visit_id);
        width.append_option(e.screen_width);
        revenue.append_option(e.revenue_amount.map(i128::from));
        interactive.append_option(e.interactive);
        engaged.append_option(e.engaged_ms);
        scroll.append_option(e.scroll_depth);
        for (k, v) in &e.props {
            props.keys().append_value(k);
            props.values().append_value(v);
        }
        props.append(true)?;
    }
    let columns: Vec<ArrayRef> = vec![
        text(&|e| Some(&e.site)),
        Arc::new(ts.finish()),
        Arc::new(visitor.finish()),
        Arc::new(visit.finish()),
        text(&|e| Some(&e.name)),
        text(&|e| e.hostname.as_deref()),
        text(&|e| e.pathname.as_deref()),
        text(&|e| e.referrer.as_deref()),
        text(&|e| e.referrer_source.as_deref()),
        text(&|e| e.utm_source.as_deref()),
        text(&|e| e.utm_medium.as_deref()),
        text(&|e| e.utm_campaign.as_deref()),
        text(&|e| e.utm_content.as_deref()),
        text(&|e| e.utm_term.as_deref()),
        text(&|e| e.browser.as_deref()),
        text(&|e| e.browser_version.as_deref()),
        text(&|e| e.os.as_deref()),
        text(&|e| e.os_version.as_deref()),
        text(&|e| e.device.as_deref()),
        Arc::new(width.finish()),
        text(&|e| e.country.as_deref()),
        text(&|e| e.region.as_deref()),
        text(&|e| e.city.as_deref()),
        Arc::new(props.finish()),
        Arc::new(revenue.finish()),
        text(&|e| e.revenue_currency.as_deref()),
        Arc::new(interactive.finish()),
        Arc::new(engaged.finish()),
        Arc::new(scroll.finish()),
    ];
    RecordBatch::try_new(Arc::new(schema()), columns)
}

fn to_io(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// Writes `events` (sorted here) as `<dir>/<from>-<to>.parquet`, durably and
/// atomically. Returns the final path and its size.
pub fn write_file(dir: &Path, from: u64, to: u64, events: &mut [Event]) -> io::Result<(PathBuf, u64)> {
    write_named(dir, &file_name(from, to), events, true)
}

/// Writes `events` (sorted here) as `<dir>/<name>` atomically (temp name,
/// then rename); `durable` also fsyncs the file and the directory.
pub fn write_named(dir: &Path, name: &str, events: &mut [Event], durable: bool) -> io::Result<(PathBuf, u64)> {
    std::fs::create_dir_all(dir)?;
    events.sort_by_key(|e| (e.visitor_id, e.ts));
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).map_err(to_io)?))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_key_value_metadata(Some(vec![KeyValue::new(FORMAT_KEY.into(), LAKE_FORMAT_VERSION.to_string())]))
        .build();
    let file = File::create(&tmp)?;
    let mut writer = ArrowWriter::try_new(file, Arc::new(schema()), Some(props)).map_err(to_io)?;
    for chunk in events.chunks(64 * 1024) {
        writer.write(&to_batch(chunk).map_err(to_io)?).map_err(to_io)?;
    }
    let file = writer.into_inner().map_err(to_io)?;
    if durable {
        file.sync_all()?;
    }
    let bytes = file.metadata()?.len();
    drop(file);
    std::fs::rename(&tmp, &path)?;
    if durable {
        sync_dir(dir)?;
    }
    Ok((path, bytes))
}
