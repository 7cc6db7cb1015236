//! `nodecheck-collector cert`: a private CA and a serving certificate for the collector, for
//! an installation without cert-manager.
//!
//! The CA signs exactly one certificate and its key is dropped as soon as it has: nothing
//! kept on disk can issue a second certificate that agents would trust, so a leaked CA file
//! is harmless (it holds only the public certificate). Renewing is running the command again
//! and restarting the collector and the agents, which read their files at start.
//!
//! Keys are ECDSA P-256, signed with ring, the provider rustls already uses. The serving
//! certificate names each DNS name or IP address it was asked for in its subjectAltName, is
//! limited to server authentication, and is not a CA; the CA may sign no intermediate.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// The longest validity `cert` issues, in days.
pub const MAX_DAYS: u32 = 3650;

/// How far back `notBefore` is set, so that a node whose clock is a little behind accepts a
/// certificate issued a moment ago.
const CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

/// The Kubernetes objects `cert --kubernetes` prints, and the kustomization mounts.
pub const SECRET_NAME: &str = "nodecheck-collector-tls";
pub const CA_CONFIG_MAP_NAME: &str = "nodecheck-collector-ca";
const SERVICE_NAME: &str = "nodecheck-collector";

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error(
        "{0:?} is neither an IP address nor a DNS name (letters, digits, '-' and '.', labels of 1 to 63 characters, 253 in all)"
    )]
    BadName(String),
    #[error(
        "no name to issue the certificate for: give --name (or --kubernetes for the service's names)"
    )]
    NoName,
    #[error("{0:?} is not a Kubernetes namespace name (a DNS label: a-z, 0-9 and '-', at most 63)")]
    BadNamespace(String),
    #[error("validity must be 1 to {MAX_DAYS} days, not {0}")]
    BadDays(u32),
    #[error("cannot make the certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{0} exists already: pass --force to replace it")]
    Exists(PathBuf),
    // Said once: the cause is in the message, not a `source` that would repeat it.
    #[error("cannot write {path}: {reason}")]
    Write {
        path: PathBuf,
        reason: std::io::Error,
    },
}

/// A CA certificate and the one serving certificate and key it signed.
#[derive(Debug)]
pub struct Issued {
    pub ca_pem: String,
    pub certificate_pem: String,
    pub key_pem: String,
    pub names: Vec<String>,
    pub not_after: OffsetDateTime,
}

/// The names a collector behind the kustomization's Service answers to in `namespace`: the
/// short and the fully qualified service names (the last for the default cluster domain), and
/// `localhost` for `kubectl port-forward`.
pub fn service_names(namespace: &str) -> Result<Vec<String>, CertError> {
    if !is_dns_label(namespace) {
        return Err(CertError::BadNamespace(namespace.to_string()));
    }
    Ok(vec![
        SERVICE_NAME.to_string(),
        format!("{SERVICE_NAME}.{namespace}"),
        format!("{SERVICE_NAME}.{namespace}.svc"),
        format!("{SERVICE_NAME}.{namespace}.svc.cluster.local"),
        "localhost".to_string(),
    ])
}

/// Issues a CA and a serving certificate for `names`, valid from a few minutes before `now`
/// for `days` days.
pub fn issue(names: &[String], days: u32, now: OffsetDateTime) -> Result<Issued, CertError> {
    if names.is_empty() {
        return Err(CertError::NoName);
    }
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(CertError::BadDays(days));
    }
    let mut unique: Vec<String> = Vec::new();
    for name in names {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.parse::<IpAddr>().is_err() && !is_dns_name(&name) {
            return Err(CertError::BadName(name));
        }
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    let not_before = now - CLOCK_SKEW;
    let not_after = now + time::Duration::days(i64::from(days));

    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "nodecheck-collector CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca_certificate = ca.self_signed(&ca_key)?;

    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut serving = CertificateParams::new(unique.clone())?;
    serving
        .distinguished_name
        .push(DnType::CommonName, unique[0].as_str());
    serving.is_ca = IsCa::ExplicitNoCa;
    serving.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    serving.use_authority_key_identifier_extension = true;
    serving.not_before = not_before;
    serving.not_after = not_after;
    // The issuer takes the CA's key, and both go out of scope here: no copy of it remains.
    let issuer = Issuer::new(ca, ca_key);
    let certificate = serving.signed_by(&key, &issuer)?;

    Ok(Issued {
        ca_pem: ca_certificate.pem(),
        certificate_pem: certificate.pem(),
        key_pem: key.serialize_pem(),
        names: unique,
        not_after,
    })
}

