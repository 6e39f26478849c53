//! Exact questions about regular languages, answered on DFAs.
//!
//! Every language here is a dense DFA from `regex-automata` (the same
//! construction the matcher uses), read as a full match: a string is in
//! the language when the DFA, after the string and end of input, is in a
//! match state. Questions such as "is there an origin that pattern A
//! admits and pattern B refuses, and how many" are answered by walking the
//! product of several DFAs breadth first: exact, no sampling, and the first
//! string found is a shortest one.
//!
//! Cost is counted in steps (one step = one product transition) against a
//! [`Budget`], so that loading a policy stays bounded whatever it holds.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::util::primitives::StateID;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input};

/// Bytes that can appear in a serialized origin, in the order witnesses
/// prefer them (so that examples read well: `https://x.com`).
pub const ORIGIN_BYTES: &[u8] = b"x.abcdefghijklmnopqrstuvwyz0123456789-_:/[]+";

/// Work left for the analysis of one policy, in steps.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Steps left.
    pub steps: usize,
    /// Steps taken so far.
    pub used: usize,
}

impl Budget {
    /// A budget of `steps`.
    pub fn new(steps: usize) -> Self {
        Budget { steps, used: 0 }
    }

    fn take(&mut self, n: usize) -> Result<(), TooComplex> {
        if n > self.steps {
            self.used += self.steps;
            self.steps = 0;
            return Err(TooComplex);
        }
        self.steps -= n;
        self.used += n;
        Ok(())
    }
}

/// The analysis ran out of its step budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooComplex;

/// A language: an anchored, full-match DFA.
#[derive(Debug)]
pub struct Lang {
    dfa: dense::DFA<Vec<u32>>,
    start: StateID,
}

impl Lang {
    /// Compiles `pattern` (regex syntax, bytes, no Unicode) as a full
    /// match, with at most `dfa_bytes` of DFA.
    pub fn new(pattern: &str, dfa_bytes: usize) -> Result<Lang, String> {
        let dfa = build(&[format!("(?:{pattern})\\z")], dfa_bytes, NFA_BYTES)?;
        Lang::from_dfa(dfa)
    }

    /// Wraps a DFA built by [`build`].
    pub fn from_dfa(dfa: dense::DFA<Vec<u32>>) -> Result<Lang, String> {
        let start = dfa
            .start_state_forward(&Input::new(b"").anchored(Anchored::Yes))
            .map_err(|e| e.to_string())?;
        Ok(Lang { dfa, start })
    }

    /// Bytes the DFA takes.
    pub fn memory_usage(&self) -> usize {
        self.dfa.memory_usage()
    }

    /// True when `s` is in the language (for tests and samples).
    pub fn accepts(&self, s: &[u8]) -> bool {
        let mut id = self.start;
        for &b in s {
            id = self.dfa.next_state(id, b);
        }
        self.is_final(id)
    }

    /// A random string of the language over [`ORIGIN_BYTES`], for
    /// property tests: a walk that picks, at each step, one of the bytes
    /// that keep a match possible (`pick(n)` returns an index below `n`;
    /// index `n - 1`… stands for stopping when the walk may stop).
    pub fn sample(&self, pick: &mut dyn FnMut(usize) -> usize, max_len: usize) -> Option<Vec<u8>> {
        let mut id = self.start;
        let mut out = Vec::new();
        for _ in 0..max_len {
            let live: Vec<u8> = ORIGIN_BYTES
                .iter()
                .copied()
                .filter(|&b| !self.dfa.is_dead_state(self.dfa.next_state(id, b)))
                .collect();
            let can_stop = self.is_final(id);
            let n = live.len() + usize::from(can_stop);
            if n == 0 {
                return None;
            }
            let i = pick(n);
            if i >= live.len() {
                return Some(out);
            }
            out.push(live[i]);
            id = self.dfa.next_state(id, live[i]);
        }
        self.is_final(id).then_some(out)
    }

    fn is_final(&self, id: StateID) -> bool {
        self.dfa.is_match_state(self.dfa.next_eoi_state(id))
    }
}

