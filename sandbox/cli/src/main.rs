//! `sbx`: host a plugin in the reference sandbox from the command line.
//!
//! Exit codes: 0 the call succeeded; 1 the plugin failed (error status, crash, limit,
//! deadline, refused load); 2 bad usage or configuration.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

mod package;

use sbx_host::{Deadlines, Layers, Plugin, SandboxConfig, SandboxError, Strictness};

const USAGE: &str = "\
sbx — host an untrusted C/C++ plugin in the reference sandbox

USAGE:
    sbx run --plugin FILE.so --method NAME [OPTIONS]
    sbx keygen --out NAME      new publisher key: NAME.key (secret, 0600), NAME.pub
    sbx sign --key NAME.key --plugin FILE.so --name N --version V [--capability C]...
             [--memory-mib N] [--cpu-seconds N] [--cpu-percent N] [--storage-bytes N]
             [--host-calls-per-second N] --out DIR
                               write a signed package (manifest.toml, plugin.so, signature.toml)
                               asking for those limits (the policy grants at most its own)
    sbx verify (--trust FILE | --pub NAME.pub) DIR
                               verify a package; exit 1 with the refusal's kind if refused
    sbx inspect DIR            show a package's manifest, hash and signer (not verified)
    sbx host --package DIR (--trust FILE | --pub NAME.pub) --policy FILE --storage DIR
             [--audit FILE] --method NAME [--input TEXT] [--init TEXT] [--stats json]
                               verify, apply the policy, run one call in the sandbox
    sbx stats AUDIT_LOG        per-plugin figures and events from an audit log
    sbx header                 print the plugin ABI header (sbx_plugin.h)
    sbx help

RUN OPTIONS:
    --plugin FILE          the plugin shared object
    --method NAME          method passed to sbx_plugin_invoke
    --input TEXT           input bytes (default: empty)
    --input-file FILE      read the input from FILE instead
    --init TEXT            configuration passed to sbx_plugin_init (default: empty)
    --timeout-ms N         wall-clock deadline of the call (default: 5000)
    --strict               refuse to run unless every layer is fully in force
    --disable LAYER[,..]   switch layers off (testing only): identity, namespaces,
                           capabilities, no_new_privs, landlock, rlimits, seccomp
    --report               print what confinement is in force on stderr
    --json                 print one JSON record (output, logs, enforcement, termination)
    --runner FILE          the sbx-runner binary (default: beside sbx, or $SBX_RUNNER)

The plugin's output is written to stdout as is; its log records go to stderr.
";

/// Validated `run` options.
struct RunArgs {
    plugin: PathBuf,
    method: String,
    input: Vec<u8>,
    init: Vec<u8>,
    timeout: Duration,
    strict: bool,
    layers: Layers,
    report: bool,
    json: bool,
    runner: Option<PathBuf>,
}

#[derive(Debug)]
struct UsageError(String);

fn parse_run(args: &[String]) -> Result<RunArgs, UsageError> {
    let mut plugin = None;
    let mut method = None;
    let mut input = None;
    let mut input_file = None;
    let mut init = Vec::new();
    let mut timeout = Duration::from_secs(5);
    let mut strict = false;
    let mut layers = Layers::ALL;
    let mut report = false;
    let mut json = false;
    let mut runner = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| UsageError(format!("{name} needs a value")))
        };
        match flag.as_str() {
            "--plugin" => plugin = Some(PathBuf::from(value("--plugin")?)),
            "--method" => method = Some(value("--method")?),
            "--input" => input = Some(value("--input")?.into_bytes()),
            "--input-file" => input_file = Some(PathBuf::from(value("--input-file")?)),
            "--init" => init = value("--init")?.into_bytes(),
            "--timeout-ms" => {
                let v = value("--timeout-ms")?;
                let ms: u64 = v.parse().ok().filter(|ms| *ms > 0).ok_or_else(|| {
                    UsageError(format!("--timeout-ms: `{v}` is not a positive integer"))
                })?;
                timeout = Duration::from_millis(ms);
            }
            "--strict" => strict = true,
            "--disable" => {
                for layer in value("--disable")?.split(',') {
                    match layer.trim() {
                        "identity" => layers.drop_identity = false,
                        "namespaces" => layers.namespaces = false,
                        "capabilities" => layers.drop_capabilities = false,
                        "no_new_privs" => layers.no_new_privs = false,
                        "landlock" => layers.landlock = false,
                        "rlimits" => layers.rlimits = false,
                        "seccomp" => layers.seccomp = false,
                        other => {
                            return Err(UsageError(format!("--disable: unknown layer `{other}`")));
                        }
                    }
                }
            }
            "--report" => report = true,
            "--json" => json = true,
            "--runner" => runner = Some(PathBuf::from(value("--runner")?)),
            other => return Err(UsageError(format!("unknown option `{other}`"))),
        }
    }
    let input = match (input, input_file) {
        (Some(_), Some(_)) => {
            return Err(UsageError("give --input or --input-file, not both".into()));
        }
        (Some(i), None) => i,
        (None, Some(f)) => std::fs::read(&f)
            .map_err(|e| UsageError(format!("--input-file {}: {e}", f.display())))?,
        (None, None) => Vec::new(),
    };
    Ok(RunArgs {
        plugin: plugin.ok_or_else(|| UsageError("--plugin is required".into()))?,
        method: method.ok_or_else(|| UsageError("--method is required".into()))?,
        input,
        init,
        timeout,
        strict,
        layers,
        report,
        json,
        runner,
    })
}