/// Writes `ca.crt`, `tls.crt` and `tls.key` (0600) into `dir` (made 0700 when missing), the
/// names a Kubernetes TLS Secret uses. Existing files are replaced only with `force`, and
/// never followed when they are links.
pub fn write_files(issued: &Issued, dir: &Path, force: bool) -> Result<Vec<PathBuf>, CertError> {
    use std::os::unix::fs::DirBuilderExt;
    fn written(path: &Path) -> impl FnOnce(std::io::Error) -> CertError + '_ {
        move |reason| CertError::Write {
            path: path.to_path_buf(),
            reason,
        }
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(written(dir))?;
    let files = [
        ("ca.crt", &issued.ca_pem, 0o644),
        ("tls.crt", &issued.certificate_pem, 0o644),
        ("tls.key", &issued.key_pem, 0o600),
    ];
    // Every file is checked, and every one written beside its place, before any is put in
    // place: a refusal or a failed write leaves the directory as it was.
    for (name, _, _) in files {
        let path = dir.join(name);
        match path.symlink_metadata() {
            Ok(_) if !force => return Err(CertError::Exists(path)),
            Ok(metadata) if metadata.is_dir() => {
                return Err(written(&path)(std::io::Error::from(
                    std::io::ErrorKind::IsADirectory,
                )));
            }
            _ => {}
        }
    }
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let staging = (|| {
        for (name, text, mode) in files {
            let temporary = dir.join(format!(".{name}.{}.new", std::process::id()));
            let _ = std::fs::remove_file(&temporary);
            // create_new: a link planted at the temporary name is refused, not followed.
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&temporary)
                .map_err(written(&temporary))?;
            staged.push((temporary.clone(), dir.join(name)));
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(written(&temporary))?;
        }
        Ok(())
    })();
    let mut placed = Vec::new();
    let result = staging.and_then(|()| {
        for (temporary, path) in &staged {
            // Without --force, a hard link never replaces a file that appeared since the check;
            // with it, a rename replaces the name (a link there included) and never follows it.
            let put = if force {
                std::fs::rename(temporary, path)
            } else {
                std::fs::hard_link(temporary, path)
            };
            put.map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => CertError::Exists(path.clone()),
                _ => written(path)(e),
            })?;
            placed.push(path.clone());
        }
        Ok(())
    });
    for (temporary, _) in &staged {
        let _ = std::fs::remove_file(temporary);
    }
    result.map(|()| placed)
}

/// A Secret with the serving certificate and key (for the collector) and a ConfigMap with the
/// CA certificate alone (for the agents), as YAML for `kubectl apply -f -`.
///
/// The agents get the CA from a ConfigMap, not from the Secret: a pod that mounts a Secret lets
/// its node's kubelet read all of it, and the agents run on every node.
pub fn kubernetes_objects(issued: &Issued, namespace: &str) -> Result<String, CertError> {
    if !is_dns_label(namespace) {
        return Err(CertError::BadNamespace(namespace.to_string()));
    }
    let block = |pem: &str| {
        pem.lines()
            .map(|line| format!("    {line}\n"))
            .collect::<String>()
    };
    let labels = "  labels:\n    app.kubernetes.io/part-of: nodecheck\n";
    Ok(format!(
        "# Made by nodecheck-collector cert for {names}; valid until {until}.\n\
         apiVersion: v1\n\
         kind: Secret\n\
         metadata:\n  name: {SECRET_NAME}\n  namespace: {namespace}\n{labels}\
         type: kubernetes.io/tls\n\
         stringData:\n  tls.crt: |\n{certificate}  tls.key: |\n{key}\
         ---\n\
         apiVersion: v1\n\
         kind: ConfigMap\n\
         metadata:\n  name: {CA_CONFIG_MAP_NAME}\n  namespace: {namespace}\n{labels}\
         data:\n  ca.crt: |\n{ca}",
        names = issued.names.join(", "),
        until = nodecheck_report::time::rfc3339(std::time::Duration::from_secs(
            u64::try_from(issued.not_after.unix_timestamp()).unwrap_or_default()
        )),
        certificate = block(&issued.certificate_pem),
        key = block(&issued.key_pem),
        ca = block(&issued.ca_pem),
    ))
}

