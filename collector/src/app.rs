//! The collector's state and its life cycle: recovery, then the ingest
//! pipeline, the write-ahead log, the flusher and the housekeeping thread;
//! on shutdown everything buffered is flushed.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mallard_core::time::{Date, now_micros};

use crate::config::Config;
use crate::ingest::flusher::{self, FlusherOptions};
use crate::ingest::geoip::GeoIp;
use crate::ingest::handoff::{FlushStats, Handoff};
use crate::ingest::hot;
use crate::ingest::pipeline::Pipeline;
use crate::ingest::recovery;
use crate::ingest::salts::Salts;
use crate::ingest::wal::{Wal, WalOptions};
use crate::lake;
use crate::log;
use crate::metrics::Metrics;
use crate::query::funnels::Funnels;
use crate::query::goals::Goals;
use crate::query::stats::Stats;
use crate::{query::db, shutdown::Shutdown};

/// Everything a request handler needs.
pub struct App {
    pub config: Config,
    pub metrics: Arc<Metrics>,
    pub pipeline: Pipeline,
    pub wal: Wal,
    /// Ids of batch events already stored.
    pub batch_ids: Arc<crate::ingest::batch_ids::BatchIds>,
    /// Which requests are served, per lane (ingest, query, health).
    pub admission: crate::http::admission::Admission,
    pub flush_stats: Arc<FlushStats>,
    pub stats: Arc<Stats>,
    pub funnels: Funnels,
    pub goals: Goals,
    pub digests: crate::digests::Digests,
    /// With a shared lake: whether this collector is its maintainer now.
    maintaining: Arc<AtomicBool>,
    pub filtered: crate::filtered::Filtered,
    pub annotations: crate::query::annotations::Annotations,
    pub site_settings: Arc<crate::query::site_settings::Sites>,
    pub auth: crate::auth::Auth,
    pub keys: crate::auth::keys::Keys,
    pub shares: crate::auth::shares::Shares,
    pub invitations: crate::auth::invitations::Invitations,
    pub audit: crate::auth::audit::Audit,
    pub erasures: Arc<crate::lake::erase::Erasures>,
    /// Held by whoever writes the lake: the flusher, erase, retention.
    pub lake_lock: Arc<Mutex<()>>,
    pub started: Instant,
    /// When retention last ran (it runs at start-up, then daily).
    retention_ran: Mutex<Option<Instant>>,
    flusher: Mutex<Option<JoinHandle<()>>>,
    hot: Mutex<Option<(mpsc::Sender<hot::HotMsg>, JoinHandle<()>)>>,
    housekeeping: Mutex<Option<JoinHandle<()>>>,
    /// With a shared lake: the thread that maintains it while this collector
    /// holds the maintainer lock.
    maintainer: Mutex<Option<JoinHandle<()>>>,
    /// The shared lake, when there is one (the flusher commits to it).
    shared: Option<Arc<crate::lake::shared::Shared>>,
    stopping: Arc<AtomicBool>,
    shutdown: Shutdown,
    /// Held for the collector's lifetime: one writer per data directory.
    _lock: std::fs::File,
}

