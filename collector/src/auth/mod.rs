//! Who is asking, in one place. Every route goes through one of the extractors of
//! [`principal`] ([`Agent`], [`Reader`], [`Admin`], [`Page`]), which turn a request into a
//! [`Principal`] before a handler runs and before any body is read, so no handler can forget
//! to authenticate and no anonymous body is ever buffered.
//!
//! - [`tokens`]: bearer tokens, random secrets stored as SHA-256 hashes, each with a role and,
//!   for agents, a scope.
//! - [`principal`]: a bearer token, a dashboard session cookie or (in Kubernetes) a projected
//!   ServiceAccount token vouched for by a TokenReview, resolved to a principal; sessions read
//!   what the dashboard links to but never write; a database that cannot answer is a 503,
//!   never a login page.

pub mod principal;
pub mod tokens;

pub use principal::{
    Admin, Agent, Enroller, Page, Principal, Reader, SESSION_COOKIE, SESSION_SECONDS,
};
pub use tokens::{CreateError, Role, create, generate, glob, hash, in_scope};