/// Most bytes of NFA one pattern may compile to.
pub const NFA_BYTES: usize = 16 << 10;

/// Builds one anchored DFA for `patterns` (each already wrapped as a full
/// match): linear-time search, no allocation at match time, at most
/// `dfa_bytes` of DFA and of determinization work space.
pub fn build(
    patterns: &[String],
    dfa_bytes: usize,
    nfa_bytes: usize,
) -> Result<dense::DFA<Vec<u32>>, String> {
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .start_kind(StartKind::Anchored)
                .dfa_size_limit(Some(dfa_bytes))
                .determinize_size_limit(Some(dfa_bytes)),
        )
        .syntax(
            syntax::Config::new()
                .unicode(false)
                .utf8(false)
                .nest_limit(32),
        )
        .thompson(
            thompson::Config::new()
                .utf8(false)
                .nfa_size_limit(Some(nfa_bytes)),
        )
        .build_many(patterns)
        .map_err(|e| match std::error::Error::source(&e) {
            Some(inner) => format!("{e}: {inner}"),
            None => e.to_string(),
        })
}

/// Most languages one product may hold.
pub const MAX_LANGS: usize = 8;

/// What a string must do in each language of a product: be in it, be out
/// of it, or either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// In the language.
    In,
    /// Not in the language.
    Out,
}

/// The strings that are in or out of each language as asked, explored.
#[derive(Debug)]
pub struct Found {
    /// A shortest such string (first in [`ORIGIN_BYTES`] order), if any.
    pub example: Option<Vec<u8>>,
    /// True when there are infinitely many.
    pub infinite: bool,
    /// More examples: shortest strings ending in distinct product states
    /// (at most the number asked).
    pub more: Vec<Vec<u8>>,
}

/// Explores the product of `langs`: the strings over [`ORIGIN_BYTES`]
/// that are in or out of each language as `wants` says. Exact; costs one
/// step per product transition.
pub fn find(
    langs: &[(&Lang, Want)],
    examples: usize,
    budget: &mut Budget,
) -> Result<Found, TooComplex> {
    // Bytes that every language treats alike are explored once: the
    // first of each group in ORIGIN_BYTES order stands for the group.
    let mut reps: Vec<u8> = Vec::new();
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for &b in ORIGIN_BYTES {
        let key: Vec<u8> = langs
            .iter()
            .map(|(l, _)| l.dfa.byte_classes().get(b))
            .collect();
        if !keys.contains(&key) {
            keys.push(key);
            reps.push(b);
        }
    }
    assert!(langs.len() <= MAX_LANGS, "at most {MAX_LANGS} languages");
    let k = langs.len();
    let mut start = [StateID::ZERO; MAX_LANGS];
    for (slot, (l, _)) in start.iter_mut().zip(langs) {
        *slot = l.start;
    }
    let mut index: HashMap<[StateID; MAX_LANGS], u32, RandomState> = HashMap::default();
    let mut states: Vec<[StateID; MAX_LANGS]> = vec![start];
    // (parent, byte) for each state but the first: BFS tree.
    let mut parent: Vec<(u32, u8)> = vec![(0, 0)];
    // Targets of each state's transitions: edges[offsets[s]..offsets[s + 1]].
    let mut edges: Vec<u32> = Vec::new();
    let mut offsets: Vec<u32> = vec![0];
    index.insert(start, 0);
    let accepting = |s: &[StateID; MAX_LANGS]| {
        langs
            .iter()
            .zip(s)
            .all(|((l, want), &id)| l.is_final(id) == (*want == Want::In))
    };
    let mut i = 0;
    while i < states.len() {
        budget.take(reps.len())?;
        'bytes: for &b in &reps {
            let mut next = [StateID::ZERO; MAX_LANGS];
            for j in 0..k {
                let (l, want) = langs[j];
                let id = l.dfa.next_state(states[i][j], b);
                if want == Want::In && l.dfa.is_dead_state(id) {
                    continue 'bytes;
                }
                next[j] = id;
            }
            let n = states.len() as u32;
            let target = *index.entry(next).or_insert_with(|| {
                states.push(next);
                parent.push((i as u32, b));
                n
            });
            edges.push(target);
        }
        offsets.push(edges.len() as u32);
        i += 1;
    }
    let path = |mut s: u32| {
        let mut bytes = Vec::new();
        while s != 0 {
            let (p, b) = parent[s as usize];
            bytes.push(b);
            s = p;
        }
        bytes.reverse();
        bytes
    };
    let finals: Vec<u32> = (0..states.len() as u32)
        .filter(|&s| accepting(&states[s as usize]))
        .collect();
    let example = finals.first().map(|&s| path(s));
    let more = finals
        .iter()
        .take(examples)
        .map(|&s| path(s))
        .collect::<Vec<_>>();
    // (`more` holds one string per final product state: distinct strings,
    // not necessarily the next shortest.)
    let infinite = example.is_some() && has_useful_cycle(&edges, &offsets, &finals);
    Ok(Found {
        example,
        infinite,
        more,
    })
}

