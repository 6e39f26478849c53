//! Proves evaluation never allocates: a counting global allocator counts
//! allocations made on this thread while armed, and every shared vector is
//! evaluated through the Rust API and through the C ABI.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::mem::MaybeUninit;

use corsgate::ffi::{
    corsgate_decision, corsgate_evaluate, corsgate_request, corsgate_request_add_header,
    corsgate_request_init,
};
use corsgate::{Policy, Request};

struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    // try_with: the allocator may run while thread locals are torn down.
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            COUNT.with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Counts the allocations `f` makes on this thread.
fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    COUNT.with(|c| c.set(0));
    ARMED.with(|a| a.set(true));
    let r = f();
    ARMED.with(|a| a.set(false));
    (COUNT.with(Cell::get), r)
}

#[test]
fn the_counter_counts() {
    let (n, v) = allocations(|| vec![1u8; 16]);
    assert_eq!((n, v.len()), (1, 16));
}

#[test]
fn evaluation_never_allocates() {
    let mut checked = 0;
    for file in common::load() {
        let policy = Policy::from_json(file.policy.as_bytes()).unwrap();
        let c_policy = {
            let mut p = std::ptr::null_mut();
            let r = corsgate::ffi::corsgate_policy_from_json(
                file.policy.as_ptr(),
                file.policy.len(),
                &mut p,
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
            );
            assert_eq!(r as u32, 0);
            p
        };
        let mut decision = Box::new(MaybeUninit::<corsgate_decision>::uninit());
        for case in &file.cases {
            let (n, _) = allocations(|| {
                let mut request = Request::new(case.method.as_bytes());
                for (name, value) in &case.headers {
                    request.add_header(name.as_bytes(), value.as_bytes());
                }
                let d = policy.evaluate(&request);
                (d.verdict, d.headers().len())
            });
            assert_eq!(
                n, 0,
                "{} / {}: Rust evaluation allocated",
                file.file, case.name
            );
            let (n, r) = allocations(|| {
                let mut request = MaybeUninit::<corsgate_request>::uninit();
                corsgate_request_init(
                    request.as_mut_ptr(),
                    case.method.as_ptr(),
                    case.method.len(),
                );
                for (name, value) in &case.headers {
                    corsgate_request_add_header(
                        request.as_mut_ptr(),
                        name.as_ptr(),
                        name.len(),
                        value.as_ptr(),
                        value.len(),
                    );
                }
                corsgate_evaluate(c_policy, request.as_ptr(), decision.as_mut_ptr())
            });
            assert_eq!(r as u32, 0);
            assert_eq!(
                n, 0,
                "{} / {}: C ABI evaluation allocated",
                file.file, case.name
            );
            checked += 1;
        }
        corsgate::ffi::corsgate_policy_free(c_policy);
    }
    assert!(checked >= 200);
}
