//! How a plugin binary was built, as its ELF says: the exploit mitigations a policy can
//! require of it before it is loaded (the facts Debian's `hardening-check` and `checksec`
//! report). Read from the bytes by a total function: any input gets its facts or a typed
//! error, in time and memory bounded by its length.
//!
//! What each fact rests on:
//! - `relro`: a `PT_GNU_RELRO` segment (the loader makes the relocated data read-only);
//! - `bind_now`: `DT_BIND_NOW`, `DF_BIND_NOW` in `DT_FLAGS` or `DF_1_NOW` in `DT_FLAGS_1`
//!   (every symbol resolved at load, so the whole GOT is under RELRO);
//! - `nx_stack`: a `PT_GNU_STACK` segment without `PF_X` (without one, the loader makes the
//!   process's stacks executable for the library);
//! - `no_text_relocations`: neither `DT_TEXTREL` nor `DF_TEXTREL` (code the loader must
//!   make writable to relocate);
//! - `stack_protector`: a reference to `__stack_chk_fail` (code compiled with
//!   `-fstack-protector*` calls it on a smashed canary);
//! - `fortify`: a reference to a fortified libc function, `__*_chk` (`-D_FORTIFY_SOURCE`);
//! - `ibt`, `shstk`: the x86 feature bits of a `GNU_PROPERTY_X86_FEATURE_1_AND` note
//!   (`-fcf-protection`; the linker keeps them only when every object has them).
//!
//! The last four are evidence of a build flag, not proof of its absence: a library with no
//! buffer on any stack calls no `__stack_chk_fail` however it was built, and one that calls
//! no fortifiable function references no `__*_chk`. A policy that requires them requires
//! the evidence.

use std::collections::BTreeSet;

use object::elf;
use object::read::elf::{Dyn as _, FileHeader, ProgramHeader as _, Sym as _};
use serde::{Deserialize, Serialize};

/// A mitigation a plugin binary shows it was built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hardening {
    /// Relocated data made read-only after the load (`-Wl,-z,relro`).
    Relro,
    /// Every symbol bound at load (`-Wl,-z,now`).
    BindNow,
    /// No executable stack asked for (`-Wl,-z,noexecstack`, the default).
    NxStack,
    /// No relocation in code (`-fPIC`).
    NoTextRelocations,
    /// Stack canaries (`-fstack-protector-strong`).
    StackProtector,
    /// Fortified libc calls (`-D_FORTIFY_SOURCE=2` with optimisation).
    Fortify,
    /// Indirect branch tracking marked (`-fcf-protection=branch`).
    Ibt,
    /// Shadow stack marked (`-fcf-protection=return`).
    Shstk,
}

impl Hardening {
    /// Every mitigation, in the order they are reported.
    pub const ALL: [Hardening; 8] = [
        Hardening::Relro,
        Hardening::BindNow,
        Hardening::NxStack,
        Hardening::NoTextRelocations,
        Hardening::StackProtector,
        Hardening::Fortify,
        Hardening::Ibt,
        Hardening::Shstk,
    ];

    /// Its name in a policy (`require_hardening = ["relro", ...]`) and in a refusal.
    pub fn name(self) -> &'static str {
        match self {
            Hardening::Relro => "relro",
            Hardening::BindNow => "bind_now",
            Hardening::NxStack => "nx_stack",
            Hardening::NoTextRelocations => "no_text_relocations",
            Hardening::StackProtector => "stack_protector",
            Hardening::Fortify => "fortify",
            Hardening::Ibt => "ibt",
            Hardening::Shstk => "shstk",
        }
    }

    /// The mitigation a policy names, if it is one.
    pub fn from_name(name: &str) -> Option<Hardening> {
        Hardening::ALL.into_iter().find(|h| h.name() == name)
    }

    /// The compiler or linker flags that give it: what a refusal tells the plugin's author.
    pub fn how(self) -> &'static str {
        match self {
            Hardening::Relro => "link with -Wl,-z,relro",
            Hardening::BindNow => "link with -Wl,-z,now",
            Hardening::NxStack => {
                "link with -Wl,-z,noexecstack (and no object asking for an executable stack)"
            }
            Hardening::NoTextRelocations => "compile every object with -fPIC",
            Hardening::StackProtector => "compile with -fstack-protector-strong",
            Hardening::Fortify => "compile with -O2 -D_FORTIFY_SOURCE=2",
            Hardening::Ibt => "compile every object with -fcf-protection=branch",
            Hardening::Shstk => "compile every object with -fcf-protection=return",
        }
    }
}

