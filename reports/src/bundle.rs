//! The signed evidence bundle: a folder a vendor hands a customer, whose every file is named
//! with its sha256 in an in-toto Statement (v1) inside a DSSE envelope signed with ed25519
//! (`attestation.dsse.json`). The statement's predicate is the run's result model; its
//! subjects are every file of the bundle (the report in each format, the hostile plugins
//! the run threw, the README and the product description) and, recorded without a copy, the
//! binaries of the harness and of each sandbox under test.
//!
//! [`verify`] checks the signature and every file, and names each thing that does not
//! match: a verifier that stopped at the first problem would hide the others.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The envelope's file in the bundle.
pub const ENVELOPE: &str = "attestation.dsse.json";
/// The results file in the bundle, which the statement's predicate must equal.
pub const RESULTS: &str = "report/results.json";
/// DSSE's payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The in-toto statement's `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The prefix of subject names that are recorded, not carried: files of the machine that
/// ran (the harness's and each sandbox's binaries).
pub const RECORDED_PREFIXES: [&str; 2] = ["harness/", "sandbox/"];

/// The predicate type: the result model of this schema version.
pub fn predicate_type() -> String {
    format!(
        "urn:sbx-conformance:results:{}",
        sbx_harness::model::RESULT_SCHEMA_VERSION
    )
}

/// An in-toto subject: a name and its digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// A path in the bundle, or a recorded file's `harness/...` or `sandbox/<name>/...`.
    pub name: String,
    /// `{"sha256": hex}`.
    pub digest: BTreeMap<String, String>,
}

impl Subject {
    /// A subject named `name` whose sha256 is `sha256` (hex).
    pub fn new(name: impl Into<String>, sha256: impl Into<String>) -> Subject {
        Subject {
            name: name.into(),
            digest: [("sha256".to_owned(), sha256.into())].into(),
        }
    }

    fn sha256(&self) -> Option<&str> {
        self.digest.get("sha256").map(String::as_str)
    }

    fn recorded(&self) -> bool {
        RECORDED_PREFIXES.iter().any(|p| self.name.starts_with(p))
    }
}

/// An in-toto Statement v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// What it is about.
    pub subject: Vec<Subject>,
    /// [`predicate_type`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The run's results.
    pub predicate: serde_json::Value,
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// [`PAYLOAD_TYPE`].
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The statement, base64.
    pub payload: String,
    /// Its signatures.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// The signer's key id ([`key_id`]).
    pub keyid: String,
    /// The ed25519 signature of the pre-authentication encoding, base64.
    pub sig: String,
}

/// Why a bundle cannot be sealed, or a key not read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file could not be read or written (the cause is its source).
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A key file does not hold 64 hex digits.
    #[error("{0}: not a key (64 hex digits expected)")]
    Key(PathBuf),
    /// The public key is not a valid ed25519 point.
    #[error("{0}: not a valid ed25519 public key")]
    PublicKey(PathBuf),
    /// An entry of the folder to seal that is not a regular file or a folder.
    #[error("{name}: a {kind}; a bundle holds regular files only")]
    NotAFile {
        /// The entry.
        name: String,
        /// What it is.
        kind: &'static str,
    },
    /// The bundle has no results to be the predicate.
    #[error("{RESULTS} is missing or not JSON: {0}")]
    Results(String),
}

