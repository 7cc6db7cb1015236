//! The keywords sshd knows, with their scope and the option they set.
//!
//! Taken from OpenSSH's `keywords[]` table (`servconf.c`, V_9_2_P1 to V_10_3_P1, built with
//! PAM, Kerberos and GSSAPI as the distributions build it) plus the keywords of Debian's
//! GSSAPI key-exchange patch. `since` is the first release among the tags compared that
//! knows the keyword; an older sshd refuses it as a bad option.

/// Where a keyword may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only outside `Match` blocks; inside one sshd refuses the configuration.
    Global,
    /// Globally and inside `Match`.
    All,
}

/// What sshd does with a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Normal,
    /// Logged as deprecated and ignored.
    Deprecated,
    /// Logged as unsupported and ignored.
    Unsupported,
    /// Silently ignored (`Protocol`).
    Ignored,
}

/// How repeated lines of one option combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precedence {
    /// The first value obtained is used (most keywords).
    FirstWins,
    /// Every line adds to the list.
    Accumulate,
    /// The whole list comes from the first line; later lines are ignored.
    FirstLineList,
    /// The last line wins.
    LastWins,
    /// `Subsystem`: the first definition of each name wins.
    PerName,
}

/// One spelling of a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyword {
    /// Lowercase spelling matched case-insensitively.
    pub name: &'static str,
    /// The option it sets, named by its first spelling in sshd's table (what `sshd -T`
    /// prints); aliases share it.
    pub option: &'static str,
    pub scope: Scope,
    pub kind: Kind,
    /// First OpenSSH (major, minor) that knows it.
    pub since: Option<(u32, u32)>,
}

const fn kw(
    name: &'static str,
    option: &'static str,
    scope: Scope,
    kind: Kind,
    since: Option<(u32, u32)>,
) -> Keyword {
    Keyword {
        name,
        option,
        scope,
        kind,
        since,
    }
}