impl std::fmt::Display for Hardening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a binary's hardening cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HardeningError {
    /// Not a 64-bit little-endian ELF file (the only kind the host loads).
    #[error("not a 64-bit little-endian ELF file")]
    NotElf64,
    /// An ELF file whose headers or tables do not hold together.
    #[error("malformed ELF: {0}")]
    Malformed(String),
}

impl From<object::read::Error> for HardeningError {
    fn from(e: object::read::Error) -> HardeningError {
        HardeningError::Malformed(e.to_string())
    }
}

type Elf = elf::FileHeader64<object::LittleEndian>;

/// The mitigations the ELF file `bytes` shows.
pub fn inspect(bytes: &[u8]) -> Result<BTreeSet<Hardening>, HardeningError> {
    let header = Elf::parse(bytes).map_err(|_| HardeningError::NotElf64)?;
    if !header.is_little_endian() {
        return Err(HardeningError::NotElf64);
    }
    let endian = header.endian()?;
    let mut found = BTreeSet::new();
    let mut stack_segment = None;
    let mut text_relocations = false;
    for segment in header.program_headers(endian, bytes)? {
        match segment.p_type(endian) {
            elf::PT_GNU_RELRO => {
                found.insert(Hardening::Relro);
            }
            elf::PT_GNU_STACK => stack_segment = Some(segment.p_flags(endian)),
            elf::PT_DYNAMIC => {
                let Some(entries) = segment.dynamic(endian, bytes)? else {
                    continue;
                };
                // The loader reads up to the first DT_NULL: what follows it is not in force.
                for entry in entries
                    .iter()
                    .take_while(|e| e.d_tag(endian) != elf::DT_NULL)
                {
                    let (tag, value) = (entry.d_tag(endian), entry.d_val(endian));
                    match tag {
                        elf::DT_BIND_NOW => {
                            found.insert(Hardening::BindNow);
                        }
                        elf::DT_FLAGS if value & u64::from(elf::DF_BIND_NOW) != 0 => {
                            found.insert(Hardening::BindNow);
                        }
                        elf::DT_FLAGS_1 if value & u64::from(elf::DF_1_NOW) != 0 => {
                            found.insert(Hardening::BindNow);
                        }
                        elf::DT_TEXTREL => text_relocations = true,
                        _ => {}
                    }
                    if tag == elf::DT_FLAGS && value & u64::from(elf::DF_TEXTREL) != 0 {
                        text_relocations = true;
                    }
                }
            }
            elf::PT_GNU_PROPERTY | elf::PT_NOTE => {
                found.extend(cet_marks(endian, bytes, segment)?);
            }
            _ => {}
        }
    }
    if stack_segment.is_some_and(|flags| flags & elf::PF_X == 0) {
        found.insert(Hardening::NxStack);
    }
    if !text_relocations {
        found.insert(Hardening::NoTextRelocations);
    }
    found.extend(library_marks(header, endian, bytes)?);
    Ok(found)
}

/// The mitigations of `required` that `present` lacks, in report order.
pub fn missing(present: &BTreeSet<Hardening>, required: &[Hardening]) -> Vec<Hardening> {
    Hardening::ALL
        .into_iter()
        .filter(|h| required.contains(h) && !present.contains(h))
        .collect()
}