/// What does not match in a bundle, each named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The envelope cannot be read, or is not a DSSE envelope.
    #[error("{ENVELOPE}: {0}")]
    Envelope(String),
    /// The envelope does not carry an in-toto statement.
    #[error("{ENVELOPE}: payload type `{0}`, not `{PAYLOAD_TYPE}`")]
    PayloadType(String),
    /// No signature of the envelope is by the given key.
    #[error("{ENVELOPE}: no signature by key {keyid} (signed by: {signed_by})")]
    NotSignedBy {
        /// The given key's id.
        keyid: String,
        /// The ids the envelope names.
        signed_by: String,
    },
    /// The signature by the given key does not verify: the envelope was changed.
    #[error("{ENVELOPE}: the signature by key {keyid} does not match its payload")]
    BadSignature {
        /// The key's id.
        keyid: String,
    },
    /// The payload is not the statement this harness writes.
    #[error("{ENVELOPE}: the payload is not an in-toto statement of these results: {0}")]
    Statement(String),
    /// A file's bytes are not those signed.
    #[error("{name}: sha256 {found}, signed {signed}")]
    Altered {
        /// The file.
        name: String,
        /// The signed digest.
        signed: String,
        /// Its digest now.
        found: String,
    },
    /// A signed file is not in the bundle.
    #[error("{name}: signed, but not in the bundle")]
    Missing {
        /// The file.
        name: String,
    },
    /// A file of the bundle that no subject names.
    #[error("{name}: in the bundle, but not signed")]
    Unsigned {
        /// The file.
        name: String,
    },
    /// An entry of the bundle that is not a regular file or a folder (a symbolic link, a
    /// pipe, a device): the bundle must hold its files, not point at others.
    #[error("{name}: a {kind}, not a file")]
    NotAFile {
        /// The entry.
        name: String,
        /// What it is.
        kind: &'static str,
    },
    /// The statement's predicate is not the bundle's results.
    #[error("{RESULTS}: not the results the statement's predicate holds")]
    PredicateDiffers,
}

/// What [`verify`] found.
#[derive(Debug, Default)]
pub struct Verification {
    /// Files of the bundle whose digest matched.
    pub files_checked: usize,
    /// The subjects recorded without a copy (binaries of the machine that ran).
    pub recorded: Vec<Subject>,
    /// Everything that does not match; the bundle is whole when it is empty.
    pub problems: Vec<Problem>,
}

/// The key id of `key`: the first 8 bytes of the sha256 of the public key, in hex (as the
/// sandbox's publisher keys are named).
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// A secret key from its file: 64 hex digits, the ed25519 seed (as `cargo xtask keygen`
/// and `sbx keygen` write it).
pub fn read_secret_key(path: &Path) -> Result<SigningKey, BundleError> {
    Ok(SigningKey::from_bytes(&read_key_bytes(path)?))
}

/// A public key from its file: 64 hex digits.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, BundleError> {
    VerifyingKey::from_bytes(&read_key_bytes(path)?)
        .map_err(|_| BundleError::PublicKey(path.to_owned()))
}

fn read_key_bytes(path: &Path) -> Result<[u8; 32], BundleError> {
    let text = std::fs::read_to_string(path).map_err(|source| BundleError::Io {
        path: path.to_owned(),
        source,
    })?;
    hex::decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| BundleError::Key(path.to_owned()))
}

/// A new secret key from the kernel's randomness.
pub fn generate_secret_key() -> std::io::Result<SigningKey> {
    use std::io::Read;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The bundle's README: what it certifies, how to reproduce the run (`command`, at the
/// run's source, its words quoted for a shell: one line, no control character) and how to
/// check the bundle.
pub fn readme(run: &sbx_harness::model::RunResult, command: &str) -> String {
    use std::fmt::Write;
    // Every text of the run on one line, Markdown escaped: a shard's kernel string or a
    // sandbox's name cannot add a section to a signed README.
    let text = |t: &str| crate::comment::escape(&crate::one_line(t, 300));
    let command: String = command
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let mut out = String::from("# Conformance evidence\n\n");
    out.push_str(
        "A run of the sbx-conformance suite: hostile plugins thrown at each sandbox below, \
         what happened observed from outside it, judged requirement by requirement.\n\n",
    );
    out.push_str("| sandbox | role | adapter | certified |\n|---|---|---|---|\n");
    for sut in &run.suts {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            text(&sut.sut.name),
            sut.sut.role,
            text(&sut.sut.adapter),
            crate::certified_as(sut)
        );
    }
    let _ = write!(
        out,
        "\nHarness {} at source {}.\n",
        text(&run.tool_version),
        text(run.source.as_deref().unwrap_or("unknown"))
    );
    for execution in &run.executions {
        let _ = writeln!(
            out,
            "Ran {}from {} to {} on {}.",
            execution
                .shard
                .as_deref()
                .map(|s| format!("shard {} ", text(s)))
                .unwrap_or_default(),
            text(&execution.started),
            text(&execution.ended),
            text(&crate::host_line(&execution.host))
        );
    }
    let _ = write!(
        out,
        "\n## Reproduce\n\nFrom a checkout of the source above, on a machine like the one \
         above, as root:\n\n    {command}\n\n## Check this bundle\n\n    \
         cargo xtask verify-report THIS_FOLDER --pub SIGNER.pub\n\n\
         checks the signature of `{ENVELOPE}` (a DSSE envelope, ed25519, holding an in-toto \
         Statement v1 whose predicate is `{RESULTS}`) and the sha256 of every file here, and \
         names every one that does not match. The binaries of the harness on each machine \
         that ran and of each sandbox are recorded in the statement (subjects \
         `harness/...` and `sandbox/NAME/...`), not carried.\n\n## Layout\n\n\
         - `report/`: the results (`results.json`, the result model; its schema is the \
         harness's `reports/result.schema.json`), `junit.xml`, `results.tap`, \
         `summary.txt` (the run's log), `comment.md`, `requirements.md`, `plugins.md`\n\
         - `plugins/`: the hostile plugins the run threw, as the checkout that wrote this \
         bundle built them (at the run's source)\n\
         - `product.json`: each sandbox as it described itself and as the harness hashed it\n\
         - `{ENVELOPE}`: the signed statement\n"
    );
    out
}

