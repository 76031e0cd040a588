//! An agent's address as users and `.members` write it: `host:port`, with
//! IPv6 hosts in brackets.

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

/// Where an agent listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentAddress {
    host: String,
    port: u16,
}

/// Why an agent address did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid agent address {text:?}: {reason} (write host:port, e.g. 10.0.0.1:7443)")]
pub struct AddressError {
    text: String,
    reason: &'static str,
}

impl AgentAddress {
    /// The host: a name, an IPv4 address, or an IPv6 address without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `https://` URI a channel dials.
    pub fn uri(&self) -> String {
        format!("https://{self}")
    }
}

impl FromStr for AgentAddress {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<AgentAddress, AddressError> {
        let fail = |reason| AddressError {
            text: text.to_owned(),
            reason,
        };
        if text.contains("://") {
            return Err(fail("write it without a scheme"));
        }
        let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
            let (host, rest) = bracketed
                .split_once(']')
                .ok_or_else(|| fail("the ']' after the IPv6 address is missing"))?;
            host.parse::<Ipv6Addr>()
                .map_err(|_| fail("not an IPv6 address in brackets"))?;
            let port = rest
                .strip_prefix(':')
                .ok_or_else(|| fail("the port is missing"))?;
            (host, port)
        } else {
            let (host, port) = text
                .rsplit_once(':')
                .ok_or_else(|| fail("the port is missing"))?;
            if host.contains(':') {
                return Err(fail("put an IPv6 address in brackets"));
            }
            (host, port)
        };
        if host.is_empty() {
            return Err(fail("the host is missing"));
        }
        if host.contains(|c: char| c.is_whitespace() || "/?#@".contains(c)) {
            return Err(fail("the host holds a character no host name has"));
        }
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|&port| port != 0)
            .ok_or_else(|| fail("the port must be a number from 1 to 65535"))?;
        Ok(AgentAddress {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for AgentAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AgentAddress;

    #[test]
    fn host_and_port_parse_and_print_back() {
        let address: AgentAddress = "pve1.lab:7443".parse().unwrap();
        assert_eq!(address.host(), "pve1.lab");
        assert_eq!(address.port(), 7443);
        assert_eq!(address.to_string(), "pve1.lab:7443");
        assert_eq!(address.uri(), "https://pve1.lab:7443");
    }

    #[test]
    fn ipv6_hosts_come_in_brackets_and_lose_them_as_hosts() {
        let address: AgentAddress = "[fd00::2]:7443".parse().unwrap();
        assert_eq!(address.host(), "fd00::2");
        assert_eq!(address.to_string(), "[fd00::2]:7443");
    }

    #[test]
    fn addresses_without_a_usable_port_or_host_are_refused_with_the_reason() {
        for (text, reason) in [
            ("10.0.0.1", "the port is missing"),
            ("10.0.0.1:0", "the port must be"),
            ("10.0.0.1:http", "the port must be"),
            (":7443", "the host is missing"),
            ("fd00::2:7443", "brackets"),
            ("[fd00::2:7443", "']'"),
            ("https://x:1", "without a scheme"),
            ("pve1/x:1", "character"),
        ] {
            let error = text.parse::<AgentAddress>().unwrap_err().to_string();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }
}
