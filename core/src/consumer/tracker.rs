//! The offset tracker shared between a role's read loop and librdkafka's rebalance callbacks.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::offsets::OffsetTracker;

/// An [`OffsetTracker`] the read loop and the rebalance callbacks both use.
#[derive(Clone, Default)]
pub struct SharedTracker(Arc<Mutex<OffsetTracker>>);

impl SharedTracker {
    /// The tracker; a panic elsewhere while it was held does not make it unusable.
    pub fn lock(&self) -> MutexGuard<'_, OffsetTracker> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
