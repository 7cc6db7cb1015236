//! Fuzzes the sshd configuration parser and evaluator: any bytes, as a main file that may
//! include a second fuzzed file, must load, evaluate and report without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodecheck::host::UserDb;
use nodecheck::parse::sshd::{self, CommandLine, ConnSpec, MemorySource, OpenSshVersion};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (main, included) = text.split_once('\u{0}').unwrap_or((&text, ""));
    let source = MemorySource::new(&[
        ("/etc/ssh/sshd_config", main),
        ("/etc/ssh/sshd_config.d/a.conf", included),
    ]);
    let version = OpenSshVersion::parse("OpenSSH_9.2p1 Debian-2+deb12u6");
    let Ok(config) = sshd::load(&source, "/etc/ssh/sshd_config", &CommandLine::default(), version)
    else {
        return;
    };
    let users = UserDb::default();
    let _ = config.evaluate(&ConnSpec::default(), &users);
    let conn = ConnSpec {
        user: Some("root".into()),
        host: Some("h.example.com".into()),
        addr: Some("10.1.2.3".into()),
        ..ConnSpec::default()
    };
    let _ = config.evaluate(&conn, &users);
    for option in ["permitrootlogin", "allowusers", "ciphers"] {
        let _ = config.block_settings(option);
    }
});