/// Every keyword, in sshd's table order.
pub const KEYWORDS: &[Keyword] = &[
    kw("usepam", "usepam", Scope::Global, Kind::Normal, None),
    kw(
        "pamservicename",
        "pamservicename",
        Scope::All,
        Kind::Normal,
        Some((9, 8)),
    ),
    kw(
        "pamauthenticationviakbdint",
        "pamauthenticationviakbdint",
        Scope::Global,
        Kind::Deprecated,
        None,
    ),
    kw("port", "port", Scope::Global, Kind::Normal, None),
    kw("hostkey", "hostkey", Scope::Global, Kind::Normal, None),
    kw("hostdsakey", "hostkey", Scope::Global, Kind::Normal, None),
    kw(
        "hostkeyagent",
        "hostkeyagent",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw("pidfile", "pidfile", Scope::Global, Kind::Normal, None),
    kw(
        "modulifile",
        "modulifile",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "serverkeybits",
        "serverkeybits",
        Scope::Global,
        Kind::Deprecated,
        None,
    ),
    kw(
        "logingracetime",
        "logingracetime",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "keyregenerationinterval",
        "keyregenerationinterval",
        Scope::Global,
        Kind::Deprecated,
        None,
    ),
    kw(
        "permitrootlogin",
        "permitrootlogin",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "syslogfacility",
        "syslogfacility",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw("loglevel", "loglevel", Scope::All, Kind::Normal, None),
    kw("logverbose", "logverbose", Scope::All, Kind::Normal, None),
    kw(
        "rhostsauthentication",
        "rhostsauthentication",
        Scope::Global,
        Kind::Deprecated,
        None,
    ),
    kw(
        "rhostsrsaauthentication",
        "rhostsrsaauthentication",
        Scope::All,
        Kind::Deprecated,
        None,
    ),
    kw(
        "hostbasedauthentication",
        "hostbasedauthentication",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "hostbasedusesnamefrompacketonly",
        "hostbasedusesnamefrompacketonly",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "hostbasedacceptedalgorithms",
        "hostbasedacceptedalgorithms",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "hostbasedacceptedkeytypes",
        "hostbasedacceptedalgorithms",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "hostkeyalgorithms",
        "hostkeyalgorithms",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "rsaauthentication",
        "rsaauthentication",
        Scope::All,
        Kind::Deprecated,
        None,
    ),
    kw(
        "pubkeyauthentication",
        "pubkeyauthentication",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "pubkeyacceptedalgorithms",
        "pubkeyacceptedalgorithms",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "pubkeyacceptedkeytypes",
        "pubkeyacceptedalgorithms",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "pubkeyauthoptions",
        "pubkeyauthoptions",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "dsaauthentication",
        "pubkeyauthentication",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "kerberosauthentication",
        "kerberosauthentication",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "kerberosorlocalpasswd",
        "kerberosorlocalpasswd",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "kerberosticketcleanup",
        "kerberosticketcleanup",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "kerberosgetafstoken",
        "kerberosgetafstoken",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "kerberostgtpassing",
        "kerberostgtpassing",
        Scope::Global,
        Kind::Unsupported,
        None,
    ),
    kw(
        "afstokenpassing",
        "afstokenpassing",
        Scope::Global,
        Kind::Unsupported,
        None,
    ),
    kw(
        "gssapiauthentication",
        "gssapiauthentication",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "gssapicleanupcredentials",
        "gssapicleanupcredentials",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "gssapidelegatecredentials",
        "gssapidelegatecredentials",
        Scope::Global,
        Kind::Normal,
        Some((10, 0)),
    ),
    kw(
        "gssapistrictacceptorcheck",
        "gssapistrictacceptorcheck",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "passwordauthentication",
        "passwordauthentication",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "kbdinteractiveauthentication",
        "kbdinteractiveauthentication",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "challengeresponseauthentication",
        "kbdinteractiveauthentication",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "skeyauthentication",
        "kbdinteractiveauthentication",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "checkmail",
        "checkmail",
        Scope::Global,
        Kind::Deprecated,
        None,
    ),
    kw(
        "listenaddress",
        "listenaddress",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "addressfamily",
        "addressfamily",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw("printmotd", "printmotd", Scope::Global, Kind::Normal, None),
    kw(
        "printlastlog",
        "printlastlog",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "ignorerhosts",
        "ignorerhosts",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "ignoreuserknownhosts",
        "ignoreuserknownhosts",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "x11forwarding",
        "x11forwarding",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "x11displayoffset",
        "x11displayoffset",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "x11uselocalhost",
        "x11uselocalhost",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "xauthlocation",
        "xauthlocation",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "strictmodes",
        "strictmodes",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "permitemptypasswords",
        "permitemptypasswords",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "permituserenvironment",
        "permituserenvironment",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "uselogin",
        "uselogin",
        Scope::Global,
        Kind::Deprecated,
        None,
    ),
    kw(
        "compression",
        "compression",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw("rekeylimit", "rekeylimit", Scope::All, Kind::Normal, None),
    kw(
        "tcpkeepalive",
        "tcpkeepalive",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "keepalive",
        "tcpkeepalive",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "allowtcpforwarding",
        "allowtcpforwarding",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "allowagentforwarding",
        "allowagentforwarding",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw("allowusers", "allowusers", Scope::All, Kind::Normal, None),
    kw("denyusers", "denyusers", Scope::All, Kind::Normal, None),
    kw("allowgroups", "allowgroups", Scope::All, Kind::Normal, None),
    kw("denygroups", "denygroups", Scope::All, Kind::Normal, None),
    kw("ciphers", "ciphers", Scope::Global, Kind::Normal, None),
    kw("macs", "macs", Scope::Global, Kind::Normal, None),
    kw("protocol", "protocol", Scope::Global, Kind::Ignored, None),
    kw(
        "gatewayports",
        "gatewayports",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw("subsystem", "subsystem", Scope::Global, Kind::Normal, None),
    kw(
        "maxstartups",
        "maxstartups",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "persourcemaxstartups",
        "persourcemaxstartups",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "persourcenetblocksize",
        "persourcenetblocksize",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "persourcepenalties",
        "persourcepenalties",
        Scope::Global,
        Kind::Normal,
        Some((9, 8)),
    ),
    kw(
        "persourcepenaltyexemptlist",
        "persourcepenaltyexemptlist",
        Scope::Global,
        Kind::Normal,
        Some((9, 8)),
    ),
    kw(
        "maxauthtries",
        "maxauthtries",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw("maxsessions", "maxsessions", Scope::All, Kind::Normal, None),
    kw("banner", "banner", Scope::All, Kind::Normal, None),
    kw("usedns", "usedns", Scope::Global, Kind::Normal, None),
    kw(
        "verifyreversemapping",
        "verifyreversemapping",
        Scope::Global,
        Kind::Deprecated,
        None,
    ),
    kw(
        "reversemappingcheck",
        "reversemappingcheck",
        Scope::Global,
        Kind::Deprecated,
        None,
    ),
    kw(
        "clientaliveinterval",
        "clientaliveinterval",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "clientalivecountmax",
        "clientalivecountmax",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "authorizedkeysfile",
        "authorizedkeysfile",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "authorizedkeysfile2",
        "authorizedkeysfile2",
        Scope::All,
        Kind::Deprecated,
        None,
    ),
    kw(
        "useprivilegeseparation",
        "useprivilegeseparation",
        Scope::Global,
        Kind::Deprecated,
        None,
    ),
    kw("acceptenv", "acceptenv", Scope::All, Kind::Normal, None),
    kw("setenv", "setenv", Scope::All, Kind::Normal, None),
    kw(
        "permittunnel",
        "permittunnel",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw("permittty", "permittty", Scope::All, Kind::Normal, None),
    kw(
        "permituserrc",
        "permituserrc",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw("match", "match", Scope::All, Kind::Normal, None),
    kw("permitopen", "permitopen", Scope::All, Kind::Normal, None),
    kw(
        "permitlisten",
        "permitlisten",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "forcecommand",
        "forcecommand",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "chrootdirectory",
        "chrootdirectory",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "hostcertificate",
        "hostcertificate",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw("revokedkeys", "revokedkeys", Scope::All, Kind::Normal, None),
    kw(
        "trustedusercakeys",
        "trustedusercakeys",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "authorizedprincipalsfile",
        "authorizedprincipalsfile",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "kexalgorithms",
        "kexalgorithms",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw("include", "include", Scope::All, Kind::Normal, None),
    kw("ipqos", "ipqos", Scope::All, Kind::Normal, None),
    kw(
        "authorizedkeyscommand",
        "authorizedkeyscommand",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "authorizedkeyscommanduser",
        "authorizedkeyscommanduser",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "authorizedprincipalscommand",
        "authorizedprincipalscommand",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "authorizedprincipalscommanduser",
        "authorizedprincipalscommanduser",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "versionaddendum",
        "versionaddendum",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "authenticationmethods",
        "authenticationmethods",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "streamlocalbindmask",
        "streamlocalbindmask",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "streamlocalbindunlink",
        "streamlocalbindunlink",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "allowstreamlocalforwarding",
        "allowstreamlocalforwarding",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "fingerprinthash",
        "fingerprinthash",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "disableforwarding",
        "disableforwarding",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "exposeauthinfo",
        "exposeauthinfo",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw("rdomain", "rdomain", Scope::All, Kind::Normal, None),
    kw(
        "casignaturealgorithms",
        "casignaturealgorithms",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "securitykeyprovider",
        "securitykeyprovider",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "requiredrsasize",
        "requiredrsasize",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "channeltimeout",
        "channeltimeout",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "unusedconnectiontimeout",
        "unusedconnectiontimeout",
        Scope::All,
        Kind::Normal,
        None,
    ),
    kw(
        "sshdsessionpath",
        "sshdsessionpath",
        Scope::Global,
        Kind::Normal,
        Some((9, 8)),
    ),
    kw(
        "sshdauthpath",
        "sshdauthpath",
        Scope::Global,
        Kind::Normal,
        Some((10, 0)),
    ),
    kw(
        "refuseconnection",
        "refuseconnection",
        Scope::All,
        Kind::Normal,
        Some((9, 9)),
    ),
    kw(
        "gssapikeyexchange",
        "gssapikeyexchange",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "gssapistorecredentialsonrekey",
        "gssapistorecredentialsonrekey",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "gssapikexalgorithms",
        "gssapikexalgorithms",
        Scope::Global,
        Kind::Normal,
        None,
    ),
    kw(
        "debianbanner",
        "debianbanner",
        Scope::Global,
        Kind::Normal,
        None,
    ),
];

impl Keyword {
    /// Whether sshd lets a non-`All` `Match` block set this keyword in `version` (and so
    /// copies it over the global value per connection). `Subsystem` became Match-capable in
    /// 9.5 (`8a1450c62`); every other keyword kept its scope from 9.2 to 10.5.
    pub fn allowed_in_match(&self, version: &super::OpenSshVersion) -> bool {
        self.scope == Scope::All || (self.option == "subsystem" && version.at_least(9, 5))
    }
}

/// Looks a keyword up case-insensitively.
pub fn lookup(spelled: &str) -> Option<&'static Keyword> {
    KEYWORDS
        .iter()
        .find(|k| k.name.eq_ignore_ascii_case(spelled))
}

/// How repeated lines of an option combine (`sshd.md` §2).
pub fn precedence(option: &str) -> Precedence {
    match option {
        "port" | "listenaddress" | "hostkey" | "hostcertificate" | "allowusers" | "denyusers"
        | "allowgroups" | "denygroups" | "acceptenv" => Precedence::Accumulate,
        "authorizedkeysfile"
        | "setenv"
        | "authenticationmethods"
        | "permitopen"
        | "permitlisten"
        | "logverbose"
        | "channeltimeout" => Precedence::FirstLineList,
        "maxstartups"
        | "ipqos"
        | "fingerprinthash"
        | "streamlocalbindmask"
        | "persourcenetblocksize" => Precedence::LastWins,
        "subsystem" => Precedence::PerName,
        _ => Precedence::FirstWins,
    }
}

/// The closest known keyword to a misspelt one, for error messages.
pub fn suggest(spelled: &str) -> Option<&'static str> {
    let lower = spelled.to_ascii_lowercase();
    KEYWORDS
        .iter()
        .filter(|k| k.kind == Kind::Normal)
        .map(|k| (crate::text::edit_distance(&lower, k.name), k.name))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_share_their_option() {
        assert_eq!(
            lookup("ChallengeResponseAuthentication").map(|k| k.option),
            Some("kbdinteractiveauthentication")
        );
        assert_eq!(
            lookup("PUBKEYACCEPTEDKEYTYPES").map(|k| k.option),
            Some("pubkeyacceptedalgorithms")
        );
        assert_eq!(lookup("HostDSAKey").map(|k| k.option), Some("hostkey"));
        assert_eq!(lookup("KeepAlive").map(|k| k.option), Some("tcpkeepalive"));
        assert_eq!(lookup("Protocol").map(|k| k.kind), Some(Kind::Ignored));
        assert_eq!(
            lookup("UsePrivilegeSeparation").map(|k| k.kind),
            Some(Kind::Deprecated)
        );
        assert_eq!(lookup("Ciphers").map(|k| k.scope), Some(Scope::Global));
        assert!(lookup("NoSuchThing").is_none());
        assert_eq!(suggest("PermitRootLogon"), Some("permitrootlogin"));
    }
}
