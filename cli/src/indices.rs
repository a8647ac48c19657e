//! `skein indices <action>`: index maintenance. `clean` deletes the daily indices of one prefix
//! older than N days (the logic is in `skein_core::elasticsearch::retention`).

use anyhow::{Context, Result};
use skein_core::elasticsearch::retention::clean;
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
    /// more than N days ago, except those behind a write alias.
    #[arg(long)]
    rollover: bool,
}

pub async fn run(args: IndicesArgs) -> Result<()> {
    match args.action {
        IndicesAction::Clean(args) => run_clean(args).await,
    }
}

async fn run_clean(args: CleanArgs) -> Result<()> {
    let config = args.config.load()?;
    skein_core::telemetry::init_logging(&config.log);
    let es = &config.elasticsearch;
    let names = IndexNames::new(&es.index_prefix);
    let client = skein_core::elasticsearch::client(es).context("cannot build the Elasticsearch client")?;
    let now = chrono::Utc::now();
    let plan = clean(&client, &names, args.older_than_days, args.rollover, args.dry_run, now)
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
        println!("  {}  {}  ({})", if args.dry_run { "would delete" } else { "deleted" }, doomed.index, doomed.reason);
    }
    let n = plan.doomed.len();
    match (n, args.dry_run) {
        (0, _) => println!("nothing to delete"),
        (n, true) => println!("dry run: {n} indices would be deleted, nothing was"),
        (n, false) => println!("deleted {n} indices"),
    }
    Ok(())
}
