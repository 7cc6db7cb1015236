//! What kind of file a read is, and so what `nodecheck snapshot` may keep of it.
//!
//! A snapshot must let another machine reach the node's verdicts, and must never carry the
//! node's secrets. Byte patterns cannot tell the two apart (a key that ends in a NUL byte is
//! still a key; a token is just text), so the decision is made per *kind* of file, by the code
//! that reads it and knows what it is: each read names its [`Content`], and a snapshot keeps
//! of each file only what its kind allows.
//!
//! - Files that hold no secret (sshd_config, os-release, passwd and group, package lists,
//!   binaries, proc status files and socket tables) are kept whole.
//! - Structured files that do (an EncryptionConfiguration, k3s's config, static pod manifests,
//!   etcd's config file, a kubelet config's `staticPodURLHeader`) keep only the values the
//!   checks judge, on their own lines ([`crate::parse::redact`]); a file that cannot be cut
//!   that cleanly keeps no content at all.
//! - Command lines keep their shape with the values of secret-bearing flags replaced; process
//!   environments keep only the `ETCD_*` settings the checks read.
//! - Private keys, token files and kubeconfigs are never read: only their metadata is judged,
//!   and a snapshot holds only that.

use crate::parse::redact::{self, Keep, Seg};
use std::collections::HashSet;

/// What a file is, as the code reading it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Content {
    /// Holds no secret: kept whole.
    Plain,
    /// A kubelet configuration file or drop-in: kept but for `staticPodURLHeader`, whose
    /// values are credentials for the manifest server.
    KubeletConfig,
    /// k3s's `config.yaml` (and `config.yaml.d`): only the components' `*-arg` lists,
    /// `node-name`, `disable*`, the data directory, cluster-init, secrets-encryption, the
    /// datastore's file paths and an etcd endpoint without credentials; the rest holds the
    /// cluster token, datastore passwords, S3 keys.
    K3sConfig,
    /// A static pod manifest: kind, names, images, command and args (without secret-valued
    /// flags); never `env`, volumes or anything else.
    StaticPod,
    /// An EncryptionConfiguration: resources and provider names and settings, never keys.
    EncryptionConfig,
    /// etcd's `--config-file`: only the settings the checks read.
    EtcdConfig,
    /// A component's `--config` (KubeProxyConfiguration, KubeSchedulerConfiguration): only
    /// the settings the checks read; never extender TLS keys or anything else.
    ComponentConfig,
    /// A container runtime's TOML configuration (containerd, CRI-O): only the CNI directory
    /// settings, since registry sections may hold credentials.
    RuntimeConfig,
    /// A container's OCI runtime bundle `config.json`: only the annotations naming its image;
    /// never its environment, mounts or anything else.
    OciBundle,
    /// An OpenSSH public key or certificate (`ssh_host_rsa_key.pub`): only its algorithm and
    /// size, as [`crate::parse::ssh_key::derived`] writes them; never key bytes.
    SshPublicKey,
}

/// The etcd settings nodecheck judges or needs, as flag names: the only ones a snapshot keeps
/// from etcd's environment or config file.
pub const ETCD_SETTINGS: &[&str] = &[
    "data-dir",
    "name",
    "config-file",
    "initial-cluster",
    "listen-client-urls",
    "listen-peer-urls",
    "listen-metrics-urls",
    "advertise-client-urls",
    "initial-advertise-peer-urls",
    "cert-file",
    "key-file",
    "trusted-ca-file",
    "client-cert-auth",
    "auto-tls",
    "peer-cert-file",
    "peer-key-file",
    "peer-trusted-ca-file",
    "peer-client-cert-auth",
    "peer-auto-tls",
    "client-transport-security",
    "peer-transport-security",
];

