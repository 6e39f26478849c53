//! corsgate: one CORS policy, enforced the same way in NGINX, Envoy and C
//! services.
//!
//! Data flows one way: [`config`] reads a policy document, [`policy`]
//! validates and compiles it into lookup tables and precomputed header
//! values, [`Policy::evaluate`] decides one [`Request`] into a [`Decision`],
//! and the caller writes the decision's headers. [`ffi`] is the C ABI.
//!
//! ```
//! use corsgate::{Policy, Request, Verdict};
//!
//! let policy = Policy::from_json(br#"{"allow_origins": ["https://app.example.com"]}"#).unwrap();
//! let mut request = Request::new(b"GET");
//! request.add_header(b"Origin", b"https://app.example.com");
//! let decision = policy.evaluate(&request);
//! assert_eq!(decision.verdict, Verdict::Allowed);
//! let first = decision.headers().next().unwrap();
//! assert_eq!((first.name, first.value), ("access-control-allow-origin", &b"https://app.example.com"[..]));
//! ```
#![deny(missing_docs)]

pub mod analysis;
pub mod config;
pub mod evaluate;
pub mod ffi;
pub mod origin;
pub mod policy;
pub mod review;
pub mod tokens;

pub use config::{ConfigError, PolicyError, RawPolicy};
pub use evaluate::{Action, Decision, Header, HeaderOp, Kind, Reason, Request, Verdict};
pub use policy::Policy;

/// The library version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
