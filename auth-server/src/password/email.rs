//! Email validation and normalisation, close to Django's `EmailValidator` and `normalize_email`.

/// `Some(normalised)` for a valid address: surrounding spaces removed, the domain lower-cased (the local
/// part is case-sensitive in theory, so it is kept as typed; uniqueness uses [`email_key`]).
pub fn normalize(raw: &str) -> Option<String> {
    let email = raw.trim();
    if email.len() > 254 {
        return None;
    }
    let (local, domain) = email.rsplit_once('@')?;
    if !valid_local_part(local) || !valid_domain(domain) {
        return None;
    }
    Some(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// The key under which an address is unique: the whole address lower-cased.
pub fn email_key(normalized: &str) -> String {
    normalized.to_lowercase()
}

fn valid_local_part(local: &str) -> bool {
    const SPECIALS: &[u8] = b"!#$%&'*+/=?^_`{|}~-";
    !local.is_empty()
        && local.len() <= 64
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.bytes().all(|b| b.is_ascii_alphanumeric() || SPECIALS.contains(&b)))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    if domain.len() > 253 || labels.len() < 2 {
        return domain.eq_ignore_ascii_case("localhost");
    }
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let tld = labels[labels.len() - 1];
    labels.iter().all(label_ok) && tld.len() >= 2 && !tld.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_is_lower_cased_and_spaces_trimmed() {
        assert_eq!(normalize("  John.Doe@Example.COM ").unwrap(), "John.Doe@example.com");
        assert_eq!(email_key("John.Doe@example.com"), "john.doe@example.com");
    }

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org", "o'neil@example.ie", "x@localhost"] {
            assert!(normalize(ok).is_some(), "{ok}");
        }
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a..b@example.com",
            ".a@example.com",
            "a@-example.com",
            "a@example.c",
            "a@example.123",
            "a b@example.com",
            "a@exa_mple.com",
            "a@@example.com",
            "<a>@example.com",
        ] {
            assert!(normalize(bad).is_none(), "{bad}");
        }
        assert!(normalize(&format!("{}@example.com", "a".repeat(65))).is_none());
    }
}
