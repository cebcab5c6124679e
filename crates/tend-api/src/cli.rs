//! Command line: `serve`, `migrate`, `create-admin`, `seed-demo`,
//! `seed-sync-load`, `import`, `audit verify`, `audit checkpoint`. Every
//! setting comes from a flag or its environment variable; passwords never
//! come from flags (they would show in `ps`), only from stdin or the environment.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::config::DatabaseUrl;
use crate::db;

#[derive(Debug, Parser)]
#[command(name = "tend-api", version, about = "Tend's central multi-tenant API")]
pub struct Cli {
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `tend_api=debug,info`.
    #[arg(long, env = "TEND_LOG", default_value = "info", global = true)]
    pub log_level: String,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "TEND_LOG_JSON", global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API.
    Serve(ServeArgs),
    /// Apply migrations as the schema owner; optionally create the API's login role.
    Migrate(MigrateArgs),
    /// Create the first platform administrator (password from stdin or TEND_ADMIN_PASSWORD).
    CreateAdmin(CreateAdminArgs),
    /// Load a realistic demo tenant set (idempotent).
    SeedDemo(SeedArgs),
    /// Fill a new facility with synthetic sync load (benchmarks, soak tests).
    SeedSyncLoad(SyncLoadArgs),
    /// Bring an organization's facilities, staff and residents in from CSV.
    #[command(long_about = IMPORT_HELP)]
    Import(ImportArgs),
    /// The tamper-evident audit log: verify the chains, sign checkpoints.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the audit chains against the signed checkpoints; exits 3 and
    /// names the first broken event when a chain is not intact.
    Verify(VerifyArgs),
    /// Sign a checkpoint of every chain that moved since its last one now
    /// (`serve` does this at its --audit-checkpoint-interval-secs).
    Checkpoint(OwnerArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// URL of the schema owner (it reads every chain, past row-level security).
    #[arg(long, env = "TEND_MIGRATE_DATABASE_URL")]
    pub database_url: DatabaseUrl,
    /// Only this organization's chain (default: every chain, the platform's too).
    #[arg(long)]
    pub organization: Option<i64>,
    /// Verify checkpoints against this Ed25519 public key (base64, as
    /// `GET /api/server-key` gives it) kept outside the database, rather than
    /// the key stored in it.
    #[arg(long, env = "TEND_AUDIT_PUBLIC_KEY")]
    pub public_key: Option<String>,
}

const IMPORT_HELP: &str = "\
Bring a care organization's existing data in from CSV files (RFC 4180, UTF-8,
a header row; columns found by header name, any case and order; an unknown
column or a missing required one is an error).

  facilities: name, facility_type, licensed_beds (empty for HOME_HEALTH);
              optional timezone, address, medicaid_provider_number,
              medicare_provider_number, state_license_number
  staff:      facility, role, employee_id, username, first_name, last_name,
              email (may be empty); optional badge_uid
  residents:  facility, mrn, first_name, last_name, date_of_birth (YYYY-MM-DD),
              status (active, on_leave, discharged, deceased);
              optional room, admission_date (YYYY-MM-DD), discharge_date
              (YYYY-MM-DD; required for discharged and deceased residents
              when the column is there, not before admission_date)

`facility` is the name of a facility of the organization (or one the
facilities file creates). Rows are matched on their natural keys: a facility's
name, a staff member's employee_id (within the organization), a resident's
MRN (within the facility); a matched row is updated only where it differs, so
running the same files again changes nothing. An optional column left out of
the header keeps the stored values; an empty cell stores no value.

Every problem is printed as FILE:LINE:COLUMN: message (the header is line 1)
and nothing is written when there is any (exit status 1). --dry-run checks
everything, rehearses the writes and rolls them back. A real run writes one
transaction per file (facilities, staff, residents) with an audit event each.
New staff get no password: they sign in by badge, or once an administrator sets
one. Badge values are kept only as the organization's keyed hashes; the files
are not kept.

