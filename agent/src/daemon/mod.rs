//! Talking to the collector: the client that posts reports and reads the fleet
//! ([`client`]), used by `nodecheck push`, `nodecheck fleet` and the agent daemon.
//!
//! Every request re-reads the token file, so a rotated (projected service-account) token is
//! used from the next request on without a restart. TLS is rustls with the ring provider, as
//! in the collector; `--ca` replaces the public roots with a bundle of one's own, and a client
//! certificate can be presented.

pub mod agent;
pub mod client;
pub mod spool;
pub mod status;
pub mod watch;
