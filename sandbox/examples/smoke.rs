fn main() {
    let plugin = std::env::args().nth(1).expect("plugin path");
    let cfg = sbx_sandbox::SandboxConfig::builder(plugin).build().unwrap();
    let mut p = match sbx_sandbox::Plugin::spawn(&cfg) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("spawn: {e:#?}");
            std::process::exit(1)
        }
    };
    print!("{}", p.enforcement().table());
    p.init(b"").unwrap();
    p.start().unwrap();
    let out = p.invoke("echo", b"hello").unwrap();
    println!("echo -> {:?}", String::from_utf8_lossy(&out));
    for l in p.logs() {
        println!("log: {l:?}");
    }
    println!("{:?}", p.shutdown().unwrap());
}