/// DSSE's pre-authentication encoding: what is signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Signs the bundle in `dir`: every file in it (but the envelope) becomes a subject, with
/// `recorded` (the binaries not carried), and the results file the predicate.
pub fn seal(dir: &Path, recorded: &[Subject], key: &SigningKey) -> Result<(), BundleError> {
    let results =
        std::fs::read(dir.join(RESULTS)).map_err(|e| BundleError::Results(e.to_string()))?;
    let predicate: serde_json::Value =
        serde_json::from_slice(&results).map_err(|e| BundleError::Results(e.to_string()))?;
    let listing = files(dir)?;
    if let Some((name, kind)) = listing.others.into_iter().next() {
        return Err(BundleError::NotAFile { name, kind });
    }
    let mut subject = Vec::new();
    for name in listing.regular {
        let path = dir.join(&name);
        subject.push(Subject::new(name, sha256_file(&path)?));
    }
    subject.extend(recorded.iter().cloned());
    let statement = Statement {
        statement_type: STATEMENT_TYPE.into(),
        subject,
        predicate_type: predicate_type(),
        predicate,
    };
    let payload = serde_json::to_vec(&statement).expect("a statement serialises");
    let signature = key.sign(&pae(PAYLOAD_TYPE, &payload));
    let envelope = Envelope {
        payload_type: PAYLOAD_TYPE.into(),
        payload: BASE64.encode(&payload),
        signatures: vec![EnvelopeSignature {
            keyid: key_id(&key.verifying_key()),
            sig: BASE64.encode(signature.to_bytes()),
        }],
    };
    let path = dir.join(ENVELOPE);
    let text = serde_json::to_string_pretty(&envelope).expect("an envelope serialises") + "\n";
    std::fs::write(&path, text).map_err(|source| BundleError::Io { path, source })
}

/// Checks the bundle in `dir` against `key`: the envelope's signature, the statement, and
/// every file against its subject (and every file being one).
pub fn verify(dir: &Path, key: &VerifyingKey) -> Verification {
    let mut found = Verification::default();
    let statement = match open(dir, key, &mut found.problems) {
        Some(statement) => statement,
        None => return found,
    };
    let mut on_disk: Vec<String> = match files(dir) {
        Ok(listing) => {
            found.problems.extend(
                listing
                    .others
                    .into_iter()
                    .map(|(name, kind)| Problem::NotAFile { name, kind }),
            );
            listing.regular
        }
        Err(e) => {
            found.problems.push(Problem::Envelope(e.to_string()));
            return found;
        }
    };
    for subject in &statement.subject {
        if subject.recorded() {
            found.recorded.push(subject.clone());
            continue;
        }
        let Some(at) = on_disk.iter().position(|f| *f == subject.name) else {
            found.problems.push(Problem::Missing {
                name: subject.name.clone(),
            });
            continue;
        };
        let name = on_disk.remove(at);
        let signed = subject.sha256().unwrap_or_default().to_owned();
        match sha256_file(&dir.join(&name)) {
            Ok(digest) if digest == signed => found.files_checked += 1,
            Ok(digest) => found.problems.push(Problem::Altered {
                name,
                signed,
                found: digest,
            }),
            Err(e) => found.problems.push(Problem::Altered {
                name,
                signed,
                found: e.to_string(),
            }),
        }
    }
    found
        .problems
        .extend(on_disk.into_iter().map(|name| Problem::Unsigned { name }));
    let results = read_regular(&dir.join(RESULTS), MAX_DOCUMENT_BYTES)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
    if results.as_ref() != Some(&statement.predicate) {
        found.problems.push(Problem::PredicateDiffers);
    }
    found
}

