//! `sbx-runner`: started by the host only, never by hand. See `sbx_sandbox::runner`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    sbx_sandbox::runner::main(&args)
}
