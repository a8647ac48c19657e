//! The scaffold of a role that consumes a topic in a consumer group: client settings, the
//! librdkafka context that hands rebalances and statistics to the role, and committing offsets.
//! A role implements [`ConsumerRole`] (what to do when partitions come and go, how to count)
//! and owns its read loop.

mod commit;
mod context;
mod error;
mod settings;
mod tracker;

pub use commit::{commit_durable, commit_offsets};
pub use context::{ConsumerRole, RoleConsumer, RoleContext};
pub use error::{ConsumerError, Rejoins};
pub use settings::ConsumerSettings;
pub use tracker::SharedTracker;
