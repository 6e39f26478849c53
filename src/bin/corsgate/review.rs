//! `corsgate diff` and `corsgate audit`: what access a policy change
//! widens or narrows, and who can read responses under one policy. The
//! analysis is the library's (`corsgate::review`); this module reads the
//! files and prints.

use std::process::ExitCode;

use crate::Format;

/// `corsgate diff` arguments.
#[derive(clap::Args)]
pub struct DiffArgs {
    /// The policy before the change (`-` for stdin).
    #[arg(value_name = "old.json")]
    old: String,
    /// The policy after the change (`-` for stdin).
    #[arg(value_name = "new.json")]
    new: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// `corsgate audit` arguments.
#[derive(clap::Args)]
pub struct AuditArgs {
    /// The policy JSON file (`-` for stdin).
    #[arg(value_name = "policy.json")]
    policy: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// Reads a policy file (`-` for stdin) for review.
fn input(path: &str) -> Result<corsgate::review::Reviewed, String> {
    let bytes = if path == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .map_err(|e| format!("stdin: {e}"))?;
        b
    } else {
        std::fs::read(path).map_err(|e| format!("{path}: {e}"))?
    };
    corsgate::review::read(&bytes).map_err(|e| format!("{path}: {e}"))
}

/// Runs `corsgate diff`: exit 0 when nothing widened, 1 when access widened.
pub fn diff(args: DiffArgs) -> Result<ExitCode, String> {
    if args.old == "-" && args.new == "-" {
        return Err("diff: only one of the two policies can be read from stdin".into());
    }
    let d = corsgate::review::diff(&input(&args.old)?, &input(&args.new)?)?;
    match args.format {
        Format::Json => println!("{}", d.to_json()),
        Format::Text => print!("{}", d.to_text()),
    }
    Ok(if d.widened() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs `corsgate audit`.
pub fn audit(args: AuditArgs) -> Result<ExitCode, String> {
    let r = input(&args.policy)?;
    match args.format {
        Format::Json => println!("{}", corsgate::review::audit_json(&r)),
        Format::Text => print!("{}", corsgate::review::audit_text(&r)),
    }
    Ok(ExitCode::SUCCESS)
}