fn is_dns_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// A host name as certificates carry it: lowercase labels, optionally a leading `*.`.
fn is_dns_name(name: &str) -> bool {
    let rest = name.strip_prefix("*.").unwrap_or(name);
    name.len() <= 253 && rest.split('.').all(is_dns_label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).expect("a date")
    }

    /// What an agent does with `--ca`: verify a certificate (and any intermediates sent with
    /// it) for a name, at a time, trusting only `ca_pem`.
    fn verify_chain(
        ca_pem: &str,
        leaf_pem: &str,
        intermediates: &[&str],
        name: &str,
        unix: u64,
    ) -> Result<(), rustls::Error> {
        let der = |pem: &str| CertificateDer::from_pem_slice(pem.as_bytes()).expect("PEM");
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(der(ca_pem)).expect("a root");
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .expect("verifier");
        let intermediates: Vec<_> = intermediates.iter().map(|pem| der(pem)).collect();
        let server = ServerName::try_from(name.to_string()).expect("a server name");
        verifier
            .verify_server_cert(
                &der(leaf_pem),
                &intermediates,
                &server,
                &[],
                UnixTime::since_unix_epoch(std::time::Duration::from_secs(unix)),
            )
            .map(|_| ())
    }

    fn verify(issued: &Issued, name: &str, unix: u64) -> Result<(), rustls::Error> {
        verify_chain(&issued.ca_pem, &issued.certificate_pem, &[], name, unix)
    }

    const NOW: i64 = 1_796_500_000;

    #[test]
    fn the_serving_certificate_verifies_for_each_name_and_no_other() {
        let names = service_names("nodecheck").expect("names");
        let mut asked = names.clone();
        asked.push("127.0.0.1".into());
        let issued = issue(&asked, 30, at(NOW)).expect("issued");
        for name in &asked {
            verify(&issued, name, NOW as u64).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert!(verify(&issued, "nodecheck-collector.other.svc", NOW as u64).is_err());
        assert!(verify(&issued, "127.0.0.2", NOW as u64).is_err());
        // Valid from a little before now, until `days` from now.
        verify(&issued, "nodecheck-collector", NOW as u64 - 60).expect("a minute before");
        assert!(verify(&issued, "nodecheck-collector", NOW as u64 - 3600).is_err());
        assert!(verify(&issued, "nodecheck-collector", NOW as u64 + 31 * 86_400).is_err());
        assert_eq!(issued.not_after.unix_timestamp(), NOW + 30 * 86_400);
    }

    #[test]
    fn the_serving_certificate_cannot_sign_and_the_ca_key_is_not_given_out() {
        let issued = issue(&["collector.example".into()], 1, at(NOW)).expect("issued");
        // The key handed out is the serving key: PKCS#8, one of it, and no second key anywhere.
        assert_eq!(issued.key_pem.matches("BEGIN PRIVATE KEY").count(), 1);
        assert!(!issued.ca_pem.contains("PRIVATE KEY"));
        assert!(!issued.certificate_pem.contains("PRIVATE KEY"));
        // Whoever holds the serving key cannot vouch for another name: a certificate signed
        // with it, sent with the serving certificate as its intermediate, is refused (the
        // serving certificate is no CA, and the CA may sign no intermediate).
        let mut as_issuer = CertificateParams::new(Vec::<String>::new()).expect("params");
        as_issuer
            .distinguished_name
            .push(DnType::CommonName, "collector.example");
        let serving_key = KeyPair::from_pem(&issued.key_pem).expect("the serving key");
        let issuer = Issuer::new(as_issuer, serving_key);
        let forged_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let mut forged = CertificateParams::new(vec!["evil.example".to_string()]).expect("params");
        forged.use_authority_key_identifier_extension = true;
        let forged = forged.signed_by(&forged_key, &issuer).expect("signed");
        let error = verify_chain(
            &issued.ca_pem,
            &forged.pem(),
            &[&issued.certificate_pem],
            "evil.example",
            NOW as u64,
        )
        .expect_err("a chain through the serving certificate");
        // Refused for that reason, not for some accident of how the forgery was built.
        assert!(
            format!("{error:?}").contains("EndEntityUsedAsCa"),
            "{error:?}"
        );
    }

    #[test]
    fn bad_names_days_and_namespaces_are_refused_by_name() {
        let now = at(NOW);
        for bad in ["", "-a", "a..b", "a_b.example", "exa mple", &"a".repeat(64)] {
            let error = issue(&[bad.to_string()], 1, now).expect_err(bad);
            assert!(matches!(error, CertError::BadName(_)), "{bad}: {error}");
        }
        assert!(matches!(issue(&[], 1, now), Err(CertError::NoName)));
        assert!(matches!(
            issue(&["a".into()], 0, now),
            Err(CertError::BadDays(0))
        ));
        assert!(matches!(
            issue(&["a".into()], MAX_DAYS + 1, now),
            Err(CertError::BadDays(_))
        ));
        // Upper case and a trailing dot are the same name; duplicates are named once.
        let issued = issue(
            &["Collector.Example.".into(), "collector.example".into()],
            1,
            now,
        )
        .expect("issued");
        assert_eq!(issued.names, ["collector.example"]);
        assert!(matches!(
            service_names("No_Such"),
            Err(CertError::BadNamespace(_))
        ));
    }

    #[test]
    fn kubernetes_objects_keep_the_key_out_of_the_agents_config_map() {
        let issued = issue(&service_names("ops").expect("names"), 7, at(NOW)).expect("issued");
        let yaml = kubernetes_objects(&issued, "ops").expect("yaml");
        let (secret, config_map) = yaml.split_once("\n---\n").expect("two documents");
        assert!(secret.contains("kind: Secret") && secret.contains("type: kubernetes.io/tls"));
        assert!(secret.contains("namespace: ops"));
        assert!(secret.contains("PRIVATE KEY"));
        assert!(config_map.contains("kind: ConfigMap"));
        assert!(config_map.contains(&format!("name: {CA_CONFIG_MAP_NAME}")));
        assert!(!config_map.contains("PRIVATE KEY"));
        // The PEM blocks survive YAML's block scalars byte for byte.
        let indented: String = issued
            .ca_pem
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect();
        assert!(config_map.ends_with(&indented));
    }

    #[test]
    fn files_are_not_replaced_without_force_and_the_key_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("nodecheck-cert-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let issued = issue(&["a.example".into()], 1, at(NOW)).expect("issued");
        let paths = write_files(&issued, &dir, false).expect("written");
        assert_eq!(paths.len(), 3);
        let mode = |name: &str| {
            std::fs::metadata(dir.join(name))
                .expect("metadata")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("tls.key"), 0o600);
        assert_eq!(mode("tls.crt"), 0o644);
        assert_eq!(
            std::fs::read_to_string(dir.join("tls.key")).expect("key"),
            issued.key_pem
        );
        let again = issue(&["a.example".into()], 1, at(NOW)).expect("issued");
        assert!(matches!(
            write_files(&again, &dir, false),
            Err(CertError::Exists(_))
        ));
        assert_eq!(
            std::fs::read_to_string(dir.join("tls.key")).expect("key"),
            issued.key_pem,
            "a refusal leaves the files as they were"
        );
        // A directory where a file goes is refused before anything is replaced.
        std::fs::create_dir(dir.join("tls.key.d")).expect("dir");
        std::fs::rename(dir.join("tls.key"), dir.join("tls.key.saved")).expect("move");
        std::fs::rename(dir.join("tls.key.d"), dir.join("tls.key")).expect("move");
        let before = std::fs::read_to_string(dir.join("tls.crt")).expect("crt");
        assert!(matches!(
            write_files(&again, &dir, true),
            Err(CertError::Write { .. })
        ));
        assert_eq!(
            std::fs::read_to_string(dir.join("tls.crt")).expect("crt"),
            before,
            "nothing replaced"
        );
        std::fs::remove_dir(dir.join("tls.key")).expect("rmdir");
        std::fs::rename(dir.join("tls.key.saved"), dir.join("tls.key")).expect("move");
        // A link where the key goes is replaced, never written through.
        let target = dir.join("elsewhere");
        std::fs::write(&target, "untouched").expect("write");
        std::fs::remove_file(dir.join("tls.key")).expect("remove");
        std::os::unix::fs::symlink(&target, dir.join("tls.key")).expect("symlink");
        write_files(&again, &dir, true).expect("forced");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "untouched");
        assert_eq!(
            std::fs::read_to_string(dir.join("tls.key")).expect("key"),
            again.key_pem
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