/// True when a cycle lies on some path from the start to a final state:
/// then the language is infinite (every state here is reachable).
fn has_useful_cycle(edges: &[u32], offsets: &[u32], finals: &[u32]) -> bool {
    let n = offsets.len() - 1;
    let out_of = |s: usize| &edges[offsets[s] as usize..offsets[s + 1] as usize];
    // Co-reachable: states from which a final state can be reached.
    let mut reverse: Vec<Vec<u32>> = vec![Vec::new(); n];
    for s in 0..n {
        for &t in out_of(s) {
            reverse[t as usize].push(s as u32);
        }
    }
    let mut useful = vec![false; n];
    let mut stack: Vec<u32> = finals.to_vec();
    for &f in finals {
        useful[f as usize] = true;
    }
    while let Some(s) = stack.pop() {
        for &p in &reverse[s as usize] {
            if !useful[p as usize] {
                useful[p as usize] = true;
                stack.push(p);
            }
        }
    }
    // Cycle among useful states: iterative DFS with colours.
    let mut colour = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    for root in 0..n {
        if !useful[root] || colour[root] != 0 {
            continue;
        }
        let mut stack: Vec<(u32, usize)> = vec![(root as u32, 0)];
        colour[root] = 1;
        while let Some(&mut (s, ref mut next)) = stack.last_mut() {
            let out = out_of(s as usize);
            if *next < out.len() {
                let t = out[*next] as usize;
                *next += 1;
                if !useful[t] {
                    continue;
                }
                match colour[t] {
                    0 => {
                        colour[t] = 1;
                        stack.push((t as u32, 0));
                    }
                    1 => return true,
                    _ => {}
                }
            } else {
                colour[s as usize] = 2;
                stack.pop();
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(p: &str) -> Lang {
        Lang::new(p, 1 << 20).unwrap()
    }

    #[test]
    fn shortest_and_infinite() {
        let a = lang("https://[a-z]+\\.com");
        let b = lang("https://x\\.com");
        let mut budget = Budget::new(1 << 20);
        let f = find(&[(&a, Want::In), (&b, Want::Out)], 3, &mut budget).unwrap();
        assert_eq!(f.example.as_deref(), Some(&b"https://a.com"[..]));
        assert!(f.infinite);
        let f = find(&[(&b, Want::In), (&a, Want::Out)], 3, &mut budget).unwrap();
        assert_eq!(f.example, None);
        assert!(!f.infinite);
        let c = lang("https://(x|y)\\.com");
        let f = find(&[(&c, Want::In), (&b, Want::Out)], 3, &mut budget).unwrap();
        assert_eq!(f.example.as_deref(), Some(&b"https://y.com"[..]));
        assert!(!f.infinite);
    }

    #[test]
    fn budget_is_enforced() {
        let a = lang("https://[a-z]{1,30}\\.com");
        let mut budget = Budget::new(10);
        assert_eq!(
            find(&[(&a, Want::In)], 1, &mut budget).unwrap_err(),
            TooComplex
        );
    }
}