--legacy-database (or TEND_LEGACY_DATABASE_URL) instead of files brings in an
existing single-tenant installation's `users` and `patients` tables (read in
one read-only transaction, never written). Each row goes to the facility of
the organization its `facility_id` names; a row without one, or naming a
facility the organization does not have, goes to the organization's default
facility, created once when needed (--default-facility-name, \"Main Campus\";
--default-facility-type, else the type of the organization's first facility)
and marked settings.default_facility, so a second run finds it. Problems are
printed as `legacy users:ID:COLUMN: message` with the legacy row's id.
Columns: users(id, employee_id, username, full_name, role, [email],
[facility_id]); patients(id, mrn, first_name, last_name, date_of_birth, status,
[room], [admission_date], [discharge_date], [facility_id]).";

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// URL of the schema owner.
    #[arg(long, env = "TEND_MIGRATE_DATABASE_URL")]
    pub database_url: DatabaseUrl,
    /// The organization (id) to import into.
    #[arg(long)]
    pub organization: i64,
    /// Check every file and report what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// facilities.csv: name, facility_type, licensed_beds, …
    #[arg(long)]
    pub facilities: Option<PathBuf>,
    /// staff.csv: facility, role, employee_id, username, first_name, last_name, email, badge_uid
    #[arg(long)]
    pub staff: Option<PathBuf>,
    /// residents.csv: facility, mrn, first_name, last_name, date_of_birth, status, room, admission_date, discharge_date
    #[arg(long)]
    pub residents: Option<PathBuf>,
    /// An existing single-tenant installation to bring in (its users and
    /// patients tables; read only). Prefer the environment variable: a URL
    /// with a password on the command line shows in `ps`.
    #[arg(long, env = "TEND_LEGACY_DATABASE_URL", conflicts_with_all = ["facilities", "staff", "residents"])]
    pub legacy_database: Option<DatabaseUrl>,
    /// With --legacy-database: the name of the default facility if it must be created.
    #[arg(long, default_value = crate::import::legacy::DEFAULT_FACILITY_NAME, requires = "legacy_database")]
    pub default_facility_name: String,
    /// With --legacy-database: its facility type (default: that of the organization's first facility).
    #[arg(long, value_parser = parse_facility_type, requires = "legacy_database")]
    pub default_facility_type: Option<tend_domain::FacilityType>,
}

fn parse_facility_type(value: &str) -> Result<tend_domain::FacilityType, String> {
    tend_domain::FacilityType::parse(&value.to_ascii_uppercase()).map_err(|e| e.message)
}

/// `import` found problems in the files (exit status 1; they are on stderr).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ImportRefused(pub String);

#[derive(Debug, Args)]
pub struct OwnerArgs {
    /// URL of the schema owner.
    #[arg(long, env = "TEND_MIGRATE_DATABASE_URL")]
    pub database_url: DatabaseUrl,
}

/// An audit chain is not intact (exit status 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ChainBroken(pub String);