/// The envelope's statement, its signature by `key` checked (a bad signature is a problem,
/// and the statement is still read so that the files can be named against it).
fn open(dir: &Path, key: &VerifyingKey, problems: &mut Vec<Problem>) -> Option<Statement> {
    let text = match read_regular(&dir.join(ENVELOPE), MAX_DOCUMENT_BYTES) {
        Ok(text) => text,
        Err(e) => {
            problems.push(Problem::Envelope(e.to_string()));
            return None;
        }
    };
    let envelope: Envelope = match serde_json::from_slice(&text) {
        Ok(envelope) => envelope,
        Err(e) => {
            problems.push(Problem::Envelope(format!("not a DSSE envelope: {e}")));
            return None;
        }
    };
    if envelope.payload_type != PAYLOAD_TYPE {
        problems.push(Problem::PayloadType(envelope.payload_type.clone()));
    }
    let payload = match decode_base64(&envelope.payload) {
        Ok(payload) => payload,
        Err(e) => {
            problems.push(Problem::Envelope(format!("payload: {e}")));
            return None;
        }
    };
    let keyid = key_id(key);
    match envelope.signatures.iter().find(|s| s.keyid == keyid) {
        None => problems.push(Problem::NotSignedBy {
            keyid,
            signed_by: envelope
                .signatures
                .iter()
                .map(|s| s.keyid.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
        Some(signature) => {
            // Strict: no small-order keys, no malleable signatures.
            let valid = decode_base64(&signature.sig)
                .ok()
                .and_then(|bytes| Signature::from_slice(&bytes).ok())
                .is_some_and(|sig| {
                    key.verify_strict(&pae(&envelope.payload_type, &payload), &sig)
                        .is_ok()
                });
            if !valid {
                problems.push(Problem::BadSignature { keyid });
            }
        }
    }
    let statement: Statement = match serde_json::from_slice(&payload) {
        Ok(statement) => statement,
        Err(e) => {
            problems.push(Problem::Statement(e.to_string()));
            return None;
        }
    };
    if statement.statement_type != STATEMENT_TYPE {
        problems.push(Problem::Statement(format!(
            "_type `{}`",
            statement.statement_type
        )));
    }
    if statement.predicate_type != predicate_type() {
        problems.push(Problem::Statement(format!(
            "predicateType `{}`, this harness reads `{}`",
            statement.predicate_type,
            predicate_type()
        )));
    }
    Some(statement)
}

/// What a bundle folder holds, the envelope left out: its regular files and its other
/// entries, as sorted `/`-separated relative names.
struct Listing {
    regular: Vec<String>,
    others: Vec<(String, &'static str)>,
}

/// Walks `dir` without following a symbolic link: a link is listed as what it is, never
/// read, so a bundle cannot make its verifier read outside it or loop.
fn files(dir: &Path) -> Result<Listing, BundleError> {
    let mut listing = Listing {
        regular: Vec::new(),
        others: Vec::new(),
    };
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let io = |source| BundleError::Io {
            path: folder.clone(),
            source,
        };
        for entry in std::fs::read_dir(&folder).map_err(io)? {
            let entry = entry.map_err(io)?;
            let kind = entry.file_type().map_err(io)?;
            let path = entry.path();
            let name = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                if name != ENVELOPE {
                    listing.regular.push(name);
                }
            } else {
                let what = if kind.is_symlink() {
                    "symbolic link"
                } else {
                    "special file"
                };
                listing.others.push((name, what));
            }
        }
    }
    listing.regular.sort();
    listing.others.sort();
    Ok(listing)
}

/// The largest envelope or results file read whole.
const MAX_DOCUMENT_BYTES: u64 = 256 << 20;

/// Opens `path` for reading if it is a regular file, never following a symbolic link nor
/// waiting on a pipe.
fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(file)
}

/// A regular file's bytes, at most `limit` of them.
fn read_regular(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    open_regular(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB",
            limit >> 20
        )));
    }
    Ok(bytes)
}

