//! `collector.udp` and `agent.udp`: limits of the Jaeger agent UDP receivers.

use serde::{Deserialize, Serialize};

/// Limits of the Jaeger agent UDP receivers (in the collector and in the agent).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UdpConfig {
    /// Largest datagram accepted, bytes; larger ones are counted as `too_large` and dropped.
    pub max_packet_bytes: usize,
    /// Decoded batches waiting to be sent on; when full, datagrams are dropped and counted
    /// (`queue_full`): UDP cannot push back.
    pub queue_batches: usize,
    /// Batches sent on concurrently.
    pub workers: usize,
    /// Socket receive buffer, bytes (`SO_RCVBUF`; the kernel may cap it at `net.core.rmem_max`).
    pub socket_buffer_bytes: usize,
}

impl Default for UdpConfig {
    fn default() -> Self {
        Self {
            // Jaeger clients' limit.
            max_packet_bytes: 65_000,
            queue_batches: 1_000,
            workers: 16,
            socket_buffer_bytes: 4 * 1024 * 1024,
        }
    }
}

/// A `udp` option that cannot work; the role's error names the section it is in.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UdpConfigError {
    #[error("udp.queue_batches must be at least 1")]
    NoQueue,
    #[error("udp.workers must be at least 1")]
    NoWorkers,
    #[error("udp.max_packet_bytes must be between 512 and 65535, the sizes a UDP datagram can have (it is {0})")]
    PacketSize(usize),
}

impl UdpConfig {
    /// Rules within a `udp` section that serde cannot express.
    pub fn validate(&self) -> Result<(), UdpConfigError> {
        if self.queue_batches == 0 {
            return Err(UdpConfigError::NoQueue);
        }
        if self.workers == 0 {
            return Err(UdpConfigError::NoWorkers);
        }
        if !(512..=65_535).contains(&self.max_packet_bytes) {
            return Err(UdpConfigError::PacketSize(self.max_packet_bytes));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_queue_or_no_workers_are_refused() {
        assert_eq!(UdpConfig { queue_batches: 0, ..UdpConfig::default() }.validate(), Err(UdpConfigError::NoQueue));
        assert_eq!(UdpConfig { workers: 0, ..UdpConfig::default() }.validate(), Err(UdpConfigError::NoWorkers));
    }

    #[test]
    fn packet_limit_must_be_a_datagram_size() {
        for bytes in [511, 65_536] {
            let udp = UdpConfig { max_packet_bytes: bytes, ..UdpConfig::default() };
            assert_eq!(udp.validate(), Err(UdpConfigError::PacketSize(bytes)));
        }
        for bytes in [512, 65_535] {
            UdpConfig { max_packet_bytes: bytes, ..UdpConfig::default() }.validate().expect("within bounds");
        }
    }
}