fn run(args: RunArgs) -> ExitCode {
    let mut builder = SandboxConfig::builder(&args.plugin)
        .layers(args.layers)
        .deadlines(Deadlines {
            call: args.timeout,
            ..Deadlines::default()
        })
        .strictness(if args.strict {
            Strictness::Strict
        } else {
            Strictness::BestEffort
        });
    if let Some(r) = &args.runner {
        builder = builder.runner(r);
    }
    let config = match builder.build() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sbx: {e}");
            return ExitCode::from(2);
        }
    };
    let mut plugin = match Plugin::spawn(&config) {
        Ok(p) => p,
        Err(e) => return failure(&args, None, e),
    };
    if args.report {
        eprint!("{}", plugin.enforcement().table());
    }
    let result = plugin
        .init(&args.init)
        .and_then(|()| plugin.start())
        .and_then(|()| plugin.invoke(&args.method, &args.input));
    if !args.json {
        for log in plugin.logs() {
            eprintln!("[plugin {}] {}", log.level, log.message);
        }
    }
    match result {
        Ok(output) => {
            let logs: Vec<_> = plugin.logs().cloned().collect();
            let enforcement = plugin.enforcement().clone();
            let stats = plugin.stats();
            let termination = plugin.shutdown().ok();
            if args.json {
                let record = serde_json::json!({
                    "ok": true,
                    "output": String::from_utf8_lossy(&output),
                    "logs": logs,
                    "stats": stats,
                    "enforcement": enforcement,
                    "termination": termination,
                });
                println!("{record}");
            } else {
                let _ = std::io::stdout().write_all(&output);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let enforcement = plugin.enforcement().clone();
            let logs: Vec<_> = plugin.logs().cloned().collect();
            drop(plugin);
            failure(&args, Some((enforcement, logs)), e)
        }
    }
}

fn failure(
    args: &RunArgs,
    context: Option<(sbx_host::EnforcementReport, Vec<sbx_host::LogRecord>)>,
    e: SandboxError,
) -> ExitCode {
    let termination = match &e {
        SandboxError::Ended(t) => Some((**t).clone()),
        SandboxError::ActivationFailed { termination, .. } => Some((**termination).clone()),
        _ => None,
    };
    if args.json {
        let (enforcement, logs) = context.unzip();
        let record = serde_json::json!({
            "ok": false,
            "error": e.to_string(),
            "logs": logs,
            "enforcement": enforcement,
            "termination": termination,
        });
        println!("{record}");
    } else {
        eprintln!("sbx: {e}");
        if let Some(t) = termination {
            eprintln!(
                "sbx: termination: {}",
                serde_json::to_string(&t).unwrap_or_default()
            );
        }
    }
    ExitCode::from(1)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => match parse_run(&args[1..]) {
            Ok(a) => run(a),
            Err(UsageError(msg)) => {
                eprintln!("sbx run: {msg}\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        Some(cmd @ ("keygen" | "sign" | "verify" | "inspect" | "host" | "stats")) => {
            let rest = &args[1..];
            let outcome = match cmd {
                "keygen" => package::keygen(rest),
                "sign" => package::sign(rest),
                "verify" => package::verify(rest),
                "inspect" => package::inspect(rest),
                "host" => package::host(rest),
                _ => package::stats(rest),
            };
            match outcome {
                Ok(()) => ExitCode::SUCCESS,
                Err(package::Failure(msg, code)) => {
                    eprintln!("sbx {cmd}: {msg}");
                    if code == 2 {
                        eprint!("\n{USAGE}");
                    }
                    ExitCode::from(code)
                }
            }
        }
        Some("header") => {
            print!("{}", sbx_contract::PLUGIN_HEADER);
            ExitCode::SUCCESS
        }
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("sbx: unknown command `{other}`\n\n{USAGE}");
            ExitCode::from(2)
        }
        None => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
