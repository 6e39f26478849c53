//! Gives the shared library a versioned SONAME (libcorsgate.so.<ABI>).

fn main() {
    // Keep in step with CORSGATE_ABI_VERSION in src/ffi/types.rs.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcorsgate.so.2");
    println!("cargo:rerun-if-changed=build.rs");
}
