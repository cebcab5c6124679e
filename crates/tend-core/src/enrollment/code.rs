//! Enrollment codes as people type them.

/// Normalizes a typed enrollment code the way people type them: any case,
/// spaces or dashes anywhere; Crockford's look-alikes (`O`→`0`, `I`/`L`→`1`)
/// are read as digits. Regrouped in fours with dashes. `None` when a
/// character is not Crockford base32 or nothing is left.
pub fn normalize_code(input: &str) -> Option<String> {
    let mut symbols = String::new();
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\t' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c @ ('0'..='9' | 'A'..='H' | 'J' | 'K' | 'M' | 'N' | 'P'..='T' | 'V'..='Z') => c,
            _ => return None,
        };
        symbols.push(c);
    }
    if symbols.is_empty() {
        return None;
    }
    let groups: Vec<String> = symbols
        .as_bytes()
        .chunks(4)
        .map(|g| String::from_utf8_lossy(g).into_owned())
        .collect();
    Some(groups.join("-"))
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalized_as_typed() {
        assert_eq!(
            normalize_code(" abcd efgh-jk").as_deref(),
            Some("ABCD-EFGH-JK")
        );
        assert_eq!(normalize_code("o1il").as_deref(), Some("0111"));
        assert_eq!(normalize_code("ABCU"), None);
        assert_eq!(normalize_code(" - "), None);
        assert_eq!(normalize_code("AB!C"), None);
    }
}
