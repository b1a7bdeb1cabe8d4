//! Signing a loader at build time: the detached PKCS#7 signature the kernel checks at
//! `BPF_PROG_LOAD` (`signature`, `keyring_id`), and the two digests that tie the loader map
//! to the loader.
//!
//! The signature is what the kernel's PKCS#7 parser verifies against a key in a keyring: a
//! CMS `SignedData` (DER) with no encapsulated content (detached: the content is the
//! loader's instruction bytes, exactly as passed in `insns`), one SHA-256 digest algorithm,
//! no certificates, and one signer identified by its certificate's issuer and serial number,
//! signed RSA PKCS#1 v1.5 over the SHA-256 of the content itself (no signed attributes).
//! That is the shape bpftool's `prog sign` and the kernel's `sign-file` produce (they name
//! the signer by key id or by issuer and serial; the kernel accepts both). Only RSA keys are
//! taken: the kernels this targets verify RSA (`CONFIG_CRYPTO_RSA`) and not necessarily ECDSA.
//!
//! Nothing here touches a kernel: the runtime passes the bytes on.

use der::asn1::{Any, OctetString, SetOfVec};
use der::oid::ObjectIdentifier;
use der::{Decode, DecodePem, Encode};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::{SignatureEncoding, Signer as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};
use thiserror::Error;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

/// `id-data` (PKCS#7 data content type).
const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// `id-signedData`.
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// `id-sha256`.
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// `rsaEncryption`: the signature algorithm OpenSSL's CMS writes for RSA PKCS#1 v1.5 and the
/// kernel's PKCS#7 parser maps to RSA with PKCS#1 encoding.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Key algorithms a user may plausibly hand us, named in the refusal.
const KNOWN_KEY_ALGS: [(&str, &str); 4] = [
    ("1.2.840.10045.2.1", "EC (ECDSA)"),
    ("1.3.101.112", "Ed25519"),
    ("1.3.101.113", "Ed448"),
    ("1.2.840.113549.1.1.10", "RSA-PSS"),
];

/// Why a key or certificate cannot sign a loader.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SignError {
    /// The private key file is not a PEM private key we can read.
    #[error("signing key: {what}")]
    Key {
        /// What is wrong with it.
        what: String,
    },
    /// A key of an algorithm the kernel cannot verify here.
    #[error("signing key: {algorithm} keys are not supported: the kernel verifies BPF program signatures with RSA (CONFIG_CRYPTO_RSA) here; make an RSA key, e.g. `openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -subj /CN=bpf-signing`")]
    KeyType {
        /// The key's algorithm (name or OID).
        algorithm: String,
    },
    /// The certificate file is not a PEM X.509 certificate we can read, or not an RSA one.
    #[error("signing certificate: {what}")]
    Cert {
        /// What is wrong with it.
        what: String,
    },
    /// The certificate is for another key than the private key.
    #[error("the signing certificate's public key is not the signing key's: the kernel would look up the certificate's key and reject the signature; pass the certificate made for this key")]
    Mismatch,
    /// Encoding or signing failed (a malformed but parseable key, say).
    #[error("signing failed: {what}")]
    Encode {
        /// What failed.
        what: String,
    },
}

/// The signing parts of a signed loader, computed by [`Signer::sign_loader`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// Detached PKCS#7 (DER) over the loader's instruction bytes.
    pub signature: Vec<u8>,
    /// SHA-256 of the loader's instruction bytes (the map's `excl_prog_hash`).
    pub loader_sha256: [u8; 32],
    /// SHA-256 of the blob as the kernel hashes the loader map ([`blob_sha256`]).
    pub blob_sha256: [u8; 32],
    /// Whether the loader takes map sizes and initial values from the (unsigned) ctx
    /// ([`crate::SignOptions::ctx_overrides`]).
    pub ctx_overrides: bool,
}

/// A private key with its certificate, checked to belong together.
#[derive(Clone)]
pub struct Signer {
    key: RsaPrivateKey,
    cert: Certificate,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Signer")
            .field("issuer", &self.cert.tbs_certificate.issuer.to_string())
            .field(
                "serial",
                &self.cert.tbs_certificate.serial_number.to_string(),
            )
            .finish_non_exhaustive()
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// SHA-256 of the loader map holding `blob`, as the kernel computes it for a one-element
/// array (`BPF_OBJ_GET_INFO_BY_FD` `hash`): the element's storage, which is the value padded
/// with zeros to a multiple of 8 bytes.
pub fn blob_sha256(blob: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(blob);
    let pad = blob.len().next_multiple_of(8) - blob.len();
    h.update(&[0u8; 8][..pad]);
    h.finalize().into()
}

impl Signer {
    /// Reads a PEM private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`, not
    /// encrypted) and a PEM X.509 certificate for it.
    pub fn from_pem(key_pem: &[u8], cert_pem: &[u8]) -> Result<Signer, SignError> {
        let key = parse_key(key_pem)?;
        let cert = Certificate::from_pem(cert_pem).map_err(|e| SignError::Cert {
            what: format!("not a PEM X.509 certificate (`-----BEGIN CERTIFICATE-----`): {e}"),
        })?;
        let spki = &cert.tbs_certificate.subject_public_key_info;
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(SignError::Cert {
                what: format!(
                    "its public key is {}, not RSA; the key must be RSA",
                    alg_name(&spki.algorithm.oid)
                ),
            });
        }
        let spki_der = spki.to_der().map_err(|e| SignError::Cert {
            what: format!("its public key does not re-encode: {e}"),
        })?;
        let public = RsaPublicKey::from_public_key_der(&spki_der).map_err(|e| SignError::Cert {
            what: format!("its RSA public key does not parse: {e}"),
        })?;
        if public != key.to_public_key() {
            return Err(SignError::Mismatch);
        }
        Ok(Signer { key, cert })
    }