#[derive(Debug, Args)]
pub struct SyncLoadArgs {
    /// URL of the schema owner.
    #[arg(long, env = "TEND_MIGRATE_DATABASE_URL")]
    pub database_url: DatabaseUrl,
    #[arg(long, default_value_t = 120)]
    pub patients: i64,
    /// Staff members, each with a badge.
    #[arg(long, default_value_t = 200)]
    pub staff: i64,
    /// Clinical records spread over the last 30 days.
    #[arg(long, default_value_t = 100_000)]
    pub records: i64,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// URL of the API's own role (a member of tend_app: not the owner, no BYPASSRLS).
    #[arg(long, env = "TEND_DATABASE_URL")]
    pub database_url: DatabaseUrl,
    /// A direct PostgreSQL URL for the token-revocation listener (LISTEN), when
    /// --database-url goes through PgBouncer in transaction mode.
    #[arg(long, env = "TEND_LISTEN_DATABASE_URL")]
    pub listen_database_url: Option<DatabaseUrl>,
    #[arg(long, env = "TEND_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    #[arg(long, env = "TEND_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub max_connections: u32,
    /// Lifetime of a login token, in hours.
    #[arg(long, env = "TEND_TOKEN_TTL_HOURS", default_value_t = 12)]
    pub token_ttl_hours: u64,
    /// Device enrollment attempts allowed per client address per minute (bursts of half).
    #[arg(long, env = "TEND_ENROLL_PER_ADDRESS_PER_MINUTE", default_value_t = 60)]
    pub enroll_per_address_per_minute: u32,
    /// Device enrollment attempts allowed per enrollment code per minute (bursts of half).
    #[arg(long, env = "TEND_ENROLL_PER_CODE_PER_MINUTE", default_value_t = 12)]
    pub enroll_per_code_per_minute: u32,
    /// Serve HTTPS with this certificate chain (PEM, server certificate first);
    /// re-read on SIGHUP.
    #[arg(long, env = "TEND_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM); re-read on SIGHUP.
    #[arg(long, env = "TEND_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (only behind a proxy that
    /// terminates TLS on a network you trust).
    #[arg(long, env = "TEND_ALLOW_PLAIN_HTTP")]
    pub allow_plain_http: bool,
    /// A proxy (CIDR or address) whose X-Forwarded-For names the client;
    /// repeat it, or comma-separate in the environment variable.
    #[arg(
        long = "trusted-proxy",
        env = "TEND_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<crate::net::TrustedProxy>,
    /// A handler's deadline once its body is in, in seconds (then 503).
    #[arg(long, env = "TEND_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// A request body must arrive whole within this many seconds (then 408).
    #[arg(long, env = "TEND_BODY_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub body_read_timeout_secs: u64,
    /// PostgreSQL statement_timeout for the API's connections, in
    /// milliseconds; 0 leaves the role's or server's setting.
    #[arg(long, env = "TEND_STATEMENT_TIMEOUT_MS", default_value_t = 15_000)]
    pub statement_timeout_ms: u64,
    /// How long a request waits for a free database connection before it is
    /// answered 503 with Retry-After, in milliseconds.
    #[arg(long, env = "TEND_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 2_000)]
    pub db_acquire_timeout_ms: u64,
    /// Serve GET /metrics (Prometheus text format) on this separate address,
    /// plain HTTP; off when not given.
    #[arg(long, env = "TEND_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Sign a checkpoint of each audit chain that moved, this often (in
    /// seconds); 0 turns it off. Several instances may run it at once.
    #[arg(
        long,
        env = "TEND_AUDIT_CHECKPOINT_INTERVAL_SECS",
        default_value_t = 300
    )]
    pub audit_checkpoint_interval_secs: u64,
}

/// A setting that cannot work; the process exits with status 2 and the
/// message names the fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn per_minute(n: u32) -> crate::identity::limits::Rate {
    crate::identity::limits::Rate {
        burst: f64::from((n / 2).max(1)),
        per_second: f64::from(n) / 60.0,
    }
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// URL of the schema owner.
    #[arg(long, env = "TEND_MIGRATE_DATABASE_URL")]
    pub database_url: DatabaseUrl,
    /// Also create or update this login role as a member of tend_app; its
    /// password comes from TEND_APP_PASSWORD.
    #[arg(long)]
    pub app_user: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateAdminArgs {
    /// URL of the schema owner.
    #[arg(long, env = "TEND_MIGRATE_DATABASE_URL")]
    pub database_url: DatabaseUrl,
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub full_name: String,
    #[arg(long)]
    pub email: Option<String>,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// URL of the schema owner.
    #[arg(long, env = "TEND_MIGRATE_DATABASE_URL")]
    pub database_url: DatabaseUrl,
    /// Read the demo accounts' shared password from stdin (else TEND_DEMO_PASSWORD;
    /// with neither, demo accounts cannot log in).
    #[arg(long)]
    pub password_stdin: bool,
}

