//! `cargo xtask`: the project's task runner. Thin: parse, go to the workspace root, dispatch.
//!
//!     cargo xtask test           every test, clippy and formatting (what CI runs)
//!     cargo xtask conformance    the conformance suite against the reference sandbox
//!     cargo xtask plugins        build the plugin suite and copy it to target/plugins/
//!     cargo xtask fuzz           run the cargo-fuzz targets for a time budget

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
    test          run every test of the workspace, then clippy (-D warnings) and rustfmt --check
    conformance   run the conformance suite against the reference sandbox and write a report
    plugins       build the plugin suite and copy the shared objects to target/plugins/
    fuzz          build and run the fuzz targets (--time SECONDS per target, default 60)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = root().and_then(|root| {
        std::env::set_current_dir(&root).context("entering the workspace root")?;
        match args.first().map(String::as_str) {
            Some("test") => test(),
            Some("conformance") => conformance(&args[1..]),
            Some("plugins") => plugins(),
            Some("fuzz") => fuzz(&args[1..]),
            Some("help" | "--help" | "-h") => {
                print!("{USAGE}");
                Ok(())
            }
            Some(other) => bail!("unknown task `{other}`\n\n{USAGE}"),
            None => bail!("no task given\n\n{USAGE}"),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> Result<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    Ok(manifest
        .parent()
        .context("xtask has no parent directory")?
        .to_path_buf())
}

fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn test() -> Result<()> {
    cargo(&["test", "--workspace", "--all-targets"])?;
    cargo(&["test", "--workspace", "--doc"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["fmt", "--all", "--", "--check"])
}

fn conformance(_args: &[String]) -> Result<()> {
    bail!(
        "the conformance harness is not built yet; `cargo xtask test` runs the reference sandbox's own tests"
    )
}

fn plugins() -> Result<()> {
    cargo(&[
        "build",
        "-p",
        "sbx-adversarial-plugins",
        "-p",
        "sbx-sandbox",
        "--bins",
    ])?;
    // The build script writes the plugins into its OUT_DIR; find the newest copy.
    let out = Path::new("target/plugins");
    std::fs::create_dir_all(out)?;
    let build = Path::new("target/debug/build");
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(build).context("reading target/debug/build")? {
        let dir = entry?.path().join("out/plugins");
        if let Ok(meta) = std::fs::metadata(&dir) {
            let modified = meta.modified()?;
            if newest.as_ref().is_none_or(|(t, _)| modified > *t) {
                newest = Some((modified, dir));
            }
        }
    }
    let (_, dir) = newest.context("no built plugins found under target/debug/build")?;
    let mut count = 0;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "so") {
            std::fs::copy(&path, out.join(path.file_name().context("file name")?))?;
            count += 1;
        }
    }
    eprintln!("xtask: {count} plugins in {}", out.display());
    Ok(())
}

fn fuzz(args: &[String]) -> Result<()> {
    let mut time = 60u64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--time" => {
                time = it
                    .next()
                    .context("--time needs seconds")?
                    .parse()
                    .context("--time: not a number")?
            }
            other => bail!("unknown fuzz option `{other}`"),
        }
    }
    let have_fuzz = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_fuzz {
        cargo(&["install", "cargo-fuzz", "--locked"])?;
    }
    std::env::set_current_dir("fuzz")?;
    let list = Command::new("cargo").args(["fuzz", "list"]).output()?;
    let targets = String::from_utf8(list.stdout)?;
    for target in targets.lines().filter(|l| !l.trim().is_empty()) {
        let max_time = format!("-max_total_time={time}");
        cargo(&[
            "fuzz",
            "run",
            target,
            "--sanitizer",
            "none",
            "--",
            &max_time,
        ])?;
    }
    Ok(())
}