/// Base64 as DSSE allows it: standard or URL-safe, padded or not.
fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    BASE64
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| STANDARD_NO_PAD.decode(text))
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
}

/// The sha256 of a regular file, hex, read in blocks (never whole, never through a link).
pub fn sha256_file(path: &Path) -> Result<String, BundleError> {
    use std::io::Read;
    let io = |source| BundleError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = open_regular(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut block).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&block[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: [u8; 32] = [7; 32];

    /// A sealed bundle: results, a report, two plugins, a README; a harness binary recorded.
    fn sealed() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        };
        write(RESULTS, crate::json(&crate::fixture::run(true)).as_bytes());
        write("report/junit.xml", b"<testsuites/>\n");
        write("plugins/fs_read_etc.so", b"\x7fELF one");
        write("plugins/net_raw.so", b"\x7fELF two");
        write("README.md", b"# how to reproduce\n");
        let recorded = [Subject::new("harness/xtask", "00".repeat(32))];
        seal(dir.path(), &recorded, &SigningKey::from_bytes(&SEED)).unwrap();
        dir
    }

    fn problems(dir: &Path) -> Vec<Problem> {
        verify(dir, &SigningKey::from_bytes(&SEED).verifying_key()).problems
    }

    fn edit(dir: &Path, name: &str, change: impl FnOnce(&mut Vec<u8>)) {
        let path = dir.join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        change(&mut bytes);
        std::fs::write(path, bytes).unwrap();
    }

    /// The envelope, changed by `change` and written back.
    fn edit_envelope(dir: &Path, change: impl FnOnce(&mut Envelope)) {
        let path = dir.join(ENVELOPE);
        let mut envelope: Envelope =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        change(&mut envelope);
        std::fs::write(path, serde_json::to_string(&envelope).unwrap()).unwrap();
    }

    #[test]
    fn an_untouched_bundle_verifies() {
        let dir = sealed();
        let found = verify(dir.path(), &SigningKey::from_bytes(&SEED).verifying_key());
        assert_eq!(found.problems, []);
        assert_eq!(found.files_checked, 5);
        assert_eq!(found.recorded.len(), 1);
    }

    #[test]
    fn a_changed_report_is_named() {
        let dir = sealed();
        edit(dir.path(), "report/junit.xml", |b| b[1] ^= 1);
        assert!(matches!(
            problems(dir.path())[..],
            [Problem::Altered { ref name, .. }] if name == "report/junit.xml"
        ));
        // The results are also the predicate: changed, they are named twice.
        let dir = sealed();
        edit(dir.path(), RESULTS, |b| {
            let text = String::from_utf8(b.clone()).unwrap();
            *b = text.replacen("\"pass\"", "\"fail\"", 1).into_bytes();
        });
        let found = problems(dir.path());
        assert!(found.contains(&Problem::PredicateDiffers), "{found:?}");
        assert!(
            found
                .iter()
                .any(|p| matches!(p, Problem::Altered { name, .. } if name == RESULTS)),
            "{found:?}"
        );
    }

    #[test]
    fn a_changed_plugin_is_named() {
        let dir = sealed();
        edit(dir.path(), "plugins/net_raw.so", |b| b[5] ^= 0x20);
        assert!(matches!(
            problems(dir.path())[..],
            [Problem::Altered { ref name, .. }] if name == "plugins/net_raw.so"
        ));
    }

    #[test]
    fn a_plugin_hash_changed_in_the_envelope_breaks_the_signature() {
        let dir = sealed();
        edit_envelope(dir.path(), |envelope| {
            let mut statement: Statement =
                serde_json::from_slice(&BASE64.decode(&envelope.payload).unwrap()).unwrap();
            let plugin = statement
                .subject
                .iter_mut()
                .find(|s| s.name == "plugins/net_raw.so")
                .unwrap();
            plugin.digest.insert("sha256".into(), "11".repeat(32));
            envelope.payload = BASE64.encode(serde_json::to_vec(&statement).unwrap());
        });
        let found = problems(dir.path());
        assert!(
            found.contains(&Problem::BadSignature {
                keyid: key_id(&SigningKey::from_bytes(&SEED).verifying_key())
            }),
            "{found:?}"
        );
        assert!(
            found.iter().any(
                |p| matches!(p, Problem::Altered { name, .. } if name == "plugins/net_raw.so")
            ),
            "{found:?}"
        );
    }

    #[test]
    fn a_changed_envelope_or_signature_is_refused() {
        let keyid = key_id(&SigningKey::from_bytes(&SEED).verifying_key());
        // A byte of the payload.
        let dir = sealed();
        edit_envelope(dir.path(), |e| {
            let mut payload = BASE64.decode(&e.payload).unwrap();
            let at = payload.len() / 2;
            payload[at] ^= 1;
            e.payload = BASE64.encode(payload);
        });
        assert!(problems(dir.path()).contains(&Problem::BadSignature {
            keyid: keyid.clone()
        }));
        // The payload type, which the signature covers too.
        let dir = sealed();
        edit_envelope(dir.path(), |e| e.payload_type = "text/plain".into());
        let found = problems(dir.path());
        assert!(found.contains(&Problem::PayloadType("text/plain".into())));
        assert!(found.contains(&Problem::BadSignature {
            keyid: keyid.clone()
        }));
        // A bit of the signature.
        let dir = sealed();
        edit_envelope(dir.path(), |e| {
            let mut sig = BASE64.decode(&e.signatures[0].sig).unwrap();
            sig[10] ^= 1;
            e.signatures[0].sig = BASE64.encode(sig);
        });
        assert_eq!(problems(dir.path()), [Problem::BadSignature { keyid }]);
        // Not JSON at all.
        let dir = sealed();
        edit(dir.path(), ENVELOPE, |b| b.truncate(b.len() / 2));
        assert!(matches!(problems(dir.path())[..], [Problem::Envelope(_)]));
    }

    #[test]
    fn another_key_files_added_or_removed_are_named() {
        let dir = sealed();
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(matches!(
            verify(dir.path(), &other).problems[..],
            [Problem::NotSignedBy { .. }]
        ));
        std::fs::write(dir.path().join("plugins/extra.so"), b"x").unwrap();
        std::fs::remove_file(dir.path().join("README.md")).unwrap();
        let found = problems(dir.path());
        assert!(found.contains(&Problem::Unsigned {
            name: "plugins/extra.so".into()
        }));
        assert!(found.contains(&Problem::Missing {
            name: "README.md".into()
        }));
    }

    #[test]
    fn links_and_special_files_are_named_never_followed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("plugin.so"), b"\x7fELF two").unwrap();
        // A signed plugin replaced by a link to a copy of its bytes outside the bundle.
        let dir = sealed();
        let plugin = dir.path().join("plugins/net_raw.so");
        std::fs::remove_file(&plugin).unwrap();
        std::os::unix::fs::symlink(outside.path().join("plugin.so"), &plugin).unwrap();
        let found = problems(dir.path());
        assert!(
            found.contains(&Problem::NotAFile {
                name: "plugins/net_raw.so".into(),
                kind: "symbolic link"
            }),
            "{found:?}"
        );
        assert!(found.contains(&Problem::Missing {
            name: "plugins/net_raw.so".into()
        }));
        // Links that loop, to the root, a pipe: listed, not walked, not read.
        let dir = sealed();
        std::os::unix::fs::symlink(".", dir.path().join("l1")).unwrap();
        std::os::unix::fs::symlink("/", dir.path().join("plugins/root")).unwrap();
        let fifo = std::ffi::CString::new(dir.path().join("pipe").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo reads it and nothing else.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let found = problems(dir.path());
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.contains(&Problem::NotAFile {
            name: "pipe".into(),
            kind: "special file"
        }));
        // And a folder holding one is not sealed.
        let err = seal(dir.path(), &[], &SigningKey::from_bytes(&SEED)).unwrap_err();
        assert!(matches!(err, BundleError::NotAFile { .. }), "{err}");
    }

    #[test]
    fn the_signature_is_dsse_over_the_pre_authentication_encoding() {
        assert_eq!(pae("a/b", b"hello"), b"DSSEv1 3 a/b 5 hello");
    }
}
