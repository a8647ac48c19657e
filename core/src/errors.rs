//! Error text for people: an error with each of its causes, so a failed connection says why.

/// The error and each of its causes, `: `-separated; a cause whose text the message already
/// holds (many errors repeat their source in their own message) is not repeated.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.contains(&cause_text) {
            message = format!("{message}: {cause_text}");
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("error sending request")
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn an_error_names_its_causes_once_each() {
        let error = Wrapped(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"));
        assert_eq!(with_causes(&error), "error sending request: connection refused");
        let plain = std::io::Error::other("timed out");
        assert_eq!(with_causes(&plain), "timed out");
    }
}
