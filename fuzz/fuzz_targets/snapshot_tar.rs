//! Fuzzes the snapshot reader and everything a scan does with what it holds: any bytes, as an
//! uncompressed tar, must load or be refused with a reason, and a loaded one must be gathered,
//! judged and rendered without panicking, within the reader's limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodecheck::host::Host;

fuzz_target!(|data: &[u8]| {
    let Ok(host) = Host::from_tar_bytes(data) else {
        return;
    };
    let facts = nodecheck::facts::gather(&host);
    let Ok(profile) = nodecheck::profile::load("default") else {
        return;
    };
    let report = nodecheck::scan::scan(
        &facts,
        &profile,
        &nodecheck::scan::ScanOptions::default(),
        std::time::Duration::ZERO,
    );
    let _ = nodecheck::output::render(
        &report,
        nodecheck::output::Format::Text,
        nodecheck::output::TextOptions::default(),
    );
});