/// The `K3S_*` variables of settings that change what k3s's embedded components run with, and
/// the k3s setting each stands for: the only k3s variables read, and kept by a snapshot (an
/// endpoint only without credentials). The token and other secrets are never read.
pub const K3S_ENV_SETTINGS: &[(&str, &str)] = &[
    ("K3S_CONFIG_FILE", "config"),
    ("K3S_DATA_DIR", "data-dir"),
    ("K3S_DATASTORE_ENDPOINT", "datastore-endpoint"),
    ("K3S_DATASTORE_CAFILE", "datastore-cafile"),
    ("K3S_DATASTORE_CERTFILE", "datastore-certfile"),
    ("K3S_DATASTORE_KEYFILE", "datastore-keyfile"),
    ("K3S_CLUSTER_INIT", "cluster-init"),
];

/// Flags whose value is a secret in the programs that run on a node (k3s and rke2 server and
/// agent, etcd, kubeadm, OIDC clients): the value is replaced whatever it looks like, also
/// in the `--flag VALUE` form and when it starts with `-`.
const SECRET_FLAGS: &[&str] = &[
    "token",
    "agent-token",
    "datastore-endpoint",
    "etcd-s3-access-key",
    "etcd-s3-secret-key",
    "vpn-auth",
    "initial-cluster-token",
    "discovery-token",
    "bootstrap-token",
    "certificate-key",
    "password",
    "pass",
    "client-secret",
    "oidc-client-secret",
];

/// Short flags with a secret value, by program.
const SECRET_SHORT_FLAGS: &[(&str, &str)] = &[("k3s", "-t"), ("rke2", "-t")];

/// Programs whose options carry no secret, where guessing from words in option names would
/// only misread them (sshd's `-oPasswordAuthentication=no` is a setting, not a password).
const NO_SECRET_OPTIONS: &[&str] = &["sshd"];

/// Words that make a flag's (or an environment-style `NAME=`'s) value a secret when the flag
/// does not name a file, for flags not listed above.
const SECRET_WORDS: &[&str] = &[
    "token",
    "password",
    "passwd",
    "secret",
    "credential",
    "api-key",
    "apikey",
    "access-key",
    "auth-key",
    "join-key",
    "private-key",
];

fn flag_name(flag: &str) -> String {
    flag.trim_start_matches('-')
        .to_ascii_lowercase()
        .replace('_', "-")
}

/// Whether the flag `name` (with or without dashes) carries a secret as its value in
/// `program`. Flags that name a file (`--token-auth-file`), a directory or a duration carry
/// no secret, and neither do booleans (`--enable-bootstrap-token-auth=true`).
pub fn is_secret_flag(program: &str, flag: &str, value: Option<&str>) -> bool {
    if SECRET_SHORT_FLAGS.contains(&(program, flag)) {
        return true;
    }
    let name = flag_name(flag);
    if SECRET_FLAGS.contains(&name.as_str()) {
        return true;
    }
    if NO_SECRET_OPTIONS.contains(&program) {
        return false;
    }
    if ["-file", "-path", "-dir", "-ttl", "-mode"]
        .iter()
        .any(|end| name.ends_with(end))
    {
        return false;
    }
    // Booleans as Go's ParseBool (and pflag) read them, and the yes/no of other programs.
    if value.is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "false" | "t" | "f" | "yes" | "no" | "0" | "1"
        )
    }) {
        return false;
    }
    SECRET_WORDS.iter().any(|w| name.contains(w))
}

/// `scheme://user:password@host` → `scheme://REDACTED@host`.
fn without_userinfo(value: &str) -> Option<String> {
    let (scheme, rest) = value.split_once("://")?;
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    Some(format!("{scheme}://REDACTED{}", &rest[at..]))
}

