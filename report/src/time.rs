//! Dates without a date library: the civil calendar from Unix days (Howard Hinnant's
//! algorithm), RFC 3339 timestamps, and sortable report IDs.

use std::time::{SystemTime, UNIX_EPOCH};

/// (year, month, day) of a count of days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

/// `2026-11-27T01:02:03.456Z` for a time since the epoch.
pub fn rfc3339(since_epoch: std::time::Duration) -> String {
    let secs = since_epoch.as_secs();
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        since_epoch.subsec_millis()
    )
}

/// Now, since the epoch.
pub fn now() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// A unique, time-sortable ID: 48 bits of milliseconds and 80 random bits in Crockford
/// base32, like a ULID.
pub fn report_id(since_epoch: std::time::Duration) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let millis = since_epoch.as_millis() & ((1 << 48) - 1);
    let random = random_bits() & ((1u128 << 80) - 1);
    let mut value = (millis << 80) | random;
    let mut out = [0u8; 26];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value & 31) as usize];
        value >>= 5;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn random_bits() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    // The standard library seeds each RandomState from the OS; two of them give 128 bits.
    let mut out = 0u128;
    for salt in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u128(now().as_nanos());
        out = (out << 64) | u128::from(h.finish());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_419), (2025, 11, 27));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn timestamps_and_ids() {
        assert_eq!(
            rfc3339(Duration::from_millis(1_764_205_323_456)),
            "2025-11-27T01:02:03.456Z"
        );
        let a = report_id(Duration::from_millis(1000));
        let b = report_id(Duration::from_millis(2000));
        assert_eq!(a.len(), 26);
        assert!(a < b, "IDs sort by time");
        assert_ne!(report_id(Duration::from_millis(1000)), a, "IDs are unique");
    }
}