/// Takes the data directory's exclusive lock, so two collectors (or a
/// collector and an offline `compact`) never write the same lake.
pub fn lock_data_dir(data_dir: &Path) -> io::Result<std::fs::File> {
    std::fs::create_dir_all(data_dir).map_err(context("cannot create data directory", data_dir))?;
    let path = data_dir.join(".lock");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!("{} is in use by another mallard-collector", data_dir.display()),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

fn context(what: &str, path: &Path) -> impl FnOnce(io::Error) -> io::Error {
    let msg = format!("{what} {}", path.display());
    move |e| io::Error::new(e.kind(), format!("{msg}: {e}"))
}

/// A catalog connection string without its password (for messages).
pub fn redact(catalog: &str) -> String {
    catalog
        .split(' ')
        .map(|part| if part.starts_with("password=") { "password=***" } else { part })
        .collect::<Vec<_>>()
        .join(" ")
}

impl App {
    /// Recovers the data directory and starts the background threads.
    pub fn start(config: Config, shutdown: Shutdown) -> io::Result<Arc<App>> {
        let lake_dir = config.lake_dir();
        let wal_dir = config.wal_dir();
        let lock = lock_data_dir(&config.data_dir)?;
        let shared = match &config.shared {
            Some(settings) => {
                Some(Arc::new(crate::lake::shared::Shared::open(settings, &config.data_dir).map_err(|e| {
                    io::Error::other(format!("cannot open the shared lake {}: {e}", redact(&settings.catalog)))
                })?))
            }
            None => None,
        };
        let recovered = recovery::recover(&lake_dir, shared.as_deref(), &wal_dir)
            .map_err(context("cannot recover", &config.data_dir))?;
        // Compile the uap-core regexes now rather than on the first request.
        mallard_core::user_agent::warm_up();
        let today = Date::of_micros(now_micros());
        let catalog = config.shared.as_ref().map(|s| s.catalog.as_str());
        let salts = Salts::open_in(&config.data_dir, catalog, config.salt_rotation, today)
            .map_err(context("cannot open salts in", &config.data_dir))?;
        let geoip = geoip(config.geoip_db.as_deref());
        let store = match &config.shared {
            Some(settings) => crate::store::Store::shared(&config.data_dir, &settings.catalog)?,
            None => crate::store::Store::local(&config.data_dir),
        };
        let site_settings = Arc::new(
            crate::query::site_settings::Sites::open(&store)
                .map_err(context("cannot read the site settings in", &config.data_dir))?,
        );
        // Events are accepted for MALLARD_SITES (all when empty) and for the
        // sites an owner added since.
        let added = Arc::clone(&site_settings);
        let accepts = move |site: &str| added.is_added(site);
        let pipeline = Pipeline::new(
            config.sites.clone(),
            Box::new(accepts),
            config.allow_localhost,
            config.rate_limit,
            geoip,
            salts,
        );
        let duck =
            db::open_for_writes(&config.data_dir).map_err(|e| io::Error::other(format!("cannot start DuckDB: {e}")))?;
        restore_visits(&pipeline, &duck, &lake_dir, &recovered.events);
        // The query instance's private DuckDB (inside the extension) takes
        // half of this instance's memory limit: give it twice the budget.
        let memory = format!("{}B", 2 * config.query_memory);
        let stats = match (&config.shared, &shared) {
            (Some(settings), Some(lake)) => Stats::open_shared(
                &settings.catalog,
                &lake_dir,
                &lake.collector,
                settings.extension_dir.as_deref(),
                config.query_threads,
                &memory,
            ),
            _ => Stats::open(&lake_dir, config.query_threads, &memory),
        };
        let stats =
            Arc::new(stats.map_err(|e| io::Error::new(e.kind(), format!("cannot start the stats engine: {e}")))?);

        let funnels = crate::query::funnels::Funnels::open(&store)
            .map_err(context("cannot read the saved funnels in", &config.data_dir))?;
        let digests = crate::digests::Digests::open(&store)
            .map_err(context("cannot read the digest subscriptions in", &config.data_dir))?;
        let filtered = crate::filtered::Filtered::open(&store)
            .map_err(context("cannot read the filtered-out counts in", &config.data_dir))?;
        let annotations = crate::query::annotations::Annotations::open(&store)
            .map_err(context("cannot read the annotations in", &config.data_dir))?;
        let goals = crate::query::goals::Goals::open(&store)
            .map_err(context("cannot read the saved goals in", &config.data_dir))?;
        let auth = crate::auth::Auth::open(
            &store,
            config.admin_password.as_ref().map(|p| p.0.as_str()),
            config.session_ttl,
            config.login_lockout,
        )
        .map_err(context("cannot read the login settings in", &config.data_dir))?;
        let keys = crate::auth::keys::Keys::open_keys(&store)
            .map_err(context("cannot read the API keys in", &config.data_dir))?;
        let shares = crate::auth::shares::Shares::open_shares(&store)
            .map_err(context("cannot read the shared links in", &config.data_dir))?;
        let invitations = crate::auth::invitations::Invitations::open_invitations(&store)
            .map_err(context("cannot read the invitations in", &config.data_dir))?;
        if let Some(token) = auth.setup_token() {
            // The one secret that belongs in the log: the operator reads it
            // here to finish setup from another machine (a container, a VPS).
            log::warn(
                "no dashboard password yet: set one in the dashboard from this machine; from another machine the \
                 setup form also asks for this one-time setup_token (or set MALLARD_ADMIN_PASSWORD)",
                &[("setup_token", &token)],
            );
        }
        let audit = crate::auth::audit::Audit::new(&config.data_dir);
        let lake_lock = Arc::new(Mutex::new(()));
        let erasures = Arc::new(crate::lake::erase::Erasures::default());
        let metrics = Arc::new(Metrics::default());
        let flush_stats = Arc::new(FlushStats::default());
        let stopping = Arc::new(AtomicBool::new(false));
        let (sealed_tx, sealed_rx) = Handoff::channel(Arc::clone(&flush_stats));
        for segment in recovered.unflushed {
            sealed_tx.send(segment);
        }
        let hot = if config.hot_interval.is_zero() {
            None
        } else {
            let (tx, rx) = mpsc::channel();
            let thread = hot::start(lake_dir.clone(), rx, Arc::clone(&stats), Arc::clone(&erasures))?;
            Some((tx, thread))
        };
        let wal = Wal::start(
            WalOptions {
                dir: wal_dir.clone(),
                first_seq: recovered.next_seq,
                flush_interval: config.flush_interval,
                flush_events: config.flush_events,
                queue: config.queue,
                commit_window: config.commit_window,
                hot: hot.as_ref().map(|(tx, _)| (tx.clone(), config.hot_interval)),
                erasures: Arc::clone(&erasures),
            },
            sealed_tx,
            Arc::clone(&metrics),
        )
        .map_err(context("cannot open the write-ahead log in", &wal_dir))?;
        let flusher = flusher::start(
            FlusherOptions {
                lake_dir,
                wal_dir,
                compact_files: config.compact_files,
                flush_interval: config.flush_interval,
                hot: hot.as_ref().map(|(tx, _)| tx.clone()),
                stats: Arc::clone(&stats),
                lake_lock: Arc::clone(&lake_lock),
                erasures: Arc::clone(&erasures),
                shared: shared.clone(),
            },
            sealed_rx,
            duck,
            Arc::clone(&metrics),
            Arc::clone(&flush_stats),
            Arc::clone(&stopping),
        )?;
        // The maintainer works on its own connection, so flushes never wait
        // for a merge or a visit pass.
        let maintaining = Arc::new(AtomicBool::new(false));
        let maintainer = match &config.shared {
            Some(settings) => {
                let own = crate::lake::shared::Shared::open(settings, &config.data_dir)
                    .map_err(|e| io::Error::other(format!("cannot open the shared lake for maintenance: {e}")))?;
                Some(crate::lake::maintainer::start(
                    Arc::new(own),
                    settings.catalog.clone(),
                    settings.maintain_interval,
                    Arc::clone(&stopping),
                    Arc::clone(&maintaining),
                )?)
            }
            None => None,
        };
        let batch_ids = crate::ingest::batch_ids::BatchIds::default();
        for id in recovered.events.iter().filter_map(|e| e.batch_id.as_deref()) {
            batch_ids.claim(id, now_micros());
        }
        let app = Arc::new(App {
            batch_ids: Arc::new(batch_ids),
            admission: crate::http::admission::Admission::new(config.queue, config.shed_after),
            config,
            metrics,
            pipeline,
            wal,
            flush_stats,
            stats,
            funnels,
            goals,
            digests,
            maintaining,
            filtered,
            annotations,
            site_settings,
            auth,
            invitations,
            keys,
            shares,
            audit,
            erasures,
            lake_lock,
            started: Instant::now(),
            retention_ran: Mutex::new(None),
            flusher: Mutex::new(Some(flusher)),
            hot: Mutex::new(hot),
            housekeeping: Mutex::new(None),
            maintainer: Mutex::new(maintainer),
            shared,
            stopping,
            shutdown,
            _lock: lock,
        });
        let weak = Arc::downgrade(&app);
        let housekeeping = std::thread::Builder::new().name("housekeeping".into()).spawn(move || {
            if let Some(app) = weak.upgrade() {
                app.retention();
            }
            let mut last = Instant::now();
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let Some(app) = weak.upgrade() else { return };
                if app.stopping.load(Ordering::Relaxed) {
                    return;
                }
                if last.elapsed() >= Duration::from_secs(30) {
                    app.housekeeping();
                    last = Instant::now();
                }
            }
        })?;
        *app.housekeeping.lock().unwrap_or_else(|e| e.into_inner()) = Some(housekeeping);
        Ok(app)
    }

    /// Drops partitions past `MALLARD_RETENTION_DAYS`, at start-up and then
    /// once a day.
    fn retention(&self) {
        let days = self.config.retention_days;
        let mut ran = self.retention_ran.lock().unwrap_or_else(|e| e.into_inner());
        if days == 0 || ran.is_some_and(|t| t.elapsed() < Duration::from_secs(86_400)) {
            return;
        }
        *ran = Some(Instant::now());
        let first_kept = Date::from_days(Date::of_micros(now_micros()).to_days() - i64::from(days) + 1);
        let dropped = {
            let _lake = self.lake_lock.lock().unwrap_or_else(|e| e.into_inner());
            crate::lake::erase::expire(&self.config.lake_dir(), first_kept)
        };
        match dropped {
            Ok(dropped) => {
                for (site, date) in &dropped {
                    log::info("retention dropped a partition", &[("site", site), ("date", date)]);
                    self.stats.invalidate(site);
                }
                self.metrics.inc("mallard_retention_partitions_deleted_total", "", dropped.len() as f64);
                if !dropped.is_empty() {
                    let _ = self.audit.record(
                        "retention",
                        serde_json::json!({"before": first_kept.to_string(), "partitions": dropped.len()}),
                    );
                }
            }
            Err(e) => log::error("retention failed; will retry tomorrow", &[("error", &e)]),
        }
    }

    /// Salt rotation, visit expiry, retention and gauges; every 30 seconds.
    fn housekeeping(&self) {
        self.retention();
        let now = now_micros();
        match self.pipeline.salts.rotate(Date::of_micros(now)) {
            Ok(true) => log::info("visitor-id salt rotated; salts older than the previous period destroyed", &[]),
            Ok(false) => {}
            Err(e) => log::error("salt rotation failed", &[("error", &e)]),
        }
        if let Err(e) = self.filtered.record(&self.metrics) {
            log::warn("could not store the filtered-out counts; will retry", &[("error", &e)]);
        }
        // Digests: from one collector only (the maintainer, on a shared lake).
        if (self.config.shared.is_none() || self.maintaining.load(Ordering::Relaxed))
            && let Err(e) = crate::digests::send_due(self)
        {
            log::warn("could not send the email digests; will retry", &[("error", &e)]);
        }
        let limited = self.pipeline.prune_rate_limits();
        self.metrics.set_gauge("mallard_rate_limited_sites", limited as f64);
        let open = self.pipeline.expire_visits(now);
        self.metrics.set_gauge("mallard_open_visits", open as f64);
        self.metrics.set_gauge("mallard_buffered_events", self.buffered_events() as f64);
    }

    /// Erases what `rule` names from every file that holds events: lake files
    /// and rollups, WAL segments not yet flushed, and hot files. The rule goes
    /// into the [`Erasures`](crate::lake::erase::Erasures) first, so events still on their way (a request
    /// being committed, a sealed segment, a hot batch) are dropped too.
    /// `rows_removed` counts each erased event once: lake rows plus WAL
    /// events whose flush has not reached their partition (hot files only
    /// repeat WAL events).
    pub fn erase(&self, rule: &crate::lake::erase::Rule) -> io::Result<crate::lake::erase::Outcome> {
        // Every collector of a shared lake hears of it before the lake is
        // touched, so none commits a matching event afterwards unnoticed.
        // What the shared lake holds now: once the erasure is recorded, the
        // maintainer (maybe another collector) may delete the rows before
        // this collector's own delete finds them, which then counts 0.
        let in_shared_lake = match &self.shared {
            Some(shared) => shared.count(rule)?,
            None => 0,
        };
        if let Some(shared) = &self.shared {
            crate::lake::catalog::record_erasure(shared.catalog(), rule)?;
        }
        self.erasures.add(rule.clone());
        let lake_dir = self.config.lake_dir();
        let mut outcome = {
            // The flusher neither writes the lake nor deletes a segment meanwhile.
            let _lake = self.lake_lock.lock().unwrap_or_else(|e| e.into_inner());
            let mut outcome = crate::lake::erase::erase(&lake_dir, rule)?;
            for erased in self.wal.erase(rule.clone())? {
                // A segment's events counted per partition: one listing each.
                let mut per_partition: std::collections::BTreeMap<(&str, Date), u64> = Default::default();
                for e in &erased.events {
                    *per_partition.entry((e.site.as_str(), e.date())).or_default() += 1;
                }
                for ((site, date), n) in per_partition {
                    let dir = lake_dir.join(mallard_core::lake::partition_dir(site, date));
                    let flushed = dir.is_dir() && lake::read_partition(site, date, &dir)?.covers(erased.seq);
                    if !flushed {
                        outcome.wal_rows_removed += n;
                    }
                }
                outcome.wal_segments_rewritten += 1;
            }
            outcome
        };
        if let Some((tx, _)) = self.hot.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let (done_tx, done_rx) = mpsc::channel();
            if tx.send(hot::HotMsg::Erase(rule.clone(), done_tx)).is_ok() {
                outcome.hot_files_rewritten = done_rx.recv().unwrap_or(Ok(0))?;
            }
        }
        outcome.rows_removed += outcome.wal_rows_removed;
        if let Some(shared) = &self.shared {
            let _lake = self.lake_lock.lock().unwrap_or_else(|e| e.into_inner());
            outcome.rows_removed += shared.erase(rule)?.max(in_shared_lake);
        }
        self.stats.invalidate(&rule.site);
        Ok(outcome)
    }

    /// Acknowledged events not yet in Parquet.
    pub fn buffered_events(&self) -> usize {
        self.wal.stats.buffered.load(Ordering::Relaxed)
            + self.flush_stats.pending.load(Ordering::Relaxed).max(0) as usize
    }

    pub fn shutdown_handle(&self) -> &Shutdown {
        &self.shutdown
    }

    /// Seals and flushes everything buffered, then stops the threads.
    pub fn stop(&self) {
        self.wal.shutdown();
        self.stopping.store(true, Ordering::Relaxed);
        if let Some(t) = self.flusher.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
        if let Some((tx, t)) = self.hot.lock().unwrap_or_else(|e| e.into_inner()).take() {
            drop(tx);
            let _ = t.join();
        }
        if let Some(t) = self.housekeeping.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
        if let Err(e) = self.filtered.record(&self.metrics) {
            log::warn("could not store the filtered-out counts", &[("error", &e)]);
        }
        if let Some(t) = self.maintainer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
        log::info("stopped; every acknowledged event is in the lake or the write-ahead log", &[]);
    }
}

