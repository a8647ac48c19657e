//! `skein indices`: index maintenance of one prefix. `clean` deletes indices older than N days
//! (logic in `skein_core::elasticsearch::retention`); `rollover init | rollover | lookback` is
//! Jaeger's alias mode (`elasticsearch.use_aliases`, logic in
//! `skein_core::elasticsearch::rollover`); this file only parses flags and prints what was done.

use anyhow::{Context, Result};
use skein_core::elasticsearch::retention::clean;
use skein_core::elasticsearch::rollover::{parse_conditions, IndexRollover, LookbackUnit, DEFAULT_CONDITIONS};
use skein_schemas::elasticsearch::IndexNames;

use crate::options::ConfigArgs;

#[derive(clap::Args)]
pub struct IndicesArgs {
    #[command(subcommand)]
    action: IndicesAction,
}

#[derive(clap::Subcommand)]
enum IndicesAction {
    /// Delete the span, service, dependencies and skein-metrics daily indices of the configured
    /// prefix (elasticsearch.index_prefix) older than N days, as Jaeger's es-index-cleaner does:
    /// today (UTC) and the N − 1 days before it stay. Never another prefix's indices, never the
    /// analytics checkpoints.
    Clean(CleanArgs),
    /// Jaeger's alias mode (elasticsearch.use_aliases): create, roll over and narrow the
    /// `<prefix>-jaeger-{span,service,dependencies}-write` / `-read` aliases.
    Rollover(RolloverArgs),
}

#[derive(clap::Args)]
struct CleanArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Days to keep, today (UTC) included; at least 1.
    #[arg(long, value_name = "N")]
    older_than_days: u32,
    /// List what would be deleted and delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also delete Jaeger's rollover indices (`<prefix>jaeger-span-000001`, alias mode) created
    /// more than N days ago, except those behind a write alias; on by itself when
    /// elasticsearch.use_aliases is set.
    #[arg(long)]
    rollover: bool,
}

#[derive(clap::Args)]
struct RolloverArgs {
    #[command(subcommand)]
    action: RolloverAction,
}

#[derive(clap::Subcommand)]
enum RolloverAction {
    /// Install the index templates and create `<prefix>-jaeger-<family>-000001` with its write
    /// and read aliases where they are missing (run it before the first start in alias mode;
    /// running it again changes nothing).
    Init(ConfigArgs),
    /// Move each write alias to a new index when the conditions hold, and add that index to the
    /// read alias (run it periodically, e.g. the Helm CronJob).
    Rollover {
        #[command(flatten)]
        config: ConfigArgs,
        /// Elasticsearch `_rollover` conditions as JSON: max_age, max_docs, max_size,
        /// max_primary_shard_size, max_primary_shard_docs (and their min_ forms).
        #[arg(long, default_value = DEFAULT_CONDITIONS)]
        conditions: String,
    },
    /// Take indices created more than --unit-count units ago out of the read aliases, so reads
    /// stop at them (the index being written always stays).
    Lookback {
        #[command(flatten)]
        config: ConfigArgs,
        /// seconds, minutes, hours, days, weeks, months or years.
        #[arg(long, default_value = "days", value_parser = parse_unit)]
        unit: LookbackUnit,
        /// How many units back indices stay readable.
        #[arg(long, default_value_t = 1)]
        unit_count: u32,
    },
}

fn parse_unit(text: &str) -> Result<LookbackUnit, String> {
    text.parse()
}

/// Every prefix maintained: the configured one, then each allowed tenant's, so one run keeps
/// every tenant's indices as it keeps the untenanted ones.
fn prefixes(config: &skein_core::SkeinConfig) -> Vec<skein_core::config::ElasticsearchConfig> {
    config.tenancy.every_prefix(&config.elasticsearch)
}

fn maintenance(config: &ConfigArgs) -> Result<Vec<IndexRollover>> {
    let config = config.load()?;
    skein_core::telemetry::init_logging(&config.log);
    let client =
        skein_core::elasticsearch::client(&config.elasticsearch).context("cannot build the Elasticsearch client")?;
    Ok(prefixes(&config).iter().map(|es| IndexRollover::new(client.clone(), es)).collect())
}

pub async fn run(args: IndicesArgs) -> Result<()> {
    match args.action {
        IndicesAction::Clean(args) => run_clean(args).await,
        IndicesAction::Rollover(args) => rollover(args).await,
    }
}

async fn rollover(args: RolloverArgs) -> Result<()> {
    match args.action {
        RolloverAction::Init(config) => {
            for maintenance in maintenance(&config)? {
                for report in maintenance.init().await? {
                    let family = maintenance.names().rolled_base(report.family);
                    let index = if report.created_index { "created" } else { "kept" };
                    let aliases = match report.added_aliases.as_slice() {
                        [] => "aliases already there".to_string(),
                        added => format!("added {}", added.join(", ")),
                    };
                    println!("{family}: {index} {}, {aliases}", report.write_index);
                }
            }
        }
        RolloverAction::Rollover { config, conditions } => {
            let conditions = parse_conditions(&conditions)?;
            for maintenance in maintenance(&config)? {
                for report in maintenance.rollover(&conditions).await? {
                    let family = maintenance.names().rolled_base(report.family);
                    if report.rolled_over {
                        println!("{family}: rolled over from {} to {}", report.old_index, report.new_index);
                    } else {
                        println!("{family}: no condition met, still writing {}", report.old_index);
                    }
                }
            }
        }
        RolloverAction::Lookback { config, unit, unit_count } => {
            for maintenance in maintenance(&config)? {
                for report in maintenance.lookback(unit, unit_count, chrono::Utc::now()).await? {
                    let family = maintenance.names().rolled_base(report.family);
                    match report.removed.as_slice() {
                        [] => println!("{family}: no index to take out of the read alias"),
                        removed => println!("{family}: taken out of the read alias: {}", removed.join(", ")),
                    }
                }
            }
        }
    }
    Ok(())
}

async fn run_clean(args: CleanArgs) -> Result<()> {
    let config = args.config.load()?;
    skein_core::telemetry::init_logging(&config.log);
    let client =
        skein_core::elasticsearch::client(&config.elasticsearch).context("cannot build the Elasticsearch client")?;
    for es in prefixes(&config) {
        let es = &es;
        let names = IndexNames::new(&es.index_prefix);
        let now = chrono::Utc::now();
        let rollover = args.rollover || es.use_aliases;
        let plan = clean(&client, &names, args.older_than_days, rollover, args.dry_run, now)
            .await
            .with_context(|| format!("the clean of {} stopped", es.url))?;
        let prefix =
            if names.prefix().is_empty() { "no prefix".to_string() } else { format!("prefix {:?}", names.prefix()) };
        println!(
            "{} ({prefix}): keeping the days {} to {} (UTC); {} older indices{}",
            es.url,
            plan.keep_from,
            now.date_naive(),
            if args.dry_run { "would delete the" } else { "deleting the" },
            if args.dry_run { " (dry run)" } else { "" },
        );
        for doomed in &plan.doomed {
            println!(
                "  {}  {}  ({})",
                if args.dry_run { "would delete" } else { "deleted" },
                doomed.index,
                doomed.reason
            );
        }
        let n = plan.doomed.len();
        match (n, args.dry_run) {
            (0, _) => println!("nothing to delete"),
            (n, true) => println!("dry run: {n} indices would be deleted, nothing was"),
            (n, false) => println!("deleted {n} indices"),
        }
    }
    Ok(())
}
