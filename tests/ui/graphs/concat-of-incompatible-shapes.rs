// Joining along the features needs every other axis to agree: a sequence [5, 3] and a
// vector [15] have different ranks.
nn::network! { struct Net { input(5), e: embedding(12 -> 3), f: flatten, concat(e, f) } }

fn main() {}