/// A password from an environment variable, or the first line of stdin.
pub fn read_secret(env_var: &str, from_stdin: bool) -> anyhow::Result<Option<String>> {
    if let Ok(v) = std::env::var(env_var) {
        if !v.is_empty() {
            return Ok(Some(v));
        }
    }
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        return Ok(Some(line).filter(|l| !l.is_empty()));
    }
    Ok(None)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(args) => {
            let pool = db::connect(&args.database_url, 2)
                .await
                .context("connecting as owner")?;
            db::migrate(&pool).await.context("applying migrations")?;
            tracing::info!(database = %args.database_url, "migrations applied");
            if let Some(name) = args.app_user {
                let password = read_secret("TEND_APP_PASSWORD", false)?
                    .context("set TEND_APP_PASSWORD for --app-user")?;
                db::ensure_app_login(&pool, &name, &password).await?;
                tracing::info!(role = %name, "API login role ready");
            }
            Ok(())
        }
        Command::CreateAdmin(args) => {
            let password = read_secret("TEND_ADMIN_PASSWORD", true)?
                .context("give the password on stdin or in TEND_ADMIN_PASSWORD")?;
            crate::auth::check_password_rules(&password).map_err(|m| anyhow::anyhow!("{m}"))?;
            let pool = db::connect(&args.database_url, 2)
                .await
                .context("connecting as owner")?;
            let id = crate::seed::create_platform_admin(
                &pool,
                &args.username,
                &args.full_name,
                args.email.as_deref(),
                &password,
            )
            .await?;
            println!("created platform admin {} (user id {id})", args.username);
            Ok(())
        }
        Command::SeedDemo(args) => {
            let password = read_secret("TEND_DEMO_PASSWORD", args.password_stdin)?;
            let pool = db::connect(&args.database_url, 2)
                .await
                .context("connecting as owner")?;
            let summary = crate::seed::seed_demo(&pool, password.as_deref()).await?;
            println!("{summary}");
            Ok(())
        }
        Command::Import(args) => import(args).await,
        Command::Audit(AuditCommand::Verify(args)) => audit_verify(args).await,
        Command::Audit(AuditCommand::Checkpoint(args)) => {
            let pool = db::connect(&args.database_url, 2)
                .await
                .context("connecting as owner")?;
            let signer = crate::identity::orders::OrderSigner::default();
            let stored = crate::audit_chain::checkpoint_round(&pool, &signer)
                .await
                .map_err(|e| anyhow::anyhow!("signing checkpoints: {e}"))?;
            println!("audit checkpoints signed: {stored}");
            Ok(())
        }
        Command::SeedSyncLoad(args) => {
            let pool = db::connect(&args.database_url, 2)
                .await
                .context("connecting as owner")?;
            let started = std::time::Instant::now();
            let loaded = crate::load::seed_sync_load(
                &pool,
                crate::load::SyncLoad {
                    patients: args.patients,
                    staff: args.staff,
                    records: args.records,
                },
            )
            .await?;
            println!(
                "sync load: {loaded} ({} patients, {} staff with badges, {} records) in {:.1} s",
                args.patients,
                args.staff,
                args.records,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}

/// `import`: problems to stderr (all of them) and exit 1, or a line per file.
async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let files = crate::import::Files {
        facilities: args.facilities,
        staff: args.staff,
        residents: args.residents,
    };
    if files.facilities.is_none()
        && files.staff.is_none()
        && files.residents.is_none()
        && args.legacy_database.is_none()
    {
        return Err(UsageError(
            "give at least one of --facilities, --staff, --residents, or --legacy-database"
                .to_owned(),
        )
        .into());
    }
    let started = std::time::Instant::now();
    let pool = db::connect(&args.database_url, 2)
        .await
        .context("connecting as owner")?;
    let run = async {
        match &args.legacy_database {
            Some(url) => {
                let legacy = db::connect(url, 1)
                    .await
                    .context("connecting to the legacy database")?;
                let default = crate::import::legacy::DefaultFacility {
                    name: args.default_facility_name.clone(),
                    facility_type: args.default_facility_type,
                };
                let outcome = crate::import::legacy::run_legacy(
                    &pool,
                    args.organization,
                    &legacy,
                    &default,
                    args.dry_run,
                )
                .await;
                legacy.close().await;
                outcome
            }
            None => crate::import::run(&pool, args.organization, &files, args.dry_run).await,
        }
    };
    let outcome = run
        .await
        .map_err(|e| match e.downcast::<crate::import::BadOrganization>() {
            Ok(bad) => UsageError(format!("--organization: {bad}")).into(),
            Err(e) => e,
        })?;
    match outcome {
        crate::import::Outcome::Problems(problems) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            Err(ImportRefused(format!(
                "import: {} problem(s); nothing was written",
                problems.len()
            ))
            .into())
        }
        crate::import::Outcome::Done { dry_run, files } => {
            for file in &files {
                println!("{file}");
            }
            println!(
                "import{}: {} file(s) in {:.2} s{}",
                if dry_run { " --dry-run" } else { "" },
                files.len(),
                started.elapsed().as_secs_f64(),
                if dry_run {
                    "; rolled back, nothing was written"
                } else {
                    ""
                }
            );
            Ok(())
        }
    }
}

