//! Request signatures of Alibaba Cloud, shared by the client (`flinkform-alicloud`, which
//! signs) and the emulator (`flinkform-cloudsim`, which verifies): V3 `ACS3-HMAC-SHA256`, the
//! legacy RPC `HMAC-SHA1` signature and OSS's V1 `HMAC-SHA1` signature, with the hashing and
//! percent-encoding rules they rest on.
//!
//! Pure functions over strings: no IO, no HTTP, no async runtime. What to feed them (which
//! headers a request carries, which query parameters OSS signs as sub-resources) is each
//! side's own business, so that a wrong client cannot be hidden by an equally wrong emulator.
//! The test vectors are the official documentation's worked examples.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The V3 algorithm name, as it appears in `Authorization`.
pub const ACS3_HMAC_SHA256: &str = "ACS3-HMAC-SHA256";

/// SHA-256 of the empty body, lowercase hex.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// RFC 3986 percent-encoding as Alibaba Cloud uses it: unreserved `A-Z a-z 0-9 - _ . ~`
/// kept, everything else `%XX` with upper-case hex (so space is `%20` and `*` is `%2A`).
#[must_use]
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parameters sorted by name (then value), each side percent-encoded, joined with `&`.
#[must_use]
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Lowercase hex SHA-256 of `bytes`.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    // HMAC accepts keys of any length, so construction cannot fail.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

fn hmac_sha1_base64(key: &[u8], data: &[u8]) -> String {
    match Hmac::<Sha1>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            BASE64.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// The parts of a request that a V3 signature covers.
#[derive(Debug, Clone)]
pub struct V3Request<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// Canonical URI (`/` for RPC).
    pub path: &'a str,
    /// Query parameters (decoded).
    pub query: &'a [(String, String)],
    /// Header name (lower case) → value, for every header named in `signed_headers`.
    pub headers: &'a BTreeMap<String, String>,
    /// Lower-case names of the signed headers.
    pub signed_headers: &'a [String],
    /// `x-acs-content-sha256`: lowercase hex SHA-256 of the body.
    pub body_sha256: &'a str,
}

impl V3Request<'_> {
    /// The signed header names: lower case, sorted, without duplicates.
    fn signed_header_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .signed_headers
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The canonical request (six newline-joined parts).
    #[must_use]
    pub fn canonical_request(&self) -> String {
        let names = self.signed_header_names();
        let mut canonical_headers = String::new();
        for name in &names {
            let value = self.headers.get(name).map_or("", |v| v.trim());
            canonical_headers.push_str(name);
            canonical_headers.push(':');
            canonical_headers.push_str(value);
            canonical_headers.push('\n');
        }
        format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            self.method,
            self.path,
            canonical_query(self.query),
            canonical_headers,
            names.join(";"),
            self.body_sha256
        )
    }

    /// `ACS3-HMAC-SHA256\n<hex sha256 of the canonical request>`.
    #[must_use]
    pub fn string_to_sign(&self) -> String {
        format!(
            "{ACS3_HMAC_SHA256}\n{}",
            sha256_hex(self.canonical_request().as_bytes())
        )
    }

    /// The hex signature with `secret`.
    #[must_use]
    pub fn signature(&self, secret: &str) -> String {
        hmac_sha256_hex(secret.as_bytes(), self.string_to_sign().as_bytes())
    }

    /// The `Authorization` header value.
    #[must_use]
    pub fn authorization(&self, access_key_id: &str, secret: &str) -> String {
        let names = self.signed_header_names();
        format!(
            "{ACS3_HMAC_SHA256} Credential={access_key_id},SignedHeaders={},Signature={}",
            names.join(";"),
            self.signature(secret)
        )
    }
}

/// A parsed V3 `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Authorization {
    /// `Credential=`.
    pub access_key_id: String,
    /// `SignedHeaders=`, split on `;`.
    pub signed_headers: Vec<String>,
    /// `Signature=`.
    pub signature: String,
}

impl V3Authorization {
    /// Parses `ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`; `None` if it is
    /// not of that form.
    #[must_use]
    pub fn parse(header: &str) -> Option<Self> {
        let rest = header.strip_prefix(ACS3_HMAC_SHA256)?.trim_start();
        let mut ak = None;
        let mut signed = None;
        let mut sig = None;
        for part in rest.split(',') {
            let (k, v) = part.trim().split_once('=')?;
            match k {
                "Credential" => ak = Some(v.to_owned()),
                "SignedHeaders" => signed = Some(v.split(';').map(str::to_owned).collect()),
                "Signature" => sig = Some(v.to_owned()),
                _ => {}
            }
        }
        Some(Self {
            access_key_id: ak?,
            signed_headers: signed?,
            signature: sig?,
        })
    }
}

/// The legacy RPC signature (`SignatureMethod=HMAC-SHA1`, `SignatureVersion=1.0`) over
/// `params` (query ∪ form, without `Signature`).
#[must_use]
pub fn rpc_v1_signature(method: &str, params: &[(String, String)], secret: &str) -> String {
    let string_to_sign = format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query(params))
    );
    hmac_sha1_base64(format!("{secret}&").as_bytes(), string_to_sign.as_bytes())
}

