fn main() { eprintln!("sbx: not yet"); }
