//! The master key that seals every secret kept at rest. In order: `secrets.master_key`
//! (standard base64 of 32 bytes, usually through `LATCHKEY__SECRETS__MASTER_KEY`), else the
//! file `secrets.master_key_file` (the same base64 text), else `./data/master.key`, made on
//! first use (mode 0600) with a warning: production must set one. During a rotation,
//! `secrets.previous_master_key` or `secrets.previous_master_key_file` names the old key.

use crate::settings::SecretsSection;
use anyhow::Context as _;
use data_encoding::BASE64;
use domain::crypto::MasterKey;
use secrecy::ExposeSecret;
use std::io::Write as _;
use std::path::Path;
use zeroize::Zeroizing;

/// Where the master key is made when none is configured, beside the default database.
pub const DEFAULT_FILE: &str = "data/master.key";

/// The configured master key, with the previous one during a rotation.
///
/// # Errors
/// When a key is given twice, cannot be read, or is not base64 of 32 bytes.
pub fn load(settings: &SecretsSection) -> anyhow::Result<MasterKey> {
    let current = match read(
        settings
            .master_key
            .as_ref()
            .map(ExposeSecret::expose_secret),
        settings.master_key_file.as_deref(),
        "master_key",
    )? {
        Some(bytes) => bytes,
        None => default_file(Path::new(DEFAULT_FILE))?,
    };
    let key = MasterKey::from_bytes(&current).context("secrets.master_key")?;
    match read(
        settings
            .previous_master_key
            .as_ref()
            .map(ExposeSecret::expose_secret),
        settings.previous_master_key_file.as_deref(),
        "previous_master_key",
    )? {
        Some(previous) => key
            .with_previous(&previous)
            .context("secrets.previous_master_key"),
        None => Ok(key),
    }
}

/// The key given inline or by file; `None` when neither is set.
fn read(
    inline: Option<&str>,
    file: Option<&str>,
    name: &str,
) -> anyhow::Result<Option<Zeroizing<Vec<u8>>>> {
    let inline = inline.filter(|value| !value.trim().is_empty());
    let file = file.filter(|path| !path.trim().is_empty());
    let text = match (inline, file) {
        (Some(_), Some(_)) => {
            anyhow::bail!("set secrets.{name} or secrets.{name}_file, not both")
        }
        (Some(inline), None) => Zeroizing::new(inline.to_owned()),
        (None, Some(path)) => Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading secrets.{name}_file {path}"))?,
        ),
        (None, None) => return Ok(None),
    };
    decode(&text)
        .with_context(|| format!("secrets.{name}: must be standard base64 of 32 bytes"))
        .map(Some)
}

fn decode(text: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let bytes = Zeroizing::new(BASE64.decode(text.trim().as_bytes())?);
    anyhow::ensure!(bytes.len() == MasterKey::LEN, "{} bytes", bytes.len());
    Ok(bytes)
}

/// The key in `path`, made there (readable by this user only) when missing.
fn default_file(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    if path.exists() {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        );
        return decode(&text)
            .with_context(|| format!("{} is not base64 of 32 bytes", path.display()));
    }
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating {}", folder.display()))?;
    }
    let bytes = MasterKey::generate_bytes();
    let text = Zeroizing::new(BASE64.encode(bytes.as_ref()));
    let mut file = open_private(path)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    tracing::warn!(
        path = %path.display(),
        "no master key is configured: made one in this file. Production must set \
         secrets.master_key_file or LATCHKEY__SECRETS__MASTER_KEY, and back the key up: \
         without it, the sealed secrets in the database cannot be used"
    );
    Ok(Zeroizing::new(bytes.to_vec()))
}

#[cfg(unix)]
fn open_private(path: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn section() -> SecretsSection {
        SecretsSection::default()
    }

    #[test]
    fn a_missing_default_file_is_made_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("master.key");
        let made = default_file(&path).unwrap();
        assert_eq!(made.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            default_file(&path).unwrap(),
            made,
            "read back, not made anew"
        );
    }

    #[test]
    fn an_inline_key_and_a_file_key_read_the_same_and_not_both_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let text = BASE64.encode(&[9_u8; 32]);
        let file = dir.path().join("key");
        std::fs::write(&file, format!("{text}\n")).unwrap();
        let by_file = SecretsSection {
            master_key_file: Some(file.display().to_string()),
            ..section()
        };
        let inline = SecretsSection {
            master_key: Some(SecretString::from(text)),
            ..section()
        };
        let sealed = load(&by_file).unwrap().seal("p", b"x").unwrap();
        assert_eq!(
            load(&inline)
                .unwrap()
                .open("p", &sealed)
                .unwrap()
                .as_slice(),
            b"x"
        );
        let both = SecretsSection {
            master_key_file: by_file.master_key_file,
            ..inline
        };
        assert!(load(&both).is_err());
    }

    #[test]
    fn a_key_that_is_not_base64_of_32_bytes_is_refused() {
        for bad in ["not base64!", "AAAA", &BASE64.encode(&[1_u8; 31])] {
            let settings = SecretsSection {
                master_key: Some(SecretString::from(bad.to_owned())),
                ..section()
            };
            let error = format!("{:#}", load(&settings).unwrap_err());
            assert!(error.contains("secrets.master_key"), "{error}");
            assert!(
                !error.contains(bad) || bad == "AAAA",
                "the key is not echoed: {error}"
            );
        }
    }
}
