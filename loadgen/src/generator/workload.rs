//! Everything the generators share: the services, each with its resource, routes and database.

use opentelemetry_proto::tonic::resource::v1::Resource;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::attributes::{int, string};
use super::vocabulary::{ROUTES, SERVICE_NAMES, TABLES};
use crate::args::LoadgenArgs;

/// The services traces cross and the shape of each trace, shared by all generators.
pub(crate) struct Workload {
    pub(super) services: Vec<ServiceInfo>,
    pub(super) spans_per_trace: usize,
    pub(super) attributes: usize,
}

pub(super) struct ServiceInfo {
    pub(super) name: String,
    pub(super) resource: Resource,
    pub(super) routes: Vec<(&'static str, &'static str)>,
    pub(super) table: &'static str,
    pub(super) db_system: &'static str,
}

impl Workload {
    /// `--services` services; their instance ids, pods and versions drawn from `seed`.
    pub(crate) fn new(args: &LoadgenArgs, seed: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let services = (0..args.services)
            .map(|i| {
                let name = SERVICE_NAMES.get(i).map_or_else(|| format!("service-{i}"), |n| n.to_string());
                let language = ["java", "go", "rust", "python", "nodejs"][i % 5];
                let pod = format!("{name}-{:08x}-{:05x}", rng.random::<u32>(), rng.random::<u32>() & 0xfffff);
                let resource = Resource {
                    attributes: vec![
                        string("service.name", &name),
                        string("service.namespace", "shop"),
                        string("service.version", &format!("1.{}.{}", i % 7, rng.random_range(0..30))),
                        string("service.instance.id", &hex::encode(rng.random::<[u8; 16]>())),
                        string("host.name", &pod),
                        string("host.arch", "amd64"),
                        string("os.type", "linux"),
                        int("process.pid", rng.random_range(1..65_535)),
                        string("telemetry.sdk.name", "opentelemetry"),
                        string("telemetry.sdk.language", language),
                        string("telemetry.sdk.version", "1.38.0"),
                        string("deployment.environment.name", "bench"),
                        string("k8s.namespace.name", "shop"),
                        string("k8s.pod.name", &pod),
                    ],
                    ..Default::default()
                };
                let routes = (0..4).map(|k| ROUTES[(i * 3 + k) % ROUTES.len()]).collect();
                ServiceInfo {
                    name,
                    resource,
                    routes,
                    table: TABLES[i % TABLES.len()],
                    db_system: ["postgresql", "redis", "mysql", "postgresql"][i % 4],
                }
            })
            .collect();
        Self { services, spans_per_trace: args.spans_per_trace, attributes: args.attributes }
    }
}