/// Each of `missing` with the flags that give it, for a refusal: `relro (link with
/// -Wl,-z,relro), ...`.
pub fn explain(missing: &[Hardening]) -> String {
    missing
        .iter()
        .map(|h| format!("{h} ({})", h.how()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// IBT and SHSTK from a note segment's GNU properties.
fn cet_marks(
    endian: object::LittleEndian,
    bytes: &[u8],
    segment: &elf::ProgramHeader64<object::LittleEndian>,
) -> Result<Vec<Hardening>, HardeningError> {
    let mut marks = Vec::new();
    let Some(mut notes) = segment.notes(endian, bytes)? else {
        return Ok(marks);
    };
    while let Some(note) = notes.next()? {
        // Only a GNU property note has properties.
        let Some(mut properties) = note.gnu_properties(endian) else {
            continue;
        };
        while let Some(property) = properties.next()? {
            if property.pr_type() != elf::GNU_PROPERTY_X86_FEATURE_1_AND {
                continue;
            }
            let bits = property.data_u32(endian)?;
            if bits & elf::GNU_PROPERTY_X86_FEATURE_1_IBT != 0 {
                marks.push(Hardening::Ibt);
            }
            if bits & elf::GNU_PROPERTY_X86_FEATURE_1_SHSTK != 0 {
                marks.push(Hardening::Shstk);
            }
        }
    }
    Ok(marks)
}

/// The stack protector and FORTIFY from the libc functions the dynamic symbol table
/// imports: only an undefined symbol is a call into libc; one the binary defines itself
/// (a dummy `__stack_chk_fail`) proves nothing.
fn library_marks(
    header: &Elf,
    endian: object::LittleEndian,
    bytes: &[u8],
) -> Result<Vec<Hardening>, HardeningError> {
    let sections = header.sections(endian, bytes)?;
    let symbols = sections.symbols(endian, bytes, elf::SHT_DYNSYM)?;
    let mut marks = Vec::new();
    for symbol in symbols.iter().filter(|s| s.is_undefined(endian)) {
        let Ok(name) = symbol.name(endian, symbols.strings()) else {
            continue;
        };
        if name == b"__stack_chk_fail" || name == b"__stack_chk_guard" {
            marks.push(Hardening::StackProtector);
        } else if name.starts_with(b"__") && name.ends_with(b"_chk") {
            marks.push(Hardening::Fortify);
        }
    }
    Ok(marks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This test's own executable: built by rustc, a real ELF file.
    fn some_elf() -> Vec<u8> {
        std::fs::read(std::env::current_exe().expect("the test's path")).expect("readable")
    }

    #[test]
    fn names_are_what_a_policy_writes_and_read_back() {
        for h in Hardening::ALL {
            assert_eq!(Hardening::from_name(h.name()), Some(h));
            assert!(!h.how().is_empty());
        }
        assert_eq!(Hardening::from_name("pie"), None);
    }

    #[test]
    fn what_is_not_an_elf_file_is_refused_by_kind() {
        assert_eq!(inspect(b""), Err(HardeningError::NotElf64));
        assert_eq!(inspect(b"#!/bin/sh\n"), Err(HardeningError::NotElf64));
        let mut elf32 = some_elf();
        elf32[4] = 1; // EI_CLASS: ELFCLASS32
        assert!(inspect(&elf32).is_err());
    }

    #[test]
    fn every_prefix_of_an_elf_file_gets_facts_or_an_error() {
        let elf = some_elf();
        // The headers, and past them in steps: a total parser never panics on a truncation.
        for len in (0..4096.min(elf.len())).chain((4096..elf.len()).step_by(65_537)) {
            let _ = inspect(&elf[..len]);
        }
        assert!(inspect(&elf).is_ok());
    }

    #[test]
    fn missing_lists_what_is_required_and_absent_in_report_order() {
        let present = BTreeSet::from([Hardening::Relro, Hardening::NxStack]);
        let required = [Hardening::Fortify, Hardening::Relro, Hardening::BindNow];
        assert_eq!(
            missing(&present, &required),
            [Hardening::BindNow, Hardening::Fortify]
        );
        assert!(missing(&present, &[]).is_empty());
    }

    /// A seed of the fuzz target, built for this: `gcc -shared -nostdlib` with every
    /// mitigation's flag (and `-z ibt -z shstk`), or with none and a text relocation.
    fn seed(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus/elf_hardening")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn every_mitigation_is_read_where_it_is_and_none_where_none_is() {
        let all: BTreeSet<Hardening> = Hardening::ALL.into_iter().collect();
        assert_eq!(inspect(&seed("seed-hardened-cet.so")), Ok(all));
        assert_eq!(
            inspect(&seed("seed-unhardened-textrel.so")),
            Ok(BTreeSet::new())
        );
        assert_eq!(
            inspect(&seed("seed-not-elf")),
            Err(HardeningError::NotElf64)
        );
    }
}