/// One word of a command line with a secret replaced, or `None` when it holds none. The
/// word before it decides for `--flag VALUE` pairs and `Bearer TOKEN`.
fn redact_word(program: &str, word: &str, previous: Option<&str>) -> Option<String> {
    if word.is_empty() {
        return None;
    }
    if let Some(previous) = previous {
        // `--token VALUE`: a flag listed as secret always takes its value, even one that
        // starts with a dash; a flag that only has a secret word in its name takes the next
        // word only when that is no option itself (it may be a boolean).
        let flag = previous.starts_with('-') && !previous.contains('=');
        let listed = SECRET_FLAGS.contains(&flag_name(previous).as_str())
            || SECRET_SHORT_FLAGS.contains(&(program, previous));
        if flag
            && !word.starts_with("--")
            && (listed || !word.starts_with('-'))
            && is_secret_flag(program, previous, Some(word))
        {
            return Some("REDACTED".into());
        }
        let lower = previous.to_ascii_lowercase();
        if ["bearer", "basic"]
            .iter()
            .any(|scheme| lower == *scheme || lower.ends_with(&format!(":{scheme}")))
        {
            return Some("REDACTED".into());
        }
    }
    if let Some((name, value)) = word.split_once('=') {
        let secret = if name.starts_with('-') {
            is_secret_flag(program, name, Some(value))
        } else {
            // `AWS_SECRET_ACCESS_KEY=…`, as `env` and shells pass them.
            !NO_SECRET_OPTIONS.contains(&program)
                && !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                && SECRET_WORDS.iter().any(|w| flag_name(name).contains(w))
        };
        if secret {
            return Some(format!("{name}=REDACTED"));
        }
        return without_userinfo(value).map(|v| format!("{name}={v}"));
    }
    without_userinfo(word)
}

/// The program a command line runs: the last path component of its first word (or of the
/// first word of a title like `sshd: /usr/sbin/sshd -D`).
fn program_of(first: &str) -> &str {
    let first = first.split_whitespace().next().unwrap_or(first);
    let first = first.trim_end_matches(':');
    first.rsplit('/').next().unwrap_or(first)
}

/// A NUL-separated command line with the values of secret-bearing flags, bearer tokens and
/// URL credentials replaced by `REDACTED`. A word with spaces in it (`sh -c "…"`) is looked at
/// word by word.
pub fn redact_cmdline(cmdline: &[u8]) -> Vec<u8> {
    let words: Vec<String> = cmdline
        .split(|&b| b == 0)
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    let program = words.first().map_or("", |w| program_of(w)).to_string();
    let mut previous: Option<String> = None;
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(words.len());
    for (word, raw) in words.iter().zip(cmdline.split(|&b| b == 0)) {
        let (safe, last) = redact_phrase(&program, word, previous.as_deref());
        out.push(safe.map_or_else(|| raw.to_vec(), String::into_bytes));
        previous = last;
    }
    out.join(&0u8)
}

/// A word that may hold spaces, redacted word by word; also the last word, for the next.
fn redact_phrase(
    program: &str,
    phrase: &str,
    previous: Option<&str>,
) -> (Option<String>, Option<String>) {
    // Any white space separates words (a tab or a line break inside one argument too); a
    // redacted phrase comes back with single spaces between its words.
    let parts: Vec<&str> = phrase.split(char::is_whitespace).collect();
    let mut changed = false;
    let mut out = Vec::with_capacity(parts.len());
    let mut before = previous.map(str::to_string);
    for part in &parts {
        match redact_word(program, part, before.as_deref()) {
            Some(safe) => {
                changed = true;
                out.push(safe);
            }
            None => out.push((*part).to_string()),
        }
        if !part.is_empty() {
            before = Some((*part).to_string());
        }
    }
    (changed.then(|| out.join(" ")), before)
}

