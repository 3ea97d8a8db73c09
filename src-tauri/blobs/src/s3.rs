//! Blobs in an S3-compatible object store, through `object_store`: `s3://bucket/prefix`
//! holds blob `name` as the object `prefix/name`. A PUT that S3 answered is durable; the
//! client has time-outs and a bounded number of retries, so a store that is down makes
//! each call fail within about half a minute instead of hanging.
//!
//! The endpoint and credentials come from [`S3Settings`] (for `postdesk`, the usual AWS
//! environment variables). Plain `http://` endpoints are refused unless they are on
//! loopback: blobs are people's mail.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};

use crate::{BlobError, Blobs, Bytes, Result, check_name};

/// How to reach the object store.
#[derive(Clone, Default)]
pub struct S3Settings {
    /// `https://…` (or `http://` on loopback); `None`: AWS itself.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "…"))
            .finish()
    }
}

impl S3Settings {
    /// `AWS_ENDPOINT_URL`, `AWS_REGION` (or `AWS_DEFAULT_REGION`), `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`.
    pub fn from_env() -> S3Settings {
        let var = |names: &[&str]| names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()));
        S3Settings {
            endpoint: var(&["AWS_ENDPOINT_URL", "AWS_ENDPOINT"]),
            region: var(&["AWS_REGION", "AWS_DEFAULT_REGION"]),
            access_key_id: var(&["AWS_ACCESS_KEY_ID"]),
            secret_access_key: var(&["AWS_SECRET_ACCESS_KEY"]),
        }
    }
}

/// Blobs in one bucket, under one prefix.
#[derive(Debug)]
pub struct S3Blobs {
    store: AmazonS3,
    prefix: Option<ObjectPath>,
    location: String,
}

