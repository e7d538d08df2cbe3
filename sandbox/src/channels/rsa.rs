//! SHA256withRSA (PKCS#1 v1.5, base64 signatures), the scheme of WeChat Pay v3
//! (`WECHATPAY2-SHA256-RSA2048`) and of Alipay's `RSA2`. Keys travel as PEM: private
//! keys PKCS#8 (`PRIVATE KEY`), public keys SubjectPublicKeyInfo (`PUBLIC KEY`).
//! Alipay's console also hands out public keys as bare base64 DER, accepted as well.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM {expected}: {reason}")]
    Pem {
        expected: &'static str,
        reason: String,
    },
    #[error("not an RSA key of 2048 bits or more: {0}")]
    Rsa(String),
}

/// A private key that signs. Its `Debug` shows nothing of the key.
pub struct PrivateKey(KeyPair);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

impl PrivateKey {
    /// A new 2048-bit key, for the fakes and the demo (real keys come from files).
    pub fn generate() -> Result<Self, KeyError> {
        KeyPair::generate(KeySize::Rsa2048)
            .map(PrivateKey)
            .map_err(|e| KeyError::Rsa(e.to_string()))
    }

    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let block = pem::parse(text.trim()).map_err(|e| KeyError::Pem {
            expected: "PRIVATE KEY",
            reason: e.to_string(),
        })?;
        if block.tag() != "PRIVATE KEY" {
            return Err(KeyError::Pem {
                expected: "PRIVATE KEY",
                reason: format!("found {} (convert it to PKCS#8)", block.tag()),
            });
        }
        KeyPair::from_pkcs8(block.contents())
            .map(PrivateKey)
            .map_err(|e| KeyError::Rsa(e.to_string()))
    }

    pub fn to_pem(&self) -> Result<String, KeyError> {
        let der: Pkcs8V1Der = self.0.as_der().map_err(|e| KeyError::Rsa(e.to_string()))?;
        Ok(pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref())))
    }

    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        let der: PublicKeyX509Der = self
            .0
            .public_key()
            .as_der()
            .map_err(|e| KeyError::Rsa(e.to_string()))?;
        Ok(PublicKey(der.as_ref().to_vec()))
    }

    /// The base64 SHA256withRSA signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<String, KeyError> {
        let mut signature = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|e| KeyError::Rsa(e.to_string()))?;
        Ok(BASE64.encode(signature))
    }
}

/// A public key that verifies (SubjectPublicKeyInfo DER).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(Vec<u8>);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PublicKey(..)")
    }
}

impl PublicKey {
    /// A `PUBLIC KEY` PEM block, or the bare base64 of its DER.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let der = if text.starts_with("-----BEGIN") {
            let block = pem::parse(text).map_err(|e| KeyError::Pem {
                expected: "PUBLIC KEY",
                reason: e.to_string(),
            })?;
            if block.tag() != "PUBLIC KEY" {
                return Err(KeyError::Pem {
                    expected: "PUBLIC KEY",
                    reason: format!("found {}", block.tag()),
                });
            }
            block.into_contents()
        } else {
            let bare: String = text.split_whitespace().collect();
            BASE64.decode(bare).map_err(|e| KeyError::Pem {
                expected: "PUBLIC KEY",
                reason: e.to_string(),
            })?
        };
        let key = PublicKey(der);
        // A key that cannot verify anything is refused when it is loaded, not later.
        aws_lc_rs::rsa::PublicEncryptingKey::from_der(&key.0)
            .map_err(|e| KeyError::Rsa(e.to_string()))?;
        Ok(key)
    }

    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PUBLIC KEY", self.0.clone()))
    }

    /// Whether `signature` (base64) is a SHA256withRSA signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &str) -> bool {
        let Ok(signature) = BASE64.decode(signature.trim()) else {
            return false;
        };
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.0)
            .verify(message, &signature)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_its_key_only() {
        let key = PrivateKey::generate().unwrap();
        let other = PrivateKey::generate().unwrap();
        let signature = key.sign(b"GET\n/v3/certificates\n").unwrap();
        let public = key.public_key().unwrap();
        assert!(public.verify(b"GET\n/v3/certificates\n", &signature));
        assert!(!public.verify(b"GET\n/v3/certificates\n\n", &signature));
        assert!(
            !other
                .public_key()
                .unwrap()
                .verify(b"GET\n/v3/certificates\n", &signature)
        );
        assert!(!public.verify(b"GET\n/v3/certificates\n", "not base64!"));
    }

    #[test]
    fn keys_survive_pem_both_ways_and_bare_base64() {
        let key = PrivateKey::generate().unwrap();
        let again = PrivateKey::from_pem(&key.to_pem().unwrap()).unwrap();
        let public = PublicKey::from_pem(&key.public_key().unwrap().to_pem()).unwrap();
        assert!(public.verify(b"m", &again.sign(b"m").unwrap()));
        let bare: String = public
            .to_pem()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert_eq!(PublicKey::from_pem(&bare).unwrap(), public);
        // A public key is not a private key, and garbage is neither.
        assert!(PrivateKey::from_pem(&public.to_pem()).is_err());
        assert!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
                .is_err()
        );
    }
}