/// The GeoIP database: `MALLARD_GEOIP_DB`, else (or when it cannot be read)
/// the embedded country-level one; `off` turns locations off.
fn geoip(setting: Option<&Path>) -> Option<GeoIp> {
    let chosen = match setting {
        Some(path) if path == Path::new("off") => return None,
        Some(path) => GeoIp::open(path).map_err(|e| {
            log::warn(
                "GeoIP database not loaded; using the embedded country-level one",
                &[("path", &path.display()), ("error", &e)],
            )
        }),
        None => Err(()),
    };
    match chosen.or_else(|()| GeoIp::embedded()) {
        Ok(db) => {
            log::info("GeoIP database loaded", &[("source", &db.source()), ("type", &db.database_type())]);
            Some(db)
        }
        Err(e) => {
            log::warn("the embedded GeoIP database cannot be read; locations stay empty", &[("error", &e)]);
            None
        }
    }
}

/// Re-opens the visits that were still open at the last shutdown or crash,
/// so a restart does not split them: from the replayed WAL and the lake's
/// events of the last session gap.
fn restore_visits(
    pipeline: &Pipeline,
    duck: &duckdb::Connection,
    lake_dir: &Path,
    replayed: &[mallard_core::event::Event],
) {
    let now = now_micros();
    let since = now - mallard_core::session::SESSION_GAP_MICROS;
    let recent_days = [Date::of_micros(since), Date::of_micros(now)];
    let mut files = Vec::new();
    if let Ok(partitions) = lake::scan(lake_dir) {
        for p in partitions.iter().filter(|p| recent_days.contains(&p.date)) {
            files.extend(p.visible().into_iter().map(|f| db::quote(&f.path.to_string_lossy())));
        }
    }
    let mut restored = 0usize;
    if !files.is_empty() {
        let sql = format!(
            "SELECT visitor_id, arg_max(visit_id, ts), epoch_us(max(ts)) FROM read_parquet([{}], hive_partitioning = false) \
             WHERE ts >= make_timestamp(?) AND name <> 'engagement' GROUP BY visitor_id",
            files.join(", ")
        );
        let result = duck.prepare(&sql).and_then(|mut stmt| {
            let rows =
                stmt.query_map([since], |r| Ok((r.get::<_, u64>(0)?, r.get::<_, u64>(1)?, r.get::<_, i64>(2)?)))?;
            for row in rows {
                let (visitor, visit, last) = row?;
                pipeline.restore_visit(visitor, visit, last);
                restored += 1;
            }
            Ok(())
        });
        if let Err(e) = result {
            log::warn("could not read recent visits from the lake; open visits may split", &[("error", &e)]);
        }
    }
    for e in replayed.iter().filter(|e| e.ts >= since && e.name != mallard_core::event::ENGAGEMENT) {
        pipeline.restore_visit(e.visitor_id, e.visit_id, e.ts);
    }
    if restored > 0 || !replayed.is_empty() {
        log::info("open visits restored", &[("from_lake", &restored), ("from_wal", &replayed.len())]);
    }
}
