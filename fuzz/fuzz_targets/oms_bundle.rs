//! Any bytes as an OMS bundle: the bundle, its statement (v1.0 and model_signing 0.1/0.2's),
//! the certificates it carries and the chain check over them parse or are rejected, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelsec::signing::{bundle, x509};

fuzz_target!(|data: &[u8]| {
    let _ = bundle::parse_statement(data);
    let _ = x509::Cert::from_der(data, "fuzz");
    if let Ok(b) = bundle::parse_bundle(data) {
        let _ = bundle::parse_statement(&b.payload);
        let _ = bundle::pae_compat(&b.payload_type, &b.payload);
        if let bundle::Material::Chain(ders) = &b.material {
            let certs: Vec<x509::Cert> = ders
                .iter()
                .filter_map(|d| x509::Cert::from_der(d, "fuzz").ok())
                .collect();
            if !certs.is_empty() {
                let _ = x509::verify_chain(&certs, &certs[1..], std::time::SystemTime::now());
            }
        }
    }
});
