//! Message digests for `States.Hash` (MD5, SHA-1, SHA-256, SHA-384, SHA-512): data fingerprints inside
//! workflows, exactly what Step Functions offers, not security decisions.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

pub(crate) fn hex_digest(algorithm: &str, data: &[u8]) -> Option<String> {
    let bytes = match algorithm {
        "MD5" => Md5::digest(data).to_vec(),
        "SHA-1" => Sha1::digest(data).to_vec(),
        "SHA-256" => Sha256::digest(data).to_vec(),
        "SHA-384" => Sha384::digest(data).to_vec(),
        "SHA-512" => Sha512::digest(data).to_vec(),
        _ => return None,
    };
    Some(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::hex_digest;

    #[test]
    fn known_vectors() {
        let h = |a: &str, d: &str| hex_digest(a, d.as_bytes()).expect("known algorithm");
        assert_eq!(h("MD5", ""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(h("MD5", "abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(h("SHA-1", "abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            h("SHA-256", "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            h(
                "SHA-256",
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            ),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            h("SHA-384", "abc"),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        );
        assert_eq!(
            h("SHA-512", "abc"),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        let long = "a".repeat(1000);
        assert_eq!(h("SHA-1", &long), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
        assert!(hex_digest("SHA-3", b"x").is_none());
    }
}