/// `audit verify`: walks the chains in one snapshot, prints a line per chain
/// and a summary, records the run per chain, and fails with [`ChainBroken`]
/// when any chain is not intact.
async fn audit_verify(args: VerifyArgs) -> anyhow::Result<()> {
    use crate::audit_chain;
    let key = match &args.public_key {
        Some(k) => Some(
            audit_chain::TrustedKey::parse(k)
                .map_err(|m| UsageError(format!("--public-key: {m}")))?,
        ),
        None => None,
    };
    let started = std::time::Instant::now();
    let pool = db::connect(&args.database_url, 2)
        .await
        .context("connecting as owner")?;
    let fail = |e: crate::ApiError| anyhow::anyhow!("verifying the audit chain: {e}");
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    // The chain heads are read through a function that asks for a scope.
    crate::context::set_scope(&mut tx, crate::context::Scope::Platform, None)
        .await
        .map_err(fail)?;
    let key = match key {
        Some(k) => Some(k),
        None => audit_chain::stored_key(&mut tx).await.map_err(fail)?,
    };
    let chains = match args.organization {
        Some(id) => {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1)")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            if !exists {
                return Err(UsageError(format!("--organization: no organization {id}")).into());
            }
            vec![id]
        }
        None => audit_chain::chains(&mut tx).await.map_err(fail)?,
    };
    let mut reports = Vec::with_capacity(chains.len());
    for chain in chains {
        reports.push(
            audit_chain::verify_chain(&mut tx, chain, key.as_ref())
                .await
                .map_err(fail)?,
        );
    }
    tx.commit().await?;
    let mut record = pool.begin().await?;
    for report in &reports {
        println!("{}", report.summary());
        audit_chain::record(&mut record, report, None)
            .await
            .map_err(fail)?;
    }
    record.commit().await?;
    let events: i64 = reports.iter().map(|r| r.events_checked).sum();
    let checkpoints: i64 = reports.iter().map(|r| r.checkpoints_checked).sum();
    let broken: Vec<&audit_chain::ChainReport> = reports.iter().filter(|r| !r.intact()).collect();
    println!(
        "audit verify: {} chains, {events} events, {checkpoints} checkpoints checked in {:.2} s: {}",
        reports.len(),
        started.elapsed().as_secs_f64(),
        if broken.is_empty() {
            "intact".to_owned()
        } else {
            format!("{} broken", broken.len())
        }
    );
    match broken.first() {
        None => Ok(()),
        Some(first) => Err(ChainBroken(format!("audit chain broken: {}", first.summary())).into()),
    }
}

