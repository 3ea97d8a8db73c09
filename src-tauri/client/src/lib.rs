//! A remote Postdesk backend: every [`Backend`](postdesk_contract::Backend) operation sent to
//! `postdesk serve`'s admin API.
//!
//! Contract: it implements only [`Transport::call`]; the `Backend` methods come from the
//! operation table, so remote and local backends have the same surface by construction.
//! Links are HTTPS (rustls), optionally trusting one extra CA/self-signed certificate;
//! plain HTTP is accepted only to loopback addresses. The token never appears in `Debug`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::net::IpAddr;
use std::time::Duration;

use postdesk_contract::api::{Operation, Transport};
use postdesk_contract::{Error, ErrorCode, Result};
use serde_json::Value;
use url::Url;

/// A bearer token; never printed.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wraps a token secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Token(secret.into())
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

/// How to reach a remote backend.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// An extra trusted certificate (PEM), e.g. the server's self-signed one.
    pub ca_cert_pem: Option<String>,
    /// Per-request timeout; 30 s when `None`.
    pub timeout: Option<Duration>,
}

/// The admin API of a `postdesk serve` somewhere else.
#[derive(Debug, Clone)]
pub struct RemoteBackend {
    base: Url,
    token: Token,
    http: reqwest::Client,
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

impl RemoteBackend {
    /// A backend at `base_url` (e.g. `https://mail.example.com:8443`) acting with `token`.
    pub fn new(base_url: &str, token: Token, options: Options) -> Result<Self> {
        let base = Url::parse(base_url.trim())
            .map_err(|e| Error::validation(format!("'{base_url}' is not a URL: {e}")).with_field("url"))?;
        match base.scheme() {
            "https" => {}
            "http" if is_loopback(&base) => {}
            "http" => {
                return Err(Error::validation(
                    "remote backends must use https:// (plain http is only allowed to loopback addresses)",
                )
                .with_field("url"));
            }
            other => return Err(Error::validation(format!("unsupported URL scheme '{other}'")).with_field("url")),
        }
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(options.timeout.unwrap_or(Duration::from_secs(30)))
            .connect_timeout(Duration::from_secs(10));
        if let Some(pem) = &options.ca_cert_pem {
            let cert = reqwest::Certificate::from_pem(pem.as_bytes()).map_err(|e| {
                Error::validation(format!("the certificate is not valid PEM: {e}")).with_field("certificate")
            })?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder.build().map_err(|e| Error::internal(format!("cannot build HTTP client: {e}")))?;
        Ok(RemoteBackend { base, token, http })
    }

    /// The base URL.
    pub fn url(&self) -> &Url {
        &self.base
    }

    /// The full URL and leftover params (those not used in the path) for an operation.
    fn locate<O: Operation>(&self, params: &O) -> Result<(Url, serde_json::Map<String, Value>)> {
        let mut fields = match serde_json::to_value(params)? {
            Value::Object(map) => map,
            _ => return Err(Error::internal(format!("params of {} are not an object", O::NAME))),
        };
        let mut url = self.base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|_| Error::validation("this URL cannot be a base URL").with_field("url"))?;
            segments.pop_if_empty();
            for segment in O::PATH.trim_start_matches('/').split('/') {
                match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => match fields.remove(name) {
                        Some(Value::String(value)) => segments.push(&value),
                        _ => return Err(Error::internal(format!("{}: path field {name} is not a string", O::NAME))),
                    },
                    None => segments.push(segment),
                };
            }
        }
        Ok((url, fields))
    }
}

fn query_string(fields: &serde_json::Map<String, Value>) -> Result<String> {
    let mut pairs = Vec::with_capacity(fields.len());
    for (k, v) in fields {
        match v {
            Value::Null => {}
            Value::String(s) => pairs.push((k.as_str(), s.clone())),
            Value::Bool(_) | Value::Number(_) => pairs.push((k.as_str(), v.to_string())),
            _ => return Err(Error::internal(format!("query parameter {k} is not a scalar"))),
        }
    }
    serde_urlencoded::to_string(pairs).map_err(|e| Error::internal(e.to_string()))
}

#[async_trait::async_trait]
impl Transport for RemoteBackend {
    async fn call<O: Operation>(&self, params: O) -> Result<O::Output> {
        let (mut url, fields) = self.locate(&params)?;
        let method =
            reqwest::Method::from_bytes(O::METHOD.as_str().as_bytes()).map_err(|e| Error::internal(e.to_string()))?;
        let request = if O::METHOD.params_in_query() {
            let query = query_string(&fields)?;
            url.set_query((!query.is_empty()).then_some(query.as_str()));
            self.http.request(method, url)
        } else {
            self.http.request(method, url).json(&fields)
        };
        let request = request.bearer_auth(&self.token.0);
        let response = request.send().await.map_err(|e| {
            let mut source: &dyn std::error::Error = &e;
            let mut detail = e.to_string();
            while let Some(inner) = source.source() {
                detail = format!("{detail}: {inner}");
                source = inner;
            }
            Error::unavailable(format!("cannot reach the backend at {}: {detail}", self.base))
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::unavailable(format!("the backend at {} broke off its answer: {e}", self.base)))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| Error::internal(format!("the backend's answer to {} was not understood: {e}", O::NAME)));
        }
        Err(serde_json::from_slice::<Error>(&body).unwrap_or_else(|_| {
            Error::new(ErrorCode::from_http_status(status.as_u16()), format!("the backend answered HTTP {status}"))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postdesk_contract::api::{GetAccount, ListAccounts};

    fn backend(url: &str) -> Result<RemoteBackend> {
        RemoteBackend::new(url, Token::new("pd_x"), Options::default())
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(backend("http://127.0.0.1:8080").is_ok());
        assert!(backend("http://localhost:8080").is_ok());
        assert!(backend("https://mail.example.com").is_ok());
        let err = backend("http://mail.example.com").unwrap_err();
        assert!(err.message.contains("https"), "{}", err.message);
        assert!(backend("ftp://x").is_err());
        assert!(backend("not a url").is_err());
    }

    #[test]
    fn path_fields_are_percent_encoded_and_removed() {
        let b = backend("https://mail.example.com/base/").unwrap();
        let (url, rest) = b.locate(&GetAccount { address: "a/b@example.com".into() }).unwrap();
        assert_eq!(url.as_str(), "https://mail.example.com/base/api/accounts/a%2Fb@example.com");
        assert!(rest.is_empty());
        let p = ListAccounts {
            domain: "example.com".into(),
            query: Some("ann & co".into()),
            department: None,
            subdepartments: None,
            status: None,
            sort: None,
            descending: Some(true),
            offset: None,
            limit: Some(20),
            exact_total: None,
        };
        let (url, rest) = b.locate(&p).unwrap();
        assert_eq!(url.path(), "/base/api/domains/example.com/accounts");
        assert_eq!(query_string(&rest).unwrap(), "descending=true&limit=20&query=ann+%26+co");
    }

    #[test]
    fn token_is_never_printed() {
        let b = RemoteBackend::new("https://x.example", Token::new("pd_secret"), Options::default()).unwrap();
        assert!(!format!("{b:?}").contains("pd_secret"));
    }
}
