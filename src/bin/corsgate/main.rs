//! `corsgate`: debug, lint, import and review CORS policies without a server.
//!
//! ```text
//! corsgate check --policy p.json [--origin O]... [--method M] [--request-method M]
//!                [--request-headers H]... [--header "Name: value"]... [--format text|json]
//! corsgate lint p.json
//! corsgate import [--from ingress-nginx|envoy|gateway-api] FILE [--format text|json]
//! corsgate diff OLD NEW [--format text|json]
//! corsgate audit POLICY [--format text|json]
//! ```
//! Exit codes: `check`: 0 allowed or not CORS, 1 denied, 2 bad policy or
//! arguments; `lint`: 0 valid, 2 invalid; `import`: 0 converted exactly,
//! 1 converted with notes, 2 some object not converted; `diff`: 0 nothing
//! widened, 1 access widened, 2 bad input; `audit`: 0, or 2 on bad input.
//!
//! One module per subcommand; clap lives here only, never in the library.

mod check;
mod import;
mod lint;
mod review;

use std::process::ExitCode;

use corsgate::{Policy, RawPolicy};

use clap::{Parser, Subcommand, ValueEnum};

/// Debug, lint and import CORS policies without a server.
#[derive(Parser)]
#[command(name = "corsgate", version = corsgate::VERSION)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The verdict, the reason and the exact response headers for one request.
    ///
    /// --method defaults to OPTIONS when --request-method is given, else GET.
    /// Exit codes: 0 allowed or not CORS, 1 denied, 2 bad policy or arguments.
    Check(check::Args),
    /// Validate a policy and explain it in words. Exit 0 valid, 2 invalid.
    Lint(lint::Args),
    /// Convert ingress-nginx annotations, Envoy CorsPolicy or Gateway API
    /// HTTPRoute CORS filters into corsgate policies.
    ///
    /// Exit codes: 0 converted exactly, 1 converted with notes, 2 some object
    /// not converted (each says why) or bad input.
    Import(import::Args),
    /// What access changed between two policies: origins newly admitted or
    /// revoked (each with an example), credentials, methods, headers,
    /// max-age, modes.
    ///
    /// Exit codes: 0 nothing widened, 1 access widened, 2 bad input.
    Diff(review::DiffArgs),
    /// Who can read responses under a policy, pattern by pattern, in words,
    /// with an example origin and risk notes. Exit 0, or 2 on bad input.
    Audit(review::AuditArgs),
}

/// Output format shared by the subcommands.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people.
    Text,
    /// One JSON document on stdout, for scripts.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Import(args) => import::run(args),
        Command::Diff(args) => review::diff(args),
        Command::Audit(args) => review::audit(args),
    };
    result.unwrap_or_else(|message| {
        eprintln!("corsgate: {message}");
        ExitCode::from(2)
    })
}

/// Reads and compiles a policy file, or explains why not.
pub(crate) fn load(path: &str) -> Result<(RawPolicy, Policy), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let invalid = |e: corsgate::PolicyError| format!("{path}: invalid policy:\n{e}");
    let (raw, unknown) = RawPolicy::read_json(&bytes).map_err(invalid)?;
    let policy = Policy::compile_read(&raw, unknown).map_err(invalid)?;
    Ok((raw, policy))
}
