//! Ingestion: the pipeline that enriches or drops each event, the write-ahead
//! log that makes it durable, the flusher that writes it to the lake, and the
//! hot files that show it before the flush.

pub mod batch_ids;
pub mod flusher;
pub mod geoip;
pub mod handoff;
pub mod hot;
pub mod pipeline;
pub mod recovery;
pub mod salts;
pub mod wal;
