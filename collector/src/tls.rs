//! TLS for the collector: rustls with the ring provider, when a certificate and key are given.
//! The handshakes themselves are bounded in number and time by [`crate::server`].
//!
//! The certificate is re-read when its files change ([`ServingCertificate::reload_if_changed`],
//! which the server calls every [`RELOAD_EVERY`]): cert-manager renews a Secret in place and
//! the kubelet swaps the mounted files, and a collector that kept serving what it read at start
//! would go dark when that copy expired. A pair that cannot be read or does not match is
//! logged and the one in use kept; only the first read at start is fatal.

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How often the certificate files are looked at for a change.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// The largest certificate chain or key file read (a Kubernetes Secret holds at most 1 MiB).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    // Said once: the causes are in the messages, not `source`s that would repeat them.
    #[error("cannot read the TLS certificate {path}: {reason}")]
    Certificate {
        path: PathBuf,
        reason: rustls_pki_types::pem::Error,
    },
    #[error("{0}: no PEM certificate in it")]
    NoCertificate(PathBuf),
    #[error("cannot read the TLS key {path}: {reason} (PKCS#8, PKCS#1 or SEC1 PEM expected)")]
    Key {
        path: PathBuf,
        reason: rustls_pki_types::pem::Error,
    },
    #[error("the TLS certificate and key cannot be used together: {0}")]
    Config(#[from] rustls::Error),
}

/// What identifies the files' contents without reading them: the kubelet replaces a mounted
/// Secret by swapping a link, so the inode changes; an editor or `cp` changes size or time.
type Stamp = [(u64, u64, i64, i64, u64); 2];

fn stamp(certificate: &Path, key: &Path) -> Option<Stamp> {
    let one = |path: &Path| {
        std::fs::metadata(path)
            .ok()
            .map(|m| (m.dev(), m.ino(), m.mtime(), m.mtime_nsec(), m.len()))
    };
    Some([one(certificate)?, one(key)?])
}

/// The certificate the server presents, from a PEM chain (leaf first) and its private key.
#[derive(Debug)]
pub struct ServingCertificate {
    certificate: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<(Option<Stamp>, Arc<CertifiedKey>)>,
}

impl ServingCertificate {
    /// Reads the pair; an error says which file and why.
    pub fn load(certificate: &Path, key: &Path) -> Result<Arc<ServingCertificate>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let stamp = stamp(certificate, key);
        let certified = read_pair(certificate, key, &provider)?;
        Ok(Arc::new(ServingCertificate {
            certificate: certificate.to_path_buf(),
            key: key.to_path_buf(),
            provider,
            current: RwLock::new((stamp, certified)),
        }))
    }

    /// Reads the pair again if its files changed since the last read: `Ok(true)` when a new
    /// pair is now served, `Ok(false)` when nothing changed, an error (and the old pair kept)
    /// when the new files cannot be used.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let now = stamp(&self.certificate, &self.key);
        let last = self.current.read().map_or(None, |current| current.0);
        if now.is_some() && now == last {
            return Ok(false);
        }
        let certified = read_pair(&self.certificate, &self.key, &self.provider);
        let mut current = match self.current.write() {
            Ok(current) => current,
            Err(poisoned) => poisoned.into_inner(),
        };
        // A failed read is not tried again until the files change once more.
        current.0 = now;
        current.1 = certified?;
        Ok(true)
    }

    /// The server configuration presenting this certificate (reloads included).
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<ServerConfig>, TlsError> {
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for ServingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = match self.current.read() {
            Ok(current) => current,
            Err(poisoned) => poisoned.into_inner(),
        };
        Some(current.1.clone())
    }
}

