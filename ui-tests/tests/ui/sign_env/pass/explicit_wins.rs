// Run with LSKEL_SIGNING_KEY = the test key (absolute) and LSKEL_SIGNING_CERT = a certificate of
// another key: the certificate written in the call wins over the variable, the key comes from it.
lskel::bpf_skeleton!("../tests/bpf/counter.bpf.o", sign(cert = "keys/test-only-cert.pem"));

fn main() {
    assert!(counter::SIGNED);
    let signing = counter::signing().unwrap();
    assert_eq!(signing.signature[0], 0x30);
    assert!(!signing.ctx_overrides);
}
