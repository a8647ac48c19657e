//! The indices analytics writes a tenant's links and latency series to are the ones the query
//! reader of that tenant (`IndexNames::for_tenant`) searches, and no other tenant's reader, nor
//! the untenanted one, searches them. Documents are rendered by analytics itself.

use std::collections::BTreeMap;

use skein_analytics::documents::{Document, Target};
use skein_analytics::names::Names;
use skein_analytics::partition::{Bucket, DependencyTotals, Series, Settings, NO_TENANT};
use skein_query::reader::{Family, Reader};
use skein_schemas::elasticsearch::{IndexNames, RolledFamily};
use skein_schemas::tenant::Tenant;

const DAY_MS: i64 = 86_400_000;

/// One operation series and one link of each tenant (and of the untenanted records) in a bucket
/// starting at `start_ms`, and its dependencies totals, rendered as analytics writes them.
fn analytics_documents(indices: &IndexNames, start_ms: i64) -> Vec<Document> {
    let settings = Settings {
        idle_gap_ms: 1_000,
        max_age_ms: 4_000,
        max_open_traces: 40,
        max_spans_per_trace: 9,
        bucket_ms: 60_000,
        dependencies_bucket_ms: 900_000,
    };
    let mut names = Names::default();
    let (web, api) = (names.id("web"), names.id("api"));
    let mut bucket = Bucket::default();
    let mut totals = DependencyTotals { start_ms, links: BTreeMap::new() };
    for tenant in ["acme", "globex", ""] {
        let id = if tenant.is_empty() { NO_TENANT } else { names.id(tenant) };
        bucket.operations.insert((id, web, names.id("GET /"), 2), Series::default());
        bucket.links.insert((id, web, api), Series::default());
        totals.links.insert((tenant.to_string(), "web".into(), "api".into()), (1, 0));
    }
    let target = Target { group: "g", indices, topic: "spans", partition: 0, settings: &settings, fence: None };
    let mut docs = Vec::new();
    target.bucket_documents(start_ms, &bucket, &names, &mut docs);
    target.dependencies_documents(&totals, &mut docs);
    docs
}

fn reader(names: IndexNames) -> Reader {
    let client = elasticsearch::Elasticsearch::default();
    Reader::new(client, names, "g")
}

/// The documents of `docs` in an index `reader` searches for `family` over the day of `start_ms`.
fn read_by<'a>(reader: &Reader, family: Family, start_ms: i64, docs: &'a [Document]) -> Vec<&'a Document> {
    let searched = reader.indices(family, start_ms, start_ms + DAY_MS - 1);
    docs.iter().filter(|doc| searched.contains(&doc.index)).collect()
}

#[test]
fn each_tenants_reader_searches_exactly_the_indices_analytics_writes_that_tenants_documents_to() {
    let start_ms = 1_700_000_040_000 - 1_700_000_040_000 % 900_000;
    for base in [IndexNames::new("skein"), IndexNames::new("")] {
        let docs = analytics_documents(&base, start_ms);
        assert_eq!(docs.len(), 9, "two series and one dependencies document per tenant");
        let metrics = |doc: &&Document| doc.index.contains("skein-metrics-");
        for tenant in ["acme", "globex"] {
            let names = base.for_tenant(&Tenant::parse(tenant).unwrap());
            let tenant_reader = reader(names.clone());
            let own: Vec<&Document> = docs.iter().filter(|doc| doc.index.starts_with(names.prefix())).collect();
            assert_eq!(own.len(), 3, "{tenant}: {:?}", docs.iter().map(|d| &d.index).collect::<Vec<_>>());
            let read_metrics = read_by(&tenant_reader, Family::Metrics, start_ms, &docs);
            assert_eq!(read_metrics, own.iter().copied().filter(metrics).collect::<Vec<_>>(), "{tenant}");
            let read_links = read_by(&tenant_reader, Family::Dependencies, start_ms, &docs);
            assert_eq!(read_links, own.iter().copied().filter(|d| !metrics(d)).collect::<Vec<_>>(), "{tenant}");
        }
        // The untenanted reader finds the untenanted documents only.
        let plain = reader(base.clone());
        let read: Vec<&Document> = [Family::Metrics, Family::Dependencies]
            .into_iter()
            .flat_map(|family| read_by(&plain, family, start_ms, &docs))
            .collect();
        assert_eq!(read.len(), 3);
        assert!(read.iter().all(|doc| !doc.index.contains("acme") && !doc.index.contains("globex")), "{read:?}");
    }
}

#[test]
fn in_alias_mode_a_tenants_dependencies_go_to_its_write_alias_and_are_read_through_its_read_alias() {
    let base = IndexNames::new("skein").with_aliases(true);
    let acme = base.for_tenant(&Tenant::parse("acme").unwrap());
    let docs = analytics_documents(&base, 0);
    let links: Vec<&str> =
        docs.iter().filter(|d| d.index.contains("jaeger-dependencies")).map(|d| d.index.as_str()).collect();
    assert!(links.contains(&"skein-acme-jaeger-dependencies-write"), "{links:?}");
    assert!(links.contains(&"skein-jaeger-dependencies-write"), "{links:?}");
    // `skein indices rollover init` with the tenant's prefix puts both aliases on one index.
    assert_eq!(acme.write_alias(RolledFamily::Dependencies), "skein-acme-jaeger-dependencies-write");
    assert_eq!(
        reader(acme.clone()).indices(Family::Dependencies, 0, DAY_MS),
        vec![acme.read_alias(RolledFamily::Dependencies)]
    );
    // Metrics stay daily in alias mode, and are found by the tenant's reader.
    let read = read_by(&reader(acme), Family::Metrics, 0, &docs);
    assert_eq!(read.len(), 2);
    assert!(read.iter().all(|d| d.index.starts_with("skein-acme-skein-metrics-")));
}
