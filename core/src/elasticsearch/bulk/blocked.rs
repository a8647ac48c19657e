//! Writes that wait for an operator: Elasticsearch denies items (privileges, an index block, a
//! missing index it may not create) or refuses whole requests for good. Retrying is right (the
//! records must not be dropped or dead-lettered for the cluster's fault) but silent retrying is
//! not: a role shares one [`BlockedWrites`] between its writers and shows it (readiness, a gauge)
//! while any of them waits.

use std::sync::{Arc, Mutex};

/// How many of a role's bulk writes wait for an operator; `changed` hears every new count.
#[derive(Clone)]
pub struct BlockedWrites {
    inner: Arc<Inner>,
}

struct Inner {
    count: Mutex<usize>,
    changed: Box<dyn Fn(usize) + Send + Sync>,
}

impl BlockedWrites {
    /// No write blocked yet; `changed` is called with the number of blocked writes each time it
    /// changes (under a lock, so calls arrive in order).
    pub fn new(changed: impl Fn(usize) + Send + Sync + 'static) -> Self {
        Self { inner: Arc::new(Inner { count: Mutex::new(0), changed: Box::new(changed) }) }
    }

    /// Writes blocked now.
    pub fn count(&self) -> usize {
        *self.lock()
    }

    /// One more write is blocked until the guard is dropped.
    pub(super) fn block(&self) -> BlockedGuard {
        self.add(1);
        BlockedGuard(self.clone())
    }

    fn add(&self, delta: isize) {
        let mut count = self.lock();
        *count = count.saturating_add_signed(delta);
        (self.inner.changed)(*count);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, usize> {
        self.inner.count.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A write counted as blocked; dropping it (the write went on, finished or was interrupted)
/// counts it out.
pub(super) struct BlockedGuard(BlockedWrites);

impl Drop for BlockedGuard {
    fn drop(&mut self) {
        self.0.add(-1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_is_reported_as_writes_block_and_go_on() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let blocked = BlockedWrites::new(move |count| record.lock().unwrap().push(count));
        let first = blocked.block();
        let second = blocked.block();
        assert_eq!(blocked.count(), 2);
        drop(first);
        drop(second);
        assert_eq!(*seen.lock().unwrap(), vec![1, 2, 1, 0]);
    }
}
