//! `sbx-runner`: started by the host only, never by hand. See `sbx_runner`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    sbx_runner::main(&args)
}
