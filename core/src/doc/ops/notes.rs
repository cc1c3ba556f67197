//! The notes as collaborative text: an edit made on the text as it was at
//! some earlier heads is applied as character splices on the text as it is
//! now, so that another device's concurrent typing is kept (a whole-value
//! replacement, or a diff against today's text, would undo it).

use automerge::transaction::Transactable;
use automerge::{ChangeHash, MoveCursor, ReadDoc};

use super::*;
use crate::error::{Error, Result};

/// Longest middle part (base × new characters) diffed character by
/// character; a larger change is one replaced run.
const MAX_DIFF_CELLS: usize = 4_000_000;

impl Editor<'_> {
    /// Changes the notes from the text they had at `base` (the heads the
    /// editing person saw, e.g. the card's `heads`) to `text`. Only the
    /// characters that differ between the two are inserted or deleted, and
    /// they are placed in today's text by their identity, so whatever another
    /// device typed since `base` stays where it was typed. Heads this
    /// document does not have are refused and nothing changes.
    pub fn edit_notes(&mut self, base: &[ChangeHash], text: &str) -> Result<()> {
        self.change("account.notes", |c| {
            let notes = c.notes()?;
            if base.is_empty() || base.iter().any(|h| c.doc.get_change_by_hash(h).is_none()) {
                return Err(Error::invalid(
                    "party.notes",
                    "the notes were edited from a version this device does not have; reload the account and edit again",
                ));
            }
            let seen = c.doc.text_at(&notes, base)?;
            if c.doc.text(&notes)? == seen {
                // Nothing arrived since: the usual diff against today's text.
                c.doc.update_text(&notes, text)?;
                return Ok(());
            }
            let old: Vec<char> = seen.chars().collect();
            let new: Vec<char> = text.chars().collect();
            for hunk in diff(&old, &new).into_iter().rev() {
                c.apply_hunk(&notes, base, &old, hunk, &new)?;
            }
            Ok(())
        })
    }
}

/// One run of `old[old_from..old_to]` replaced by `new[new_from..new_to]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hunk {
    old_from: usize,
    old_to: usize,
    new_from: usize,
    new_to: usize,
}

/// The runs that differ between `old` and `new`, in order: common prefix and
/// suffix trimmed, the middle by longest common subsequence when small enough.
fn diff(old: &[char], new: &[char]) -> Vec<Hunk> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..].iter().rev().zip(new[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let (a, b) = (&old[prefix..old.len() - suffix], &new[prefix..new.len() - suffix]);
    if a.is_empty() && b.is_empty() {
        return Vec::new();
    }
    if a.is_empty() || b.is_empty() || a.len().saturating_mul(b.len()) > MAX_DIFF_CELLS {
        return vec![Hunk { old_from: prefix, old_to: prefix + a.len(), new_from: prefix, new_to: prefix + b.len() }];
    }
    // lcs[i][j]: longest common subsequence of a[i..] and b[j..].
    let w = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * w];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i * w + j] =
                if a[i] == b[j] { lcs[(i + 1) * w + j + 1] + 1 } else { lcs[(i + 1) * w + j].max(lcs[i * w + j + 1]) };
        }
    }
    let mut hunks = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut open: Option<Hunk> = None;
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            hunks.extend(open.take());
            i += 1;
            j += 1;
            continue;
        }
        let h = open.get_or_insert(Hunk {
            old_from: prefix + i,
            old_to: prefix + i,
            new_from: prefix + j,
            new_to: prefix + j,
        });
        if j < b.len() && (i == a.len() || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j]) {
            j += 1;
            h.new_to = prefix + j;
        } else {
            i += 1;
            h.old_to = prefix + i;
        }
    }
    hunks.extend(open);
    hunks
}

impl Ctx<'_> {
    /// Applies one hunk (made against the text at `base`) to today's text.
    fn apply_hunk(&mut self, notes: &ObjId, base: &[ChangeHash], old: &[char], h: Hunk, new: &[char]) -> Result<()> {
        // Where the hunk starts today: at the character that followed the
        // unchanged text before it (or the end).
        let at = if h.old_from == old.len() {
            self.doc.length(notes)
        } else {
            let cursor = self.doc.get_cursor_moving(notes, h.old_from, Some(base), MoveCursor::After)?;
            self.doc.get_cursor_position(notes, &cursor, None)?
        };
        // The characters it removes that are still there (another device may
        // have removed some already), last first.
        let mut gone = Vec::new();
        for i in h.old_from..h.old_to {
            let after = self.doc.get_cursor_moving(notes, i, Some(base), MoveCursor::After)?;
            let before = self.doc.get_cursor_moving(notes, i, Some(base), MoveCursor::Before)?;
            let (pa, pb) = (
                self.doc.get_cursor_position(notes, &after, None)?,
                self.doc.get_cursor_position(notes, &before, None)?,
            );
            if pa == pb && pa < self.doc.length(notes) {
                gone.push(pa);
            }
        }
        for pos in gone.iter().rev() {
            self.doc.splice_text(notes, *pos, 1, "")?;
        }
        let inserted: String = new[h.new_from..h.new_to].iter().collect();
        if !inserted.is_empty() {
            let shift = gone.iter().filter(|p| **p < at).count();
            self.doc.splice_text(notes, at - shift, 0, &inserted)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(old: &str, new: &str) -> String {
        let (o, n): (Vec<char>, Vec<char>) = (old.chars().collect(), new.chars().collect());
        let mut out = o.clone();
        for h in diff(&o, &n).into_iter().rev() {
            out.splice(h.old_from..h.old_to, n[h.new_from..h.new_to].iter().copied());
        }
        out.into_iter().collect()
    }

    #[test]
    fn the_diff_rebuilds_the_new_text() {
        for (old, new) in [
            ("", ""),
            ("", "abc"),
            ("abc", ""),
            ("Met the buyer", "Met the new buyer today"),
            ("Зустріч у Києві", "Зустріч у Львові, потім у Києві"),
            ("one two three", "two three four"),
            ("aaaa", "abab"),
        ] {
            assert_eq!(apply(old, new), new, "{old:?} -> {new:?}");
        }
        let hunks = diff(&"one two three".chars().collect::<Vec<_>>(), &"one 2 three".chars().collect::<Vec<_>>());
        assert_eq!(hunks.len(), 1, "{hunks:?}");
    }
}