/// A process environment reduced to the etcd settings and the k3s settings the checks read.
pub fn redact_environ(environ: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in environ.split(|&b| b == 0) {
        let Some(key) = entry
            .split(|&b| b == b'=')
            .next()
            .and_then(|k| std::str::from_utf8(k).ok())
        else {
            continue;
        };
        if K3S_ENV_SETTINGS.iter().any(|(k, _)| *k == key) {
            let value = entry.splitn(2, |&b| b == b'=').nth(1).unwrap_or_default();
            if key != "K3S_DATASTORE_ENDPOINT" || endpoint_kept(std::str::from_utf8(value).ok()) {
                out.extend_from_slice(entry);
                out.push(0);
            }
            continue;
        }
        let Some(setting) = key.strip_prefix("ETCD_") else {
            continue;
        };
        let flag = setting.to_ascii_lowercase().replace('_', "-");
        if ETCD_SETTINGS.contains(&flag.as_str()) {
            out.extend_from_slice(entry);
            out.push(0);
        }
    }
    out
}

fn kubelet_config(path: &[Seg<'_>], _: Option<&str>, _: Option<&str>) -> Keep {
    match path {
        [Seg::Key("staticPodURLHeader")] => Keep::Remove,
        _ => Keep::Whole,
    }
}

/// The k3s settings nodecheck reads: the node name, the components' arguments (also in the
/// `key+` append form) and the `disable-*` switches.
fn k3s_key_kept(key: &str) -> bool {
    let key = key.strip_suffix('+').unwrap_or(key);
    matches!(
        key,
        "node-name"
            | "kubelet-arg"
            | "kube-apiserver-arg"
            | "kube-controller-manager-arg"
            | "kube-scheduler-arg"
            | "kube-proxy-arg"
            | "data-dir"
            | "d"
            | "cluster-init"
            | "secrets-encryption"
            | "datastore-cafile"
            | "datastore-certfile"
            | "datastore-keyfile"
    ) || key.starts_with("disable")
}

/// A datastore endpoint the checks need to see: an etcd URL without credentials in it. Any
/// other (a PostgreSQL or MySQL DSN carries a password) goes, and reads as kine's local socket
/// — which is what k3s serves those through.
fn endpoint_kept(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        let lower = v.trim().to_ascii_lowercase();
        (lower.starts_with("https://") || lower.starts_with("http://")) && !v.contains('@')
    })
}