/// The inputs of an OSS V1 signature.
#[derive(Debug, Clone)]
pub struct OssV1Request<'a> {
    /// HTTP verb.
    pub verb: &'a str,
    /// `Content-MD5` header or empty.
    pub content_md5: &'a str,
    /// `Content-Type` header or empty.
    pub content_type: &'a str,
    /// `Date` header.
    pub date: &'a str,
    /// `x-oss-*` headers (lower-case names).
    pub oss_headers: &'a BTreeMap<String, String>,
    /// Canonicalized resource: `/<bucket>/` (+ `?bucketInfo` etc.), or `/` for the service.
    pub resource: &'a str,
}

impl OssV1Request<'_> {
    /// Base64 HMAC-SHA1 signature with `secret`.
    #[must_use]
    pub fn signature(&self, secret: &str) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n{}\n",
            self.verb, self.content_md5, self.content_type, self.date
        );
        for (k, v) in self.oss_headers {
            s.push_str(&format!("{k}:{}\n", v.trim()));
        }
        s.push_str(self.resource);
        hmac_sha1_base64(secret.as_bytes(), s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The worked example of the V3 signature documentation (reference §2.1).
    #[test]
    fn v3_official_test_vector() {
        let query = pairs(&[
            (
                "ImageId",
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
            ),
            ("RegionId", "cn-shanghai"),
        ]);
        let headers: BTreeMap<String, String> = [
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-content-sha256", EMPTY_SHA256),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-version", "2014-05-26"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let signed: Vec<String> = headers.keys().cloned().collect();
        let req = V3Request {
            method: "POST",
            path: "/",
            query: &query,
            headers: &headers,
            signed_headers: &signed,
            body_sha256: EMPTY_SHA256,
        };
        assert_eq!(
            sha256_hex(req.canonical_request().as_bytes()),
            "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        assert_eq!(
            req.signature("YourAccessKeySecret"),
            "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
        let auth = req.authorization("YourAccessKeyId", "YourAccessKeySecret");
        assert_eq!(
            auth,
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
        let parsed = V3Authorization::parse(&auth).unwrap();
        assert_eq!(parsed.access_key_id, "YourAccessKeyId");
        assert_eq!(parsed.signed_headers, signed);
    }

    /// The legacy HMAC-SHA1 vectors of reference §2.2.
    #[test]
    fn rpc_v1_test_vectors() {
        let params = pairs(&[
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ]);
        assert_eq!(
            rpc_v1_signature("GET", &params, "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
        assert_eq!(
            rpc_v1_signature("POST", &params, "testsecret"),
            "MxbnVAM4w6sft9xjVpe/GCKueuk="
        );
    }

    #[test]
    fn percent_encoding_follows_rfc3986() {
        assert_eq!(percent_encode("a b*c~d/é"), "a%20b%2Ac~d%2F%C3%A9");
    }

    /// The worked example (签名示例 / "Example signature") of the OSS V1 documentation page
    /// "在Header中包含签名" / "Include a V1 signature in the Authorization header",
    /// <https://help.aliyun.com/document_detail/31951.html> (English:
    /// <https://www.alibabacloud.com/help/doc-detail/31951.html>), as its source reads in
    /// <https://github.com/AlibabaCloudDocs/oss>, `cn.zh-CN/API 参考/访问控制/在Header中包含签名.md`
    /// (commit a425da041cc9; the Chinese edition masks the middle of the key and signature, the
    /// English edition of the same source prints them whole): AccessKeyId
    /// `44CF9590006BF252F707`, secret `OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV`, `PUT /nelson`
    /// on bucket `oss-example`, `Content-Type: text/html`,
    /// `Date: Thu, 17 Nov 2005 18:49:58 GMT`, `X-OSS-Meta-Author: foo@bar.com`,
    /// `X-OSS-Magic: abracadabra`; published signature `26NBxoKdsyly4EDv6inkoDft/yA=`.
    ///
    /// A gap in the page: its request shows `Content-MD5: eB5eJF1ptWaXm4bijSPyxw==`, but its
    /// string to sign (the Python sample) and so the published signature use
    /// `ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=`; the signature is of the latter (checked
    /// with Python's hmac/hashlib/base64, independently of this crate), so that is the input
    /// here. The canonical headers are `x-oss-magic` before `x-oss-meta-author`.
    #[test]
    fn oss_v1_official_test_vector() {
        let oss_headers: BTreeMap<String, String> = [
            ("x-oss-meta-author", "foo@bar.com"),
            ("x-oss-magic", "abracadabra"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let req = OssV1Request {
            verb: "PUT",
            content_md5: "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=",
            content_type: "text/html",
            date: "Thu, 17 Nov 2005 18:49:58 GMT",
            oss_headers: &oss_headers,
            resource: "/oss-example/nelson",
        };
        assert_eq!(
            req.signature("OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV"),
            "26NBxoKdsyly4EDv6inkoDft/yA="
        );
    }
}
