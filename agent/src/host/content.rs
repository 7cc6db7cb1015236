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

/// What a file is, as the code reading it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Content {
    /// Holds no secret: kept whole.
    Plain,
    /// A kubelet configuration file or drop-in: kept but for `staticPodURLHeader`, whose
    /// values are credentials for the manifest server.
    KubeletConfig,
    /// k3s's `config.yaml` (and `config.yaml.d`): only `kubelet-arg` and `node-name`; the
    /// rest holds the cluster token, datastore credentials, S3 keys.
    K3sConfig,
    /// A static pod manifest: kind, names, images, command and args (without secret-valued
    /// flags); never `env`, volumes or anything else.
    StaticPod,
    /// An EncryptionConfiguration: resources and provider names and settings, never keys.
    EncryptionConfig,
    /// etcd's `--config-file`: only the settings the checks read.
    EtcdConfig,
}

/// The etcd settings nodecheck judges or needs, as flag names: the only ones a snapshot keeps
/// from etcd's environment or config file.
pub const ETCD_SETTINGS: &[&str] = &[
    "data-dir",
    "name",
    "config-file",
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

/// Words that make a flag's value a secret when the flag does not name a file.
const SECRET_WORDS: &[&str] = &[
    "token",
    "password",
    "passwd",
    "secret",
    "credential",
    "api-key",
    "apikey",
    "access-key",
    "datastore-endpoint",
];

/// Whether the flag `name` (without dashes) carries a secret as its value. Flags that name a
/// file (`--token-auth-file`) or a directory carry a path, and booleans
/// (`--enable-bootstrap-token-auth=true`) carry nothing.
pub fn is_secret_flag(name: &str, value: Option<&str>) -> bool {
    let name = name
        .trim_start_matches('-')
        .to_ascii_lowercase()
        .replace('_', "-");
    if name.ends_with("-file") || name.ends_with("-path") || name.ends_with("-dir") {
        return false;
    }
    if value.is_some_and(|v| matches!(v, "true" | "false")) {
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

/// One argument of a command line with a secret value replaced, or `None` when it has none.
fn redact_arg(arg: &str, previous: Option<&str>) -> Option<String> {
    if let Some((name, value)) = arg.split_once('=')
        && name.starts_with('-')
    {
        if is_secret_flag(name, Some(value)) {
            return Some(format!("{name}=REDACTED"));
        }
        return without_userinfo(value).map(|v| format!("{name}={v}"));
    }
    // `--token VALUE`: the value is the word after a secret flag without `=`.
    if let Some(flag) = previous
        && flag.starts_with('-')
        && !flag.contains('=')
        && !arg.starts_with('-')
        && is_secret_flag(flag, Some(arg))
    {
        return Some("REDACTED".into());
    }
    without_userinfo(arg)
}

/// A NUL-separated command line with the values of secret-bearing flags replaced.
pub fn redact_cmdline(cmdline: &[u8]) -> Vec<u8> {
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut previous: Option<String> = None;
    for word in cmdline.split(|&b| b == 0) {
        let text = String::from_utf8_lossy(word);
        words.push(match redact_arg(&text, previous.as_deref()) {
            Some(safe) => safe.into_bytes(),
            None => word.to_vec(),
        });
        previous = Some(text.into_owned());
    }
    words.join(&0u8)
}

/// A process environment reduced to the etcd settings the checks read.
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

fn kubelet_config(path: &[Seg<'_>], _: Option<&str>) -> Keep {
    match path {
        [Seg::Key("staticPodURLHeader"), ..] => Keep::Remove,
        [_] => Keep::Whole,
        _ => Keep::Descend,
    }
}

fn k3s_config(path: &[Seg<'_>], _: Option<&str>) -> Keep {
    match path {
        [Seg::Key("kubelet-arg" | "node-name")] => Keep::Whole,
        _ => Keep::Remove,
    }
}

fn static_pod(path: &[Seg<'_>], value: Option<&str>) -> Keep {
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
            Index(_),
            Key("command" | "args"),
            Index(_),
        ] => match value {
            Some(arg) if redact_arg(arg, None).is_some() => Keep::Remove,
            Some(_) => Keep::Whole,
            None => Keep::Remove,
        },
        _ => Keep::Remove,
    }
}

fn encryption_config(path: &[Seg<'_>], _: Option<&str>) -> Keep {
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

fn etcd_config(path: &[Seg<'_>], _: Option<&str>) -> Keep {
    match path {
        [Seg::Key("client-transport-security" | "peer-transport-security")] => Keep::Descend,
        [Seg::Key(name)] | [Seg::Key(_), Seg::Key(name)] if ETCD_SETTINGS.contains(name) => {
            Keep::Whole
        }
        _ => Keep::Remove,
    }
}

/// What a snapshot stores of a file of this kind: its content reduced, or `None` for
/// metadata only.
pub fn keep(content: Content, data: &[u8]) -> Option<Vec<u8>> {
    let policy: redact::Policy<'_> = match content {
        Content::Plain => return Some(data.to_vec()),
        Content::KubeletConfig => &kubelet_config,
        Content::K3sConfig => &k3s_config,
        Content::StaticPod => &static_pod,
        Content::EncryptionConfig => &encryption_config,
        Content::EtcdConfig => &etcd_config,
    };
    let text = std::str::from_utf8(data).ok()?;
    redact::redact_lines(text, policy)
        .ok()
        .map(String::into_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_flags_are_told_from_paths_and_booleans() {
        for (name, value) in [
            ("--token", "K10abc"),
            ("--agent-token", "x"),
            ("--datastore-endpoint", "postgres://u:p@db/k3s"),
            ("--etcd-s3-secret-key", "x"),
            ("--initial-cluster-token", "x"),
            ("ETCD_ROOT_PASSWORD", "x"),
        ] {
            assert!(is_secret_flag(name, Some(value)), "{name}");
        }
        for (name, value) in [
            ("--token-auth-file", "/etc/tokens.csv"),
            ("--enable-bootstrap-token-auth", "true"),
            ("--tls-private-key-file", "/k.key"),
            ("--anonymous-auth", "false"),
            ("--data-dir", "/var/lib/etcd"),
        ] {
            assert!(!is_secret_flag(name, Some(value)), "{name}");
        }
    }

    #[test]
    fn command_lines_keep_their_shape_without_secrets() {
        let argv = b"/usr/bin/k3s\0server\0--token=K10SECRET::server:abc\0--agent-token\0AGENTSECRET\0--datastore-endpoint=postgres://k3s:DBPASS@db:5432/k3s\0--etcd-servers=https://u:PW@10.0.0.1:2379\0--anonymous-auth=false\0";
        let out = redact_cmdline(argv);
        let text = String::from_utf8_lossy(&out);
        for secret in ["K10SECRET", "AGENTSECRET", "DBPASS", "PW@"] {
            assert!(!text.contains(secret), "{secret} in {text:?}");
        }
        let words: Vec<&str> = text.split('\0').collect();
        assert_eq!(words.len(), 9, "{words:?}");
        assert_eq!(words[8], "", "the final NUL stays");
        assert_eq!(words[2], "--token=REDACTED");
        assert_eq!(words[4], "REDACTED");
        assert_eq!(words[5], "--datastore-endpoint=REDACTED");
        assert_eq!(words[6], "--etcd-servers=https://REDACTED@10.0.0.1:2379");
    }

    #[test]
    fn environments_keep_only_judged_etcd_settings() {
        let env = b"PATH=/bin\0ETCD_DATA_DIR=/d\0ETCD_ROOT_PASSWORD=pw\0ETCD_INITIAL_CLUSTER_TOKEN=t\0ETCD_CLIENT_CERT_AUTH=true\0AWS_SECRET_ACCESS_KEY=x\0";
        assert_eq!(
            redact_environ(env),
            b"ETCD_DATA_DIR=/d\0ETCD_CLIENT_CERT_AUTH=true\0".to_vec()
        );
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

        let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\nspec:\n  containers:\n  - command:\n    - kube-apiserver\n    - --token-auth-file=/etc/t.csv\n    - --oidc-client-secret=SECRET1\n    env:\n    - name: DB_PASSWORD\n      value: SECRET2\n    image: registry.k8s.io/kube-apiserver:v1.35.0\n    name: kube-apiserver\n";
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

        // What cannot be cut line by line keeps nothing.
        let flow = "kind: EncryptionConfiguration\nresources: [{resources: [secrets], providers: [{aescbc: {keys: [{name: k, secret: S}]}}]}]\n";
        assert_eq!(keep(Content::EncryptionConfig, flow.as_bytes()), None);
    }
}
