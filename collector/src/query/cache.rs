//! The stats query cache: a dashboard refresh does not recompute. An entry
//! lives until its TTL passes or its site gets new data (the hot-file writer
//! and the flusher invalidate the site), whichever comes first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Entries kept at most; the oldest go first.
const CAPACITY: usize = 2048;

struct Entry<T> {
    stored: Instant,
    generation: u64,
    value: Arc<T>,
}

pub struct Cache<T> {
    entries: Mutex<HashMap<String, Entry<T>>>,
    /// Per site: bumped whenever the site's data changes.
    generations: Mutex<HashMap<String, u64>>,
}

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Cache { entries: Mutex::new(HashMap::new()), generations: Mutex::new(HashMap::new()) }
    }
}

fn lock<X>(m: &Mutex<X>) -> std::sync::MutexGuard<'_, X> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T> Cache<T> {
    fn generation(&self, site: &str) -> u64 {
        lock(&self.generations).get(site).copied().unwrap_or(0)
    }

    /// The cached value for `key` of `site`, if fresh.
    pub fn get(&self, site: &str, key: &str, ttl: Duration) -> Option<Arc<T>> {
        let generation = self.generation(site);
        let entries = lock(&self.entries);
        let e = entries.get(key)?;
        (e.generation == generation && e.stored.elapsed() < ttl).then(|| Arc::clone(&e.value))
    }

    /// Stores a value computed when the site was at `generation` (read it
    /// with [`Cache::current`] before computing, so a change that lands
    /// during the computation is not hidden).
    pub fn put(&self, key: String, generation: u64, value: Arc<T>) {
        let mut entries = lock(&self.entries);
        if entries.len() >= CAPACITY
            && let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.stored).map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(key, Entry { stored: Instant::now(), generation, value });
    }

    pub fn current(&self, site: &str) -> u64 {
        self.generation(site)
    }

    /// Marks `site`'s data as changed.
    pub fn invalidate(&self, site: &str) {
        *lock(&self.generations).entry(site.to_string()).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidation_and_ttl() {
        let c: Cache<u32> = Cache::default();
        let g = c.current("a.com");
        c.put("k".into(), g, Arc::new(1));
        assert_eq!(c.get("a.com", "k", Duration::from_secs(60)).as_deref(), Some(&1));
        assert_eq!(c.get("a.com", "k", Duration::ZERO), None);
        c.invalidate("b.com");
        assert!(c.get("a.com", "k", Duration::from_secs(60)).is_some());
        c.invalidate("a.com");
        assert_eq!(c.get("a.com", "k", Duration::from_secs(60)), None);
        // a value computed before an invalidation is never served after it
        let before = c.current("a.com");
        c.invalidate("a.com");
        c.put("k".into(), before, Arc::new(2));
        assert_eq!(c.get("a.com", "k", Duration::from_secs(60)), None);
    }
}
