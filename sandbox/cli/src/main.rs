//! `sbx`: host a plugin in the reference sandbox from the command line.
//!
//! Exit codes: 0 success; 1 a plugin or package was refused or failed (error status,
//! crash, limit, deadline, refused load or verification), or a file's contents are wrong;
//! 2 bad usage (an unknown option, a malformed value, a file argument that is missing or
//! unreadable).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

mod package;
mod run;

/// Host an untrusted C/C++ plugin in the reference sandbox.
#[derive(Debug, Parser)]
#[command(
    name = "sbx",
    version,
    after_help = "Exit codes: 0 success; 1 a plugin or package refused or failed; 2 bad usage."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Which traces of the sandbox to print on stderr: a level (off, error, warn, info,
    /// debug, trace) or filter directives (`sbx_host=debug`).
    #[arg(long, global = true, value_name = "FILTER", default_value = "warn",
          value_parser = log_filter)]
    log_level: tracing_subscriber::EnvFilter,
    /// How traces are printed.
    #[arg(long, global = true, value_name = "FORMAT", default_value = "text")]
    log_format: LogFormat,
}

/// The format of the traces on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// One line of text per event.
    Text,
    /// One JSON object per event, with its spans.
    Json,
}

fn log_filter(arg: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    tracing_subscriber::EnvFilter::try_new(arg).map_err(|e| e.to_string())
}

/// Prints the sandbox's traces (`sbx_host`'s spans and events) on stderr; a span's close
/// says how long it took.
fn init_tracing(filter: tracing_subscriber::EnvFilter, format: LogFormat) {
    use tracing_subscriber::fmt::format::FmtSpan;
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().with_span_list(true).init(),
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one call of a plugin shared object in the sandbox. Its output goes to stdout as
    /// is, its log records to stderr.
    Run(run::RunArgs),
    /// Run one call in the development mode: the same layers, but a refused system call is
    /// reported (its arguments, the rule, the plugin's frames) and fails with EPERM instead
    /// of ending the plugin, and each denial and limit is explained; it ends with what the
    /// plugin needed that it was not granted, as a manifest fragment. Never for production:
    /// refused with --strict.
    Dev(run::DevArgs),
    /// Make a publisher key: NAME.key (secret, mode 0600) and NAME.pub.
    Keygen {
        /// Where the two files go, without their extensions.
        #[arg(long, value_name = "NAME")]
        out: String,
    },
    /// Write a signed package (manifest.toml, plugin.so, signature.toml) asking for the
    /// limits given (the policy grants at most its own), and show the hardening its binary
    /// was built with.
    Sign(package::SignArgs),
    /// Verify a package, and show the hardening its binary was built with; exit 1 with the
    /// refusal's kind if it is refused.
    Verify {
        #[command(flatten)]
        trust: package::TrustArgs,
        #[command(flatten)]
        hardening: package::HardeningArgs,
        /// The package directory.
        #[arg(value_name = "DIR", value_parser = existing_dir)]
        package: PathBuf,
    },
    /// Show a package's manifest, hash and signer, without verifying it.
    Inspect {
        /// The package directory.
        #[arg(value_name = "DIR", value_parser = existing_dir)]
        package: PathBuf,
    },
    /// Verify a package, apply the policy and run one call in the sandbox.
    Host(package::HostArgs),
    /// Update a plugin: load the installed version's package, put the new version in its
    /// place (verified, not older unless the policy allows it, rolled back if it fails to
    /// start), then call it through its probation; exit 1 if it was refused or rolled back.
    Update(package::UpdateArgs),
    /// Per-plugin figures and events from an audit log.
    Stats {
        /// The audit log (JSON lines).
        #[arg(value_name = "AUDIT_LOG", value_parser = existing_file)]
        log: PathBuf,
        /// Print the figures as an OpenMetrics text exposition (what Prometheus scrapes),
        /// each labelled with its plugin, instead of text.
        #[arg(long)]
        openmetrics: bool,
    },
    /// Every plugin an audit log names: version, signer, hash, what it was granted and
    /// withheld, its limits, its state, restarts and last failure.
    Inventory {
        /// The audit log (JSON lines).
        #[arg(value_name = "AUDIT_LOG", value_parser = existing_file)]
        log: PathBuf,
    },
    /// Print the plugin ABI header (sbx_plugin.h).
    Header,
    /// Print a completion script for a shell.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    Man,
}

/// Why a command did not succeed, and so how `sbx` exits.
#[derive(Debug)]
pub enum Failure {
    /// A plugin or package was refused, or failed: exit 1.
    Refused(String),
    /// The command was given something it cannot use: exit 2.
    Usage(String),
}

impl Failure {
    fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Refused(_) => ExitCode::from(1),
            Failure::Usage(_) => ExitCode::from(2),
        }
    }

    fn message(&self) -> &str {
        match self {
            Failure::Refused(m) | Failure::Usage(m) => m,
        }
    }
}

/// A file argument that names a readable regular file (a missing file is an error, never
/// an empty result).
fn existing_file(arg: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(arg);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => std::fs::File::open(&path)
            .map(|_| path)
            .map_err(|e| e.to_string()),
        Ok(_) => Err("not a regular file".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A directory argument that names an existing directory.
fn existing_dir(arg: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(arg);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => Ok(path),
        Ok(_) => Err("not a directory".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The output format of `--stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    /// One JSON object on stderr.
    Json,
}

/// A usage error in one line, naming the help that would explain it, instead of the whole
/// usage.
fn usage_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let problem: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let problem = problem.join(" ");
    let problem = problem.strip_prefix("error: ").unwrap_or(&problem);
    // The first argument that names a subcommand (global options may come before it).
    let command = Cli::command();
    let subcommand = std::env::args_os()
        .skip(1)
        .filter_map(|a| a.into_string().ok())
        .find(|a| command.find_subcommand(a).is_some());
    match subcommand {
        Some(s) => format!("{problem} (see `sbx {s} --help`)"),
        None => format!("{problem} (see `sbx --help`)"),
    }
}

/// A reader that stops reading (`sbx inspect DIR | head`) ends `sbx` as it ends any Unix
/// tool, by SIGPIPE, instead of a panic in `print!`: Rust starts programs with SIGPIPE
/// ignored.
fn die_on_closed_output() {
    // SAFETY: restores the default disposition of one signal before any thread starts; no
    // handler runs our code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    die_on_closed_output();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                // Help and version were asked for (or `sbx` alone: help, and exit 2).
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
                }
                _ => {
                    eprintln!("sbx: {}", usage_line(&e));
                    ExitCode::from(2)
                }
            };
        }
    };
    init_tracing(cli.log_level, cli.log_format);
    let outcome = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Keygen { out } => package::keygen(&out),
        Command::Sign(args) => package::sign(args),
        Command::Verify {
            trust,
            hardening,
            package,
        } => package::verify(&trust, &hardening, &package),
        Command::Inspect { package } => package::inspect(&package),
        Command::Dev(args) => run::dev(args),
        Command::Host(args) => package::host(args),
        Command::Update(args) => package::update(args),
        Command::Stats { log, openmetrics } => package::stats(&log, openmetrics),
        Command::Inventory { log } => package::inventory(&log),
        Command::Header => {
            print!("{}", sbx_contract::PLUGIN_HEADER);
            Ok(())
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "sbx", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map_err(|e| Failure::Refused(format!("stdout: {e}"))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("sbx: {}", failure.message());
            failure.exit_code()
        }
    }
}