/// A certificate or key file's bytes: a regular file of at most [`MAX_FILE_BYTES`], opened
/// without blocking, so that a FIFO or a huge file planted at the path cannot hang the reload
/// (and with it the shutdown, which waits for it) or fill memory.
fn read_small_file(path: &Path) -> Result<Vec<u8>, rustls_pki_types::pem::Error> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let invalid = |why: String| {
        rustls_pki_types::pem::Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, why))
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(rustls_pki_types::pem::Error::Io)?;
    let metadata = file.metadata().map_err(rustls_pki_types::pem::Error::Io)?;
    if !metadata.is_file() {
        return Err(invalid("not a regular file".into()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(rustls_pki_types::pem::Error::Io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(invalid(format!("larger than {MAX_FILE_BYTES} bytes")));
    }
    Ok(bytes)
}

fn read_pair(
    certificate: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = read_small_file(certificate)
        .and_then(|pem| CertificateDer::pem_slice_iter(&pem).collect())
        .map_err(|reason| TlsError::Certificate {
            path: certificate.to_path_buf(),
            reason,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(certificate.to_path_buf()));
    }
    let key = read_small_file(key)
        .and_then(|pem| PrivateKeyDer::from_pem_slice(&pem))
        .map_err(|reason| TlsError::Key {
            path: key.to_path_buf(),
            reason,
        })?;
    // from_der checks that the key is the certificate's.
    Ok(Arc::new(CertifiedKey::from_der(chain, key, provider)?))
}

/// Looks at the files every [`RELOAD_EVERY`] for as long as the runtime lives.
pub fn watch(serving: Arc<ServingCertificate>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(RELOAD_EVERY).await;
            let serving = serving.clone();
            match tokio::task::spawn_blocking(move || serving.reload_if_changed()).await {
                Ok(Ok(true)) => tracing::info!("TLS certificate changed on disk: now serving it"),
                Ok(Ok(false)) | Err(_) => {}
                Ok(Err(e)) => tracing::warn!("{e}; still serving the previous certificate"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(dir: &Path, name: &str) -> crate::cert::Issued {
        let issued = crate::cert::issue(
            &[name.to_string()],
            1,
            time::OffsetDateTime::from_unix_timestamp(1_796_500_000).expect("date"),
        )
        .expect("issued");
        std::fs::write(dir.join("tls.crt"), &issued.certificate_pem).expect("write");
        std::fs::write(dir.join("tls.key"), &issued.key_pem).expect("write");
        issued
    }

    fn served(serving: &ServingCertificate) -> Vec<u8> {
        serving.current.read().expect("lock").1.cert[0].to_vec()
    }

    #[test]
    fn a_renewed_pair_is_served_and_a_broken_one_is_not() {
        let dir = std::env::temp_dir().join(format!("nodecheck-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
        let first = pair(&dir, "a.example");
        let serving = ServingCertificate::load(&cert, &key).expect("loaded");
        serving.server_config().expect("config");
        assert!(!serving.reload_if_changed().expect("unchanged"));
        let der = |pem: &str| CertificateDer::from_pem_slice(pem.as_bytes()).expect("pem");
        assert_eq!(served(&serving), der(&first.certificate_pem).to_vec());

        let second = pair(&dir, "b.example");
        assert!(serving.reload_if_changed().expect("renewed"));
        assert_eq!(served(&serving), der(&second.certificate_pem).to_vec());

        // Half a renewal (a new certificate, the old key) is refused and the pair in use kept.
        let third = crate::cert::issue(
            &["c.example".to_string()],
            1,
            time::OffsetDateTime::from_unix_timestamp(1_796_500_000).expect("date"),
        )
        .expect("issued");
        std::fs::write(&cert, &third.certificate_pem).expect("write");
        let error = serving.reload_if_changed().expect_err("mismatched pair");
        assert!(
            error.to_string().contains("cannot be used together"),
            "{error}"
        );
        assert_eq!(served(&serving), der(&second.certificate_pem).to_vec());
        // A file that is gone is an error too, not a crash.
        std::fs::remove_file(&key).expect("remove");
        assert!(serving.reload_if_changed().is_err());
        assert_eq!(served(&serving), der(&second.certificate_pem).to_vec());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Red team: a FIFO at the key's path hung the reload (and the shutdown waiting for it)
    /// for good, and a 200 MB certificate file was read whole.
    #[test]
    fn a_fifo_or_a_huge_file_is_refused_without_blocking() {
        let dir = std::env::temp_dir().join(format!("nodecheck-tls-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
        let first = pair(&dir, "a.example");
        let serving = ServingCertificate::load(&cert, &key).expect("loaded");
        std::fs::remove_file(&key).expect("remove");
        nix::unistd::mkfifo(&key, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("fifo");
        let (done, finished) = std::sync::mpsc::channel();
        let reloading = serving.clone();
        std::thread::spawn(move || {
            let _ = done.send(reloading.reload_if_changed().map_err(|e| e.to_string()));
        });
        let result = finished
            .recv_timeout(Duration::from_secs(5))
            .expect("the reload returns instead of waiting for a writer");
        let error = result.expect_err("a FIFO is no key");
        assert!(error.contains("not a regular file"), "{error}");
        std::fs::remove_file(&key).expect("remove fifo");
        std::fs::write(&key, &first.key_pem).expect("key back");
        let huge = format!(
            "-----BEGIN CERTIFICATE-----\n{}-----END CERTIFICATE-----\n",
            "QUFB\n".repeat((MAX_FILE_BYTES / 5 + 1) as usize)
        );
        std::fs::write(&cert, huge).expect("huge");
        let error = serving.reload_if_changed().expect_err("too large");
        assert!(error.to_string().contains("larger than"), "{error}");
        let der = CertificateDer::from_pem_slice(first.certificate_pem.as_bytes()).expect("pem");
        assert_eq!(served(&serving), der.to_vec(), "the pair in use is kept");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_first_read_names_the_file_that_is_wrong() {
        let dir = std::env::temp_dir().join(format!("nodecheck-tls-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
        pair(&dir, "a.example");
        std::fs::write(&cert, "not a certificate\n").expect("write");
        let error = ServingCertificate::load(&cert, &key).expect_err("no certificate");
        assert!(error.to_string().contains("tls.crt"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