fn k3s_config(path: &[Seg<'_>], value: Option<&str>, _: Option<&str>) -> Keep {
    match path {
        [Seg::Key(key)] if k3s_key_kept(key) => Keep::Whole,
        [Seg::Key(key)] if *key == "datastore-endpoint" && endpoint_kept(value) => Keep::Whole,
        _ => Keep::Remove,
    }
}

/// Which `command` and `args` items of each container of a static pod hold a secret, looked
/// at as the one command line the runtime makes of them (`--flag` at the end of `command`,
/// its value first in `args`).
fn static_pod_secrets(doc: &crate::parse::yaml::Node) -> HashSet<(usize, &'static str, usize)> {
    use crate::parse::yaml::Node;
    let mut secret = HashSet::new();
    let containers = doc
        .path("spec.containers")
        .and_then(Node::as_seq)
        .unwrap_or_default();
    for (c, container) in containers.iter().enumerate() {
        let mut previous: Option<String> = None;
        for list in ["command", "args"] {
            let items = container
                .get(list)
                .and_then(Node::as_seq)
                .unwrap_or_default();
            for (i, item) in items.iter().enumerate() {
                let text = item.scalar_text().unwrap_or_default();
                let (redacted, last) = redact_phrase("", &text, previous.as_deref());
                if redacted.is_some() || item.as_str().is_none() {
                    secret.insert((c, list, i));
                }
                previous = last;
            }
        }
    }
    secret
}

fn static_pod(
    secret: &HashSet<(usize, &'static str, usize)>,
    path: &[Seg<'_>],
    value: Option<&str>,
) -> Keep {
    use Seg::{Index, Key};
    match path {
        [Key("apiVersion" | "kind")] => Keep::Whole,
        [Key("metadata")] | [Key("spec")] | [Key("spec"), Key("containers")] => Keep::Descend,
        [Key("metadata"), Key("name" | "namespace")] => Keep::Whole,
        [Key("spec"), Key("containers"), Index(_)] => Keep::Descend,
        [
            Key("spec"),
            Key("containers"),
            Index(_),
            Key("name" | "image"),
        ] => Keep::Whole,
        [
            Key("spec"),
            Key("containers"),
            Index(_),
            Key("command" | "args"),
        ] => Keep::Descend,
        [
            Key("spec"),
            Key("containers"),
            Index(c),
            Key(list),
            Index(i),
        ] => {
            let list = if *list == "command" {
                "command"
            } else {
                "args"
            };
            if value.is_some() && !secret.contains(&(*c, list, *i)) {
                Keep::Whole
            } else {
                Keep::Remove
            }
        }
        _ => Keep::Remove,
    }
}

fn encryption_config(path: &[Seg<'_>], _: Option<&str>, _: Option<&str>) -> Keep {
    use Seg::{Index, Key};
    match path {
        [Key("apiVersion" | "kind")] => Keep::Whole,
        [Key("resources")] | [Key("resources"), Index(_)] => Keep::Descend,
        [Key("resources"), Index(_), Key("resources")] => Keep::Whole,
        [Key("resources"), Index(_), Key("providers")] => Keep::Descend,
        [Key("resources"), Index(_), Key("providers"), Index(_)] => Keep::Descend,
        // A KMS plugin's settings name a socket and a cache size, nothing secret.
        [
            Key("resources"),
            Index(_),
            Key("providers"),
            Index(_),
            Key("kms"),
        ] => Keep::Whole,
        [
            Key("resources"),
            Index(_),
            Key("providers"),
            Index(_),
            Key(_),
        ] => Keep::Descend,
        // `keys:` stays so the provider keeps its lines; each key (name and secret) goes.
        [
            Key("resources"),
            Index(_),
            Key("providers"),
            Index(_),
            Key(_),
            Key("keys"),
        ] => Keep::Descend,
        _ => Keep::Remove,
    }
}

fn etcd_config(path: &[Seg<'_>], _: Option<&str>, _: Option<&str>) -> Keep {
    match path {
        [Seg::Key("client-transport-security" | "peer-transport-security")] => Keep::Descend,
        [Seg::Key(name)] | [Seg::Key(_), Seg::Key(name)] if ETCD_SETTINGS.contains(name) => {
            Keep::Whole
        }
        _ => Keep::Remove,
    }
}

/// The component settings nodecheck reads, as dotted paths of their config files.
pub const COMPONENT_SETTINGS: &[&str] = &[
    "apiVersion",
    "kind",
    "metricsBindAddress",
    "healthzBindAddress",
    "bindAddress",
    "enableProfiling",
    "clientConnection.kubeconfig",
];

fn component_config(path: &[Seg<'_>], _: Option<&str>, _: Option<&str>) -> Keep {
    match path {
        [Seg::Key("clientConnection")] => Keep::Descend,
        [Seg::Key(name)] if COMPONENT_SETTINGS.contains(name) => Keep::Whole,
        [Seg::Key("clientConnection"), Seg::Key("kubeconfig")] => Keep::Whole,
        _ => Keep::Remove,
    }
}

/// The `kind` a document of this content must declare, when it declares one: a file of
/// another kind read in its place (a kubeconfig given as `--config`) keeps nothing.
fn expected_kinds(content: Content) -> Option<&'static [&'static str]> {
    match content {
        Content::KubeletConfig => Some(&["KubeletConfiguration"]),
        Content::StaticPod => Some(&["Pod"]),
        Content::EncryptionConfig => Some(&["EncryptionConfiguration", "EncryptionConfig"]),
        Content::ComponentConfig => Some(&["KubeProxyConfiguration", "KubeSchedulerConfiguration"]),
        Content::Plain
        | Content::K3sConfig
        | Content::EtcdConfig
        | Content::SshPublicKey
        | Content::RuntimeConfig
        | Content::OciBundle => None,
    }
}

/// What a snapshot stores of a file of this kind: its content reduced, or `None` for
/// metadata only.
pub fn keep(content: Content, data: &[u8]) -> Option<Vec<u8>> {
    if content == Content::Plain {
        return Some(data.to_vec());
    }
    let text = std::str::from_utf8(data).ok()?;
    if content == Content::SshPublicKey {
        use crate::parse::ssh_key::{derived, derived_error, parse_public_key};
        let kept = parse_public_key(text, false)
            .map_or_else(|why| derived_error(&why), |info| derived(&info));
        return Some(kept.into_bytes());
    }
    if content == Content::RuntimeConfig {
        return crate::facts::runtime::reduced(text).map(String::into_bytes);
    }
    if content == Content::OciBundle {
        return crate::facts::containers::bundle_reduced(text).map(String::into_bytes);
    }
    let doc = crate::parse::yaml::parse(text).ok()?;
    if let Some(kinds) = expected_kinds(content) {
        let kind = doc.get("kind").and_then(crate::parse::yaml::Node::as_str)?;
        if !kinds.contains(&kind) {
            return None;
        }
    }
    let secrets = if content == Content::StaticPod {
        static_pod_secrets(&doc)
    } else {
        HashSet::new()
    };
    let pod =
        |path: &[Seg<'_>], value: Option<&str>, _: Option<&str>| static_pod(&secrets, path, value);
    let policy: redact::Policy<'_> = match content {
        Content::Plain => return Some(data.to_vec()),
        Content::KubeletConfig => &kubelet_config,
        Content::K3sConfig => &k3s_config,
        Content::StaticPod => &pod,
        Content::EncryptionConfig => &encryption_config,
        Content::EtcdConfig => &etcd_config,
        Content::ComponentConfig => &component_config,
        Content::SshPublicKey | Content::RuntimeConfig | Content::OciBundle => return None,
    };
    redact::redact_lines(text, policy)
        .ok()
        .map(String::into_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_flags_are_told_from_paths_and_booleans() {
        for (program, name, value) in [
            ("k3s", "--token", "K10abc"),
            ("k3s", "-t", "K10abc"),
            ("k3s", "--agent-token", "x"),
            ("k3s", "--datastore-endpoint", "postgres://u:p@db/k3s"),
            ("k3s", "--etcd-s3-secret-key", "x"),
            ("k3s", "--vpn-auth", "name=tailscale,joinKey=x"),
            ("etcd", "--initial-cluster-token", "x"),
            ("x", "ETCD_ROOT_PASSWORD", "x"),
        ] {
            assert!(is_secret_flag(program, name, Some(value)), "{name}");
        }
        for (program, name, value) in [
            ("kube-apiserver", "--token-auth-file", "/etc/tokens.csv"),
            ("kube-apiserver", "--enable-bootstrap-token-auth", "true"),
            ("kubelet", "--tls-private-key-file", "/k.key"),
            ("kubelet", "--anonymous-auth", "false"),
            ("etcd", "--data-dir", "/var/lib/etcd"),
            ("sshd", "-oPasswordAuthentication", "no"),
            ("sshd", "-t", ""),
        ] {
            assert!(!is_secret_flag(program, name, Some(value)), "{name}");
        }
    }

    #[test]
    fn command_lines_keep_their_shape_without_secrets() {
        let argv = b"/usr/bin/k3s\0server\0--token=K10SECRET::server:abc\0--agent-token\0AGENTSECRET\0--datastore-endpoint=postgres://k3s:DBPASS@db:5432/k3s\0--etcd-servers=https://u:PW@10.0.0.1:2379\0--anonymous-auth=false\0-t\0SHORTSECRET\0--vpn-auth=name=t,joinKey=VPNSECRET\0--token\0-DASHSECRET\0";
        let out = redact_cmdline(argv);
        let text = String::from_utf8_lossy(&out);
        for secret in [
            "K10SECRET",
            "AGENTSECRET",
            "DBPASS",
            "PW@",
            "SHORTSECRET",
            "VPNSECRET",
            "DASHSECRET",
        ] {
            assert!(!text.contains(secret), "{secret} in {text:?}");
        }
        let words: Vec<&str> = text.split('\0').collect();
        assert_eq!(words.len(), 14, "{words:?}");
        assert_eq!(words[13], "", "the final NUL stays");
        assert_eq!(words[2], "--token=REDACTED");
        assert_eq!(words[4], "REDACTED");
        assert_eq!(words[5], "--datastore-endpoint=REDACTED");
        assert_eq!(words[6], "--etcd-servers=https://REDACTED@10.0.0.1:2379");
        assert_eq!(words[7], "--anonymous-auth=false");
        // Shell strings, bearer headers and environment-style words.
        let out = redact_cmdline(b"sh\0-c\0curl -H Authorization: Bearer BEARERSECRET https://x\0AWS_SECRET_ACCESS_KEY=AWSSECRET\0");
        let text = String::from_utf8_lossy(&out);
        assert!(
            !text.contains("BEARERSECRET") && !text.contains("AWSSECRET"),
            "{text}"
        );
        // Go booleans and dash-led options after a flag that only has a secret word in its
        // name are no secrets; a listed flag's value is, whatever it looks like.
        for (argv, keep) in [
            (&b"kubelet\0--authentication-token-webhook=t\0"[..], true),
            (
                &b"kubelet\0--authentication-token-webhook\0-v=2\0"[..],
                true,
            ),
            (&b"k3s\0server\0--token\0-ABC\0"[..], false),
        ] {
            assert_eq!(redact_cmdline(argv) == argv.to_vec(), keep, "{argv:?}");
        }
        let out = redact_cmdline(
            b"curl\0-H\0Authorization:Bearer BEARERTWO\0x\tAuthorization: Basic BASICTAB\0",
        );
        let text = String::from_utf8_lossy(&out);
        assert!(
            !text.contains("BEARERTWO") && !text.contains("BASICTAB"),
            "{text}"
        );
        // sshd's options are settings, whatever their names say.
        let sshd =
            b"/usr/sbin/sshd\0-D\0-oPasswordAuthentication=no\0-o\0PermitEmptyPasswords=no\0";
        assert_eq!(redact_cmdline(sshd), sshd.to_vec());
    }

    #[test]
    fn environments_keep_only_judged_etcd_settings() {
        let env = b"PATH=/bin\0ETCD_DATA_DIR=/d\0ETCD_ROOT_PASSWORD=pw\0ETCD_INITIAL_CLUSTER_TOKEN=t\0ETCD_CLIENT_CERT_AUTH=true\0AWS_SECRET_ACCESS_KEY=x\0";
        assert_eq!(
            redact_environ(env),
            b"ETCD_DATA_DIR=/d\0ETCD_CLIENT_CERT_AUTH=true\0".to_vec()
        );
        // k3s: the settings that change its components, never the token or a DSN's password.
        let env = b"K3S_TOKEN=secret\0K3S_DATASTORE_ENDPOINT=postgres://k3s:pw@db/k3s\0K3S_DATA_DIR=/srv/k3s\0";
        assert_eq!(redact_environ(env), b"K3S_DATA_DIR=/srv/k3s\0".to_vec());
        let env = b"K3S_DATASTORE_ENDPOINT=https://10.0.0.5:2379\0";
        assert_eq!(redact_environ(env), env.to_vec());
    }

    #[test]
    fn structured_files_keep_only_what_checks_judge() {
        let encryption = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources:\n      - secrets\n    providers:\n      - aescbc:\n          keys:\n            - name: key1\n              secret: c2VjcmV0IGlzIHNlY3VyZQ==\n      - identity: {}\n";
        let kept = keep(Content::EncryptionConfig, encryption.as_bytes()).expect("kept");
        let text = String::from_utf8(kept).expect("utf-8");
        assert!(!text.contains("c2VjcmV0"), "{text}");
        assert!(
            text.contains("- aescbc:") && text.contains("identity"),
            "{text}"
        );

        let k3s = "token: K10SECRET\nnode-name: n1\nkubelet-arg:\n  - \"read-only-port=0\"\ndatastore-endpoint: postgres://u:PASS@h/db\n";
        let text = String::from_utf8(keep(Content::K3sConfig, k3s.as_bytes()).expect("kept"))
            .expect("utf-8");
        assert_eq!(
            text,
            "\nnode-name: n1\nkubelet-arg:\n  - \"read-only-port=0\"\n\n"
        );
        let k3s = "datastore-endpoint: https://10.0.0.5:2379\ndatastore-cafile: /etc/ca.crt\nagent-token: SECRET\n";
        let text = String::from_utf8(keep(Content::K3sConfig, k3s.as_bytes()).expect("kept"))
            .expect("utf-8");
        assert_eq!(
            text,
            "datastore-endpoint: https://10.0.0.5:2379\ndatastore-cafile: /etc/ca.crt\n\n"
        );

        let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\nspec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --token-auth-file=/etc/t.csv\n    - --oidc-client-secret=SECRET1\n    - --token\n    - SECRET3\n    - \"sh -c kube-apiserver --client-secret=SECRET4\"\n    env:\n    - name: DB_PASSWORD\n      value: SECRET2\n    image: registry.k8s.io/kube-apiserver:v1.35.0\n    name: kube-apiserver\n";
        let text = String::from_utf8(keep(Content::StaticPod, pod.as_bytes()).expect("kept"))
            .expect("utf-8");
        assert!(
            !text.contains("SECRET") && !text.contains("DB_PASSWORD"),
            "{text}"
        );
        assert!(text.contains("--token-auth-file=/etc/t.csv"), "{text}");

        let kubelet = "kind: KubeletConfiguration\nstaticPodURLHeader:\n  Authorization:\n  - Bearer SECRET\nreadOnlyPort: 0\n";
        let text =
            String::from_utf8(keep(Content::KubeletConfig, kubelet.as_bytes()).expect("kept"))
                .expect("utf-8");
        assert_eq!(text, "kind: KubeletConfiguration\n\n\n\nreadOnlyPort: 0\n");
        // A kubeconfig or a token file read where a kubelet config should be keeps nothing.
        for other in [
            "apiVersion: v1\nkind: Config\nusers:\n- user:\n    token: S\n",
            "K10S::server:x\n",
        ] {
            assert_eq!(
                keep(Content::KubeletConfig, other.as_bytes()),
                None,
                "{other}"
            );
        }

        // A flag at the end of `command` and its value first in `args`, and a tab inside one
        // item, are found as the runtime joins them.
        let pod = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - command:\n    - etcd\n    - --initial-cluster-token\n    args:\n    - SPLITSECRET\n    - \"--oidc-client-secret\\tTABSECRET\"\n    - --data-dir=/var/lib/etcd\n    name: etcd\n";
        let text = String::from_utf8(keep(Content::StaticPod, pod.as_bytes()).expect("kept"))
            .expect("utf-8");
        assert!(
            !text.contains("SPLITSECRET") && !text.contains("TABSECRET"),
            "{text}"
        );
        assert!(text.contains("--data-dir=/var/lib/etcd"), "{text}");
        // A secret anchored under a kept key and used under a removed one: not cut at all.
        let anchored = "kind: KubeletConfiguration\nx-auth: &hdr\n  Authorization:\n  - Bearer ANCHORSECRET\nstaticPodURLHeader: *hdr\n";
        assert_eq!(keep(Content::KubeletConfig, anchored.as_bytes()), None);
        // What cannot be cut line by line keeps nothing.
        let flow = "kind: EncryptionConfiguration\nresources: [{resources: [secrets], providers: [{aescbc: {keys: [{name: k, secret: S}]}}]}]\n";
        assert_eq!(keep(Content::EncryptionConfig, flow.as_bytes()), None);
    }
}
