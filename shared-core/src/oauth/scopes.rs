//! Scope strings (RFC 6749 §3.3).

use std::fmt;

/// A set of scope tokens (RFC 6749 §3.3), kept sorted and without duplicates so that the same grant always
/// prints the same `scope` string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(std::collections::BTreeSet<String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed scope: {0:?} is not a valid scope token")]
pub struct ScopeSyntaxError(pub String);

impl Scopes {
    /// Parses a space-delimited scope string. `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`; tokens are
    /// separated by single spaces, but repeated spaces are tolerated as most servers do.
    pub fn parse(text: &str) -> Result<Self, ScopeSyntaxError> {
        let mut set = std::collections::BTreeSet::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            let valid = token.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return Err(ScopeSyntaxError(token.to_owned()));
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn intersection(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.intersection(&other.0).cloned().collect())
    }

    pub fn union(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.union(&other.0).cloned().collect())
    }

    pub fn without(&self, scope: &str) -> Scopes {
        Scopes(self.0.iter().filter(|s| *s != scope).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for scope in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(scope)?;
            first = false;
        }
        Ok(())
    }
}

/// Does a space-delimited scope string hold `wanted`? Allocation-free, for the resource server's hot path.
pub fn scope_string_contains(scope: &str, wanted: &str) -> bool {
    scope.split(' ').any(|s| s == wanted)
}

impl<S: Into<String>> FromIterator<S> for Scopes {
    fn from_iter<I: IntoIterator<Item = S>>(items: I) -> Self {
        Self(items.into_iter().map(Into::into).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_sorted_and_deduplicated() {
        let scopes = Scopes::parse("write read  write").unwrap();
        assert_eq!(scopes.to_string(), "read write");
        assert!(scopes.contains("read"));
        assert!(!scopes.contains("introspection"));
    }

    #[test]
    fn scope_tokens_reject_quotes_backslashes_and_controls() {
        assert!(Scopes::parse("read \"write\"").is_err());
        assert!(Scopes::parse("re\\ad").is_err());
        assert!(Scopes::parse("read\twrite").is_err());
        assert!(Scopes::parse("lecture-é").is_err());
    }

    #[test]
    fn subset_and_intersection() {
        let allowed = Scopes::parse("read write introspection").unwrap();
        assert!(Scopes::parse("read").unwrap().is_subset(&allowed));
        assert!(!Scopes::parse("read admin").unwrap().is_subset(&allowed));
        let defaults = Scopes::parse("read write").unwrap();
        assert_eq!(defaults.intersection(&Scopes::parse("read").unwrap()).to_string(), "read");
        assert_eq!(allowed.without("introspection").to_string(), "read write");
    }

    #[test]
    fn empty_scope_string_is_empty_set() {
        assert!(Scopes::parse("").unwrap().is_empty());
        assert_eq!(Scopes::default().to_string(), "");
    }

    #[test]
    fn scope_string_contains_matches_whole_tokens_only() {
        assert!(scope_string_contains("read write", "write"));
        assert!(!scope_string_contains("read writer", "write"));
        assert!(!scope_string_contains("", "read"));
    }
}
