//! Naming a place in a plugin's code: the function of its symbol table an offset into its
//! loaded image falls in, for the development mode's reports of refused calls. The binary
//! is the plugin author's own and the answer only a name to show, so a binary without
//! symbols, or one that cannot be read, gives none.

use object::read::elf::{Dyn as _, FileHeader as _};
use object::{Object as _, ObjectSymbol as _, SymbolKind, elf};

/// The function of `binary` that `offset` (from where the object is loaded) falls in, and
/// how far into it: `("attack", 0x1a)`. `None` when no function symbol covers it.
pub fn function_at(binary: &[u8], offset: u64) -> Option<(String, u64)> {
    let file = object::File::parse(binary).ok()?;
    file.symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.kind() == SymbolKind::Text && s.size() > 0)
        .find(|s| (s.address()..s.address() + s.size()).contains(&offset))
        .and_then(|s| Some((s.name().ok()?.to_owned(), offset - s.address())))
}

/// The libraries `binary` names as needed (`DT_NEEDED`, up to the first `DT_NULL`), in
/// order; none for what is not a 64-bit little-endian ELF object. Total.
pub fn needed_libraries(binary: &[u8]) -> Vec<String> {
    let needed = || -> Option<Vec<String>> {
        let header = elf::FileHeader64::<object::LittleEndian>::parse(binary).ok()?;
        let endian = header.endian().ok()?;
        let sections = header.sections(endian, binary).ok()?;
        let (entries, strings_index) = sections.dynamic(endian, binary).ok()??;
        let strings = sections.strings(endian, binary, strings_index).ok()?;
        Some(
            entries
                .iter()
                .take_while(|e| e.d_tag(endian) != elf::DT_NULL)
                .filter(|e| e.d_tag(endian) == elf::DT_NEEDED)
                .filter_map(|e| {
                    let offset = u32::try_from(e.d_val(endian)).ok()?;
                    Some(String::from_utf8_lossy(strings.get(offset).ok()?).into_owned())
                })
                .collect(),
        )
    };
    needed().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_in_an_object_is_named_by_its_function_and_garbage_by_nothing() {
        // This test's own executable: its `main` covers its first byte.
        let me = std::fs::read(std::env::current_exe().expect("exe")).expect("read");
        let file = object::File::parse(&*me).expect("parse");
        let main = file
            .symbols()
            .find(|s| s.name() == Ok("main") && s.size() > 0)
            .expect("a main symbol");
        assert_eq!(
            function_at(&me, main.address() + 1),
            Some(("main".to_owned(), 1))
        );
        assert_eq!(function_at(b"not an object", 0), None);
    }

    #[test]
    fn the_libraries_an_object_needs_are_read_from_its_dynamic_section() {
        let me = std::fs::read(std::env::current_exe().expect("exe")).expect("read");
        let needed = needed_libraries(&me);
        assert!(
            needed.iter().any(|l| l.starts_with("libc.so")),
            "{needed:?}"
        );
        assert_eq!(
            needed_libraries(b"\x7fELF but nothing more"),
            Vec::<String>::new()
        );
    }
}
