//! A small bounded cache of answers that depend only on an immutable part
//! of the index (its postings, its ranks): guests repeat the same places
//! and words, so what a query matched is worth keeping until that part is
//! rebuilt, when the cache goes with it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Answers remembered at most; then the cache starts afresh.
const CAPACITY: usize = 4096;

/// Keys to answers computed once.
#[derive(Debug)]
pub(crate) struct Memo<K, V>(Mutex<HashMap<K, V>>);

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo(Mutex::new(HashMap::new()))
    }
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    /// The answer for `key`, from the cache or `compute`.
    pub(crate) fn get_or(&self, key: K, compute: impl FnOnce() -> V) -> V {
        if let Ok(cache) = self.0.lock()
            && let Some(found) = cache.get(&key)
        {
            return found.clone();
        }
        let found = compute();
        if let Ok(mut cache) = self.0.lock() {
            if cache.len() >= CAPACITY {
                cache.clear();
            }
            cache.insert(key, found.clone());
        }
        found
    }
}