    /// The detached PKCS#7 signature over `content`.
    pub fn sign(&self, content: &[u8]) -> Result<Vec<u8>, SignError> {
        let enc = |what: &str, e: der::Error| SignError::Encode {
            what: format!("{what}: {e}"),
        };
        let signing_key = rsa::pkcs1v15::SigningKey::<Sha256>::new(self.key.clone());
        let signature = signing_key
            .try_sign(content)
            .map_err(|e| SignError::Encode {
                what: format!("RSA PKCS#1 v1.5: {e}"),
            })?
            .to_vec();
        let sha256_alg = AlgorithmIdentifierOwned {
            oid: ID_SHA256,
            parameters: None,
        };
        let tbs = &self.cert.tbs_certificate;
        let signer = cms::signed_data::SignerInfo {
            version: cms::content_info::CmsVersion::V1,
            sid: cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(
                cms::cert::IssuerAndSerialNumber {
                    issuer: tbs.issuer.clone(),
                    serial_number: tbs.serial_number.clone(),
                },
            ),
            digest_alg: sha256_alg.clone(),
            signed_attrs: None,
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
            signature: OctetString::new(signature).map_err(|e| enc("signature", e))?,
            unsigned_attrs: None,
        };
        let signed_data = cms::signed_data::SignedData {
            version: cms::content_info::CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![sha256_alg])
                .map_err(|e| enc("digest algorithms", e))?,
            encap_content_info: cms::signed_data::EncapsulatedContentInfo {
                econtent_type: ID_DATA,
                econtent: None,
            },
            certificates: None,
            crls: None,
            signer_infos: cms::signed_data::SignerInfos(
                SetOfVec::try_from(vec![signer]).map_err(|e| enc("signer infos", e))?,
            ),
        };
        let info = cms::content_info::ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data).map_err(|e| enc("SignedData", e))?,
        };
        info.to_der().map_err(|e| enc("ContentInfo", e))
    }

    /// Signs loader `insns` and hashes `blob`, the loader map's value.
    pub fn sign_loader(&self, insns: &[u8], blob: &[u8]) -> Result<Signed, SignError> {
        Ok(Signed {
            signature: self.sign(insns)?,
            loader_sha256: sha256(insns),
            blob_sha256: blob_sha256(blob),
            ctx_overrides: false,
        })
    }
}

/// A name for key algorithm `oid`.
fn alg_name(oid: &ObjectIdentifier) -> String {
    let s = oid.to_string();
    match KNOWN_KEY_ALGS.iter().find(|(o, _)| *o == s) {
        Some((_, name)) => format!("{name} ({s})"),
        None => format!("algorithm {s}"),
    }
}

fn parse_key(pem: &[u8]) -> Result<RsaPrivateKey, SignError> {
    let bad = |what: String| SignError::Key { what };
    let (label, der) = der::pem::decode_vec(pem).map_err(|e| {
        bad(format!(
            "not a PEM private key (`-----BEGIN PRIVATE KEY-----`): {e}"
        ))
    })?;
    match label {
        "PRIVATE KEY" => {
            let info = rsa::pkcs8::PrivateKeyInfo::from_der(&der)
                .map_err(|e| bad(format!("malformed PKCS#8 private key: {e}")))?;
            if info.algorithm.oid != RSA_ENCRYPTION {
                return Err(SignError::KeyType {
                    algorithm: alg_name(&info.algorithm.oid),
                });
            }
            RsaPrivateKey::try_from(info)
                .map_err(|e| bad(format!("malformed RSA private key: {e}")))
        }
        "RSA PRIVATE KEY" => RsaPrivateKey::from_pkcs1_der(&der)
            .map_err(|e| bad(format!("malformed PKCS#1 RSA private key: {e}"))),
        "EC PRIVATE KEY" => Err(SignError::KeyType {
            algorithm: "EC (ECDSA)".into(),
        }),
        "ENCRYPTED PRIVATE KEY" => Err(bad(
            "the key is encrypted; give an unencrypted copy (`openssl pkey -in key.pem -out plain.pem`) kept out of the source tree"
                .into(),
        )),
        other => Err(bad(format!(
            "a PEM `{other}` block, not a private key (`PRIVATE KEY` or `RSA PRIVATE KEY`)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_hash_pads_to_eight() {
        let blob = [1u8, 2, 3];
        let mut padded = blob.to_vec();
        padded.resize(8, 0);
        assert_eq!(blob_sha256(&blob), sha256(&padded));
        let even = [7u8; 16];
        assert_eq!(blob_sha256(&even), sha256(&even));
    }

    #[test]
    fn refuses_what_is_not_a_key() {
        let e = Signer::from_pem(b"hello", b"").unwrap_err();
        assert!(matches!(e, SignError::Key { .. }), "{e}");
        let ec = b"-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
        let e = Signer::from_pem(ec, b"").unwrap_err();
        assert!(matches!(e, SignError::KeyType { .. }), "{e}");
        assert!(e.to_string().contains("RSA"), "{e}");
    }
}
