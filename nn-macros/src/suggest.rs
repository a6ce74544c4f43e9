//! "Did you mean …?" for misspelt names.

/// Levenshtein distance between two short names.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The candidate closest to `name`, if it is close enough to be a plausible typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (distance(&lower, c), c))
        .filter(|&(d, c)| d <= (c.len() / 3).max(1) || c.starts_with(&lower) && lower.len() >= 3)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// `did you mean `x`?` or, with no close candidate, the list of valid names. A name that
/// begins several candidates at a word boundary (`he` → `he_uniform`, `he_normal`) names
/// them all.
pub fn hint<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str> + Clone) -> String {
    let prefix = format!("{}_", name.to_lowercase());
    let extensions: Vec<String> =
        candidates.clone().into_iter().filter(|c| c.starts_with(&prefix)).map(|c| format!("`{c}`")).collect();
    if extensions.len() > 1 {
        return format!("did you mean {}?", extensions.join(" or "));
    }
    match closest(name, candidates.clone()) {
        Some(best) => format!("did you mean `{best}`?"),
        None => {
            let list: Vec<String> = candidates.into_iter().map(|c| format!("`{c}`")).collect();
            match list.as_slice() {
                [] => "there is none".to_owned(),
                [only] => format!("expected {only}"),
                _ => format!("expected one of {}", list.join(", ")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        let names = ["dense", "dropout", "sigmoid", "relu", "tanh"];
        assert_eq!(closest("dens", names), Some("dense"));
        assert_eq!(closest("sigmod", names), Some("sigmoid"));
        assert_eq!(closest("Relu", names), Some("relu"));
        assert_eq!(closest("convolution", names), None);
        assert_eq!(distance("kitten", "sitting"), 3);
        let inits = ["xavier_uniform", "xavier_normal", "he_uniform", "he_normal"];
        assert_eq!(hint("he", inits), "did you mean `he_uniform` or `he_normal`?");
        assert_eq!(hint("zzz", ["a", "b"]), "expected one of `a`, `b`");
        assert_eq!(hint("epsilon", ["eps"]), "expected `eps`");
    }
}