/// The TLS files, or `None` for plain HTTP where that is allowed.
fn tls_setting(args: &ServeArgs) -> Result<Option<Arc<crate::serve::TlsFiles>>, UsageError> {
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => crate::serve::TlsFiles::load(cert, key)
            .map(|files| Some(Arc::new(files)))
            .map_err(|e| UsageError(e.to_string())),
        _ if args.bind.ip().is_loopback() || args.allow_plain_http => Ok(None),
        _ => Err(UsageError(format!(
            "refusing plain HTTP on {}: devices send tokens and resident data. Give --tls-cert \
             and --tls-key, or bind a loopback address behind a local TLS proxy, or add \
             --allow-plain-http when a proxy on a trusted network terminates TLS",
            args.bind
        ))),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Settings first: a bad certificate is reported before anything starts.
    let tls = tls_setting(&args)?;
    tracing::info!(database = %args.database_url, bind = %args.bind, tls = tls.is_some(), "starting");
    let pool = db::connect_with(
        &args.database_url,
        db::PoolSettings {
            max_connections: args.max_connections,
            acquire_timeout: Duration::from_millis(args.db_acquire_timeout_ms.max(1)),
            statement_timeout: (args.statement_timeout_ms > 0)
                .then(|| Duration::from_millis(args.statement_timeout_ms)),
        },
    )
    .await
    .context("connecting to the database")?;
    db::check_app_role(&pool).await?;
    if !db::migrations_current(&pool).await.unwrap_or(false) {
        tracing::warn!(
            "migrations are not current; /readyz answers 503 until `tend-api migrate` runs"
        );
    }
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    if let Some(addr) = args.metrics_listen {
        let metrics = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding --metrics-listen {addr}"))?;
        tracing::info!(addr = %metrics.local_addr()?, "metrics listening");
        let router = crate::metrics::router(pool.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::serve(metrics, router, std::future::pending()).await {
                tracing::warn!(error = %e, "metrics listener stopped");
            }
        });
    }
    let (app, identity) = crate::build(
        pool.clone(),
        Duration::from_secs(args.token_ttl_hours.max(1) * 3600),
        crate::identity::IdentityConfig {
            enroll_per_address: per_minute(args.enroll_per_address_per_minute),
            enroll_per_code: per_minute(args.enroll_per_code_per_minute),
            revocation_listener_url: args.listen_database_url.clone(),
            audit_checkpoint_every: Duration::from_secs(args.audit_checkpoint_interval_secs),
            ..Default::default()
        },
        crate::http::HttpSettings {
            trusted_proxies: args.trusted_proxies.iter().map(|p| p.0).collect(),
            request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
            body_read_timeout: Duration::from_secs(args.body_read_timeout_secs.max(1)),
        },
    );
    match tls {
        Some(tls) => {
            reload_on_hangup(tls.clone());
            crate::serve_tls(listener, app, tls, shutdown_signal()).await?;
        }
        None => crate::serve(listener, app, shutdown_signal()).await?,
    }
    // Heartbeats that arrived since the last flush.
    if let Err(e) = identity.heartbeats.flush(&pool).await {
        tracing::warn!(error = %e, "final heartbeat flush failed");
    }
    Ok(())
}

/// SIGHUP re-reads the certificate and key: new handshakes use them, open
/// connections keep theirs. A failed reload keeps the current certificate.
fn reload_on_hangup(tls: Arc<crate::serve::TlsFiles>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; certificates reload only on restart");
                return;
            }
        };
        while hangup.recv().await.is_some() {
            match tls.reload() {
                Ok(()) => tracing::info!("TLS certificate reloaded"),
                Err(e) => {
                    tracing::warn!(error = %e, "TLS reload failed; keeping the current certificate")
                }
            }
        }
    });
    #[cfg(not(unix))]
    let _ = tls;
}

/// Ctrl-C or SIGTERM (what container runtimes and systemd send) ends serving
/// gracefully: in-flight requests finish, their transactions commit or roll back.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down");
}
