//! The workload: services with their resources, and realistic traces across them.

mod attributes;
mod span;
mod trace;
mod vocabulary;
mod workload;

pub(crate) use trace::{Generator, TraceRef};
pub(crate) use workload::Workload;
