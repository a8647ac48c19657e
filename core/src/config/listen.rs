//! Listen addresses: plain ones, and receivers' that `off` turns off.

use std::net::{Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

/// `127.0.0.1:port`: every default listens on loopback only, so nothing is exposed until asked.
pub(super) fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// A listen address that can be turned off with `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen(pub Option<SocketAddr>);

impl Listen {
    /// Listen at `addr`, a literal such as `127.0.0.1:9411`; panics when it is not an address.
    pub fn at(addr: &str) -> Self {
        Listen(Some(addr.parse().expect("literal address")))
    }

    /// Listen at `127.0.0.1:port`.
    pub(super) fn loopback(port: u16) -> Self {
        Listen(Some(loopback(port)))
    }
}

impl Serialize for Listen {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(addr) => serializer.serialize_str(&addr.to_string()),
            None => serializer.serialize_str("off"),
        }
    }
}

impl<'de> Deserialize<'de> for Listen {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Flag(bool),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Flag(false) => Ok(Listen(None)),
            Raw::Flag(true) => Err(serde::de::Error::custom("give an address such as 127.0.0.1:9411, or off")),
            Raw::Text(text) if matches!(text.trim(), "" | "off" | "disabled" | "false") => Ok(Listen(None)),
            Raw::Text(text) => text.trim().parse().map(|addr| Listen(Some(addr))).map_err(|_| {
                serde::de::Error::custom(format!("'{text}' is not an address such as 127.0.0.1:9411, or off"))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::SkeinConfig;

    use super::*;

    #[test]
    fn receivers_can_be_turned_off_by_file_or_environment_style_values() {
        let config = SkeinConfig::from_yaml_str(
            "collector:\n  zipkin_listen: off\n  jaeger_grpc_listen: \"\"\n  jaeger_thrift_http_listen: 0.0.0.0:1\n",
        )
        .unwrap();
        assert_eq!(config.collector.zipkin_listen, Listen(None));
        assert_eq!(config.collector.jaeger_grpc_listen, Listen(None));
        assert_eq!(config.collector.jaeger_thrift_http_listen, Listen::at("0.0.0.0:1"));
        let error = SkeinConfig::from_yaml_str("collector:\n  zipkin_listen: nowhere\n").unwrap_err();
        assert!(error.to_string().contains("'nowhere' is not an address"), "{error}");
    }

    #[test]
    fn loopback_is_the_literal_local_address() {
        assert_eq!(Listen::loopback(9411), Listen::at("127.0.0.1:9411"));
    }
}
