//! The analytics role: a second consumer group on the spans topic that assembles whole traces per
//! partition and writes dependency links (Jaeger's `jaeger-dependencies-*`) and latency aggregates
//! (`skein-metrics-*`) to Elasticsearch, exactly once.
//!
//! Path of a record: [`worker`] reads it → [`partition`] assembles traces and counts spans into
//! time buckets → [`links`] turns a closed trace into calls → [`documents`] renders final buckets →
//! [`store`] writes them, then the checkpoint, then the worker commits the offset.

pub mod links;
pub mod names;
pub mod partition;
pub mod documents;

#[cfg(test)]
mod partition_tests;
