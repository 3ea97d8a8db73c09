//! A real S3-compatible server for tests: moto's server mode (PyPI `moto[server]`, the S3
//! implementation LocalStack is built on), started on 127.0.0.1 at a free port, killed on
//! drop. Buckets are made with a plain HTTP PUT. Shared by the blob, engine and CLI tests
//! (`#[path]`-included).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server; dropping it kills the process.
pub struct S3Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const ACCESS_KEY: &str = "postdesk-test";
pub const SECRET_KEY: &str = "postdesk-test-secret";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl S3Server {
    /// Starts the server and waits until it answers. Panics, naming the package, when moto is
    /// not installed.
    pub fn start() -> S3Server {
        Self::start_at(None)
    }

    /// A server on `port` (another one after this one stopped, say). Its buckets start empty.
    pub fn start_on(port: u16) -> S3Server {
        Self::start_at(Some(port))
    }

    fn start_at(fixed: Option<u16>) -> S3Server {
        let mut last = String::new();
        for _ in 0..5 {
            let port = fixed.unwrap_or_else(free_port);
            let child = Command::new("python3")
                .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("python3 must be installed");
            let mut server = S3Server { child, addr: SocketAddr::from(([127, 0, 0, 1], port)) };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = server.child.try_wait() {
                    last = format!(
                        "moto's server exited ({status}); install it with: python3 -m pip install 'moto[server]'"
                    );
                    break;
                }
                if server.request("GET", "/").is_ok_and(|(code, _)| code == 200) {
                    return server;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if last.is_empty() {
                last = "moto's server did not answer in 30 s".into();
            }
        }
        panic!("{last}");
    }

    /// `http://127.0.0.1:port`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// One plain HTTP/1.1 request; returns the status code and the body.
    pub fn request(&self, method: &str, path: &str) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.addr
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        let code = answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        Ok((code, body))
    }

    /// Creates a bucket.
    pub fn bucket(&self, name: &str) {
        let (code, body) = self.request("PUT", &format!("/{name}")).unwrap();
        assert_eq!(code, 200, "creating bucket {name}: {body}");
    }

    /// The keys in `bucket` (from its listing).
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let (code, body) = self.request("GET", &format!("/{bucket}")).unwrap();
        assert_eq!(code, 200, "{body}");
        body.split("<Key>").skip(1).filter_map(|s| s.split_once("</Key>")).map(|(k, _)| k.to_string()).collect()
    }

    /// The environment `postdesk` reads the endpoint and credentials from.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }
}
