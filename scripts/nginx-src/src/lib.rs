// Empty: this package only pins the nginx-src crate (see Cargo.toml).
