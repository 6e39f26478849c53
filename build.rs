//! Gives the shared library a versioned SONAME (libcorsgate.so.<ABI>).

mod build_psl;

fn main() {
    build_psl::write_ascii_list();
    // Keep in step with CORSGATE_ABI_VERSION in src/ffi/types.rs.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcorsgate.so.2");
    println!("cargo:rerun-if-changed=build.rs");
}
