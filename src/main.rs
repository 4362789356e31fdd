// (tui worktree only): the real main references modules being written elsewhere.
fn main() {}