/// `(bucket, prefix)` of `s3://bucket[/prefix]`.
fn parse_location(location: &str) -> Result<(String, String)> {
    let bad =
        |why: &str| BlobError::invalid(format!("'{location}' is not an S3 location ({why}); write s3://bucket/prefix"));
    let rest = location.strip_prefix("s3://").ok_or_else(|| bad("it does not start with s3://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && bucket.as_bytes()[0].is_ascii_alphanumeric();
    if !valid_bucket {
        return Err(bad("the bucket name must be 3 to 63 lower-case letters, digits, dots or hyphens"));
    }
    let prefix = prefix.trim_matches('/').to_string();
    let valid_prefix = prefix.len() <= 200
        && prefix.split('/').all(|s| prefix.is_empty() || (!s.is_empty() && s != "." && s != ".."))
        && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    if !valid_prefix {
        return Err(bad("the prefix may hold letters, digits, '-', '_', '.' and '/' between non-empty parts"));
    }
    Ok((bucket.to_string(), prefix))
}

fn loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl S3Blobs {
    /// The store at `location` (`s3://bucket[/prefix]`) reached with `settings`.
    pub fn new(location: &str, settings: S3Settings) -> Result<S3Blobs> {
        let (bucket, prefix) = parse_location(location)?;
        let mut builder = AmazonS3Builder::new().with_bucket_name(&bucket);
        let mut allow_http = false;
        if let Some(endpoint) = &settings.endpoint {
            let url = url::Url::parse(endpoint)
                .map_err(|e| BlobError::invalid(format!("the S3 endpoint '{endpoint}' is not a URL: {e}")))?;
            match url.scheme() {
                "https" => {}
                "http" if url.host_str().is_some_and(loopback) => allow_http = true,
                "http" => {
                    return Err(BlobError::invalid(format!(
                        "the S3 endpoint '{endpoint}' is plain HTTP: use https:// (plain HTTP is allowed on loopback only)"
                    )));
                }
                other => {
                    return Err(BlobError::invalid(format!(
                        "the S3 endpoint '{endpoint}' has scheme '{other}', not https"
                    )));
                }
            }
            builder = builder.with_endpoint(endpoint.trim_end_matches('/'));
        }
        builder = builder.with_region(settings.region.as_deref().unwrap_or("us-east-1"));
        match (&settings.access_key_id, &settings.secret_access_key) {
            (Some(id), Some(secret)) => builder = builder.with_access_key_id(id).with_secret_access_key(secret),
            (None, None) => {
                return Err(BlobError::invalid(format!(
                    "no credentials for {location}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                )));
            }
            _ => {
                return Err(BlobError::invalid(format!(
                    "half the credentials for {location}: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                )));
            }
        }
        let client = ClientOptions::new()
            .with_allow_http(allow_http)
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(60));
        let retry = RetryConfig { max_retries: 3, retry_timeout: Duration::from_secs(30), ..Default::default() };
        let store = builder
            .with_client_options(client)
            .with_retry(retry)
            .build()
            .map_err(|e| BlobError::invalid(format!("cannot use {location}: {e}")))?;
        let location = if prefix.is_empty() { format!("s3://{bucket}") } else { format!("s3://{bucket}/{prefix}") };
        let prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix.as_str()));
        Ok(S3Blobs { store, prefix, location })
    }

    fn key(&self, name: &str) -> Result<ObjectPath> {
        check_name(name)?;
        Ok(match &self.prefix {
            Some(p) => p.clone().join(name),
            None => ObjectPath::from(name),
        })
    }

    fn failed(&self, what: &str, name: &str, e: object_store::Error) -> BlobError {
        match e {
            object_store::Error::NotFound { .. } => {
                BlobError::not_found(format!("{}: no message {name}", self.location))
            }
            e => BlobError::unavailable(format!("{}: cannot {what} message {name}: {e}", self.location)),
        }
    }
}

#[async_trait::async_trait]
impl Blobs for S3Blobs {
    fn location(&self) -> String {
        self.location.clone()
    }

    async fn put(&self, name: &str, bytes: Bytes) -> Result<()> {
        let key = self.key(name)?;
        // Content-addressed: writing the same bytes again is harmless, and cheaper than a
        // HEAD first on every delivery.
        self.store.put(&key, PutPayload::from(bytes)).await.map_err(|e| match e {
            // A PUT is "not found" only when the bucket is.
            object_store::Error::NotFound { .. } => BlobError::unavailable(format!(
                "{}: cannot store message {name}: the bucket does not exist",
                self.location
            )),
            e => self.failed("store", name, e),
        })?;
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<Vec<u8>> {
        let key = self.key(name)?;
        let got = self.store.get(&key).await.map_err(|e| self.failed("read", name, e))?;
        let bytes = got.bytes().await.map_err(|e| self.failed("read", name, e))?;
        Ok(bytes.to_vec())
    }

    async fn get_head(&self, name: &str, limit: u64) -> Result<Vec<u8>> {
        let key = self.key(name)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        // A range past the end returns what there is; an empty object has no range at all.
        match self.store.get_range(&key, 0..limit).await {
            Ok(bytes) => Ok(bytes.to_vec()),
            Err(object_store::Error::NotFound { .. }) => {
                Err(BlobError::not_found(format!("{}: no message {name}", self.location)))
            }
            Err(_) if self.size(name).await? == Some(0) => Ok(Vec::new()),
            Err(e) => Err(self.failed("read", name, e)),
        }
    }

    async fn size(&self, name: &str) -> Result<Option<u64>> {
        let key = self.key(name)?;
        match self.store.head(&key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed("look up", name, e)),
        }
    }

    async fn delete(&self, name: &str) -> Result<()> {
        let key = self.key(name)?;
        match self.store.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failed("remove", name, e)),
        }
    }

    fn list(&self) -> futures::stream::BoxStream<'static, Result<String>> {
        let location = self.location.clone();
        self.store
            .list(self.prefix.as_ref())
            .map_err(move |e| BlobError::unavailable(format!("{location}: cannot list the messages: {e}")))
            .try_filter_map(|o| {
                let name = o.location.filename().filter(|n| check_name(n).is_ok()).map(str::to_string);
                futures::future::ready(Ok(name))
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_bucket_and_prefix_or_refused_with_the_reason() {
        assert_eq!(parse_location("s3://mail").unwrap(), ("mail".into(), String::new()));
        assert_eq!(parse_location("s3://mail-1/node/blobs/").unwrap(), ("mail-1".into(), "node/blobs".into()));
        for (bad, why) in [
            ("https://mail/x", "s3://"),
            ("s3://M/x", "bucket"),
            ("s3://ab", "bucket"),
            ("s3://mail/a/../b", "prefix"),
            ("s3://mail/a//b", "prefix"),
            ("s3://mail/a b", "prefix"),
        ] {
            let e = parse_location(bad).unwrap_err();
            assert!(e.kind == crate::BlobErrorKind::Invalid && e.message.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn plain_http_only_on_loopback_and_credentials_come_in_pairs() {
        let with = |endpoint: &str, id: Option<&str>, secret: Option<&str>| {
            S3Blobs::new(
                "s3://mail/x",
                S3Settings {
                    endpoint: Some(endpoint.into()),
                    region: None,
                    access_key_id: id.map(Into::into),
                    secret_access_key: secret.map(Into::into),
                },
            )
        };
        assert!(with("http://127.0.0.1:9000", Some("k"), Some("s")).is_ok());
        assert!(with("http://localhost:9000", Some("k"), Some("s")).is_ok());
        assert!(with("https://s3.example.com", Some("k"), Some("s")).is_ok());
        let e = with("http://s3.example.com", Some("k"), Some("s")).unwrap_err();
        assert!(e.message.contains("loopback only"), "{e}");
        let e = with("ftp://127.0.0.1", Some("k"), Some("s")).unwrap_err();
        assert!(e.message.contains("'ftp'"), "{e}");
        let e = with("https://s3.example.com", Some("k"), None).unwrap_err();
        assert!(e.message.contains("half the credentials"), "{e}");
        let e = with("https://s3.example.com", None, None).unwrap_err();
        assert!(e.message.contains("AWS_ACCESS_KEY_ID"), "{e}");
        assert!(
            !format!("{:?}", S3Settings { secret_access_key: Some("hunter2".into()), ..Default::default() })
                .contains("hunter2")
        );
    }
}
