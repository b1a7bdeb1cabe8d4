//! Example: count packets with an XDP and a tc program on a veth pair.
//!
//! Creates two network namespaces joined by a veth pair (`lskel_tests::netns`: `ip netns add`, `ip
//! link add ... type veth`), attaches `SEC("xdp")` with `lskel::attach::xdp` and `SEC("tc")` with a
//! tcx ingress link (`lskel::attach::tcx`) to the receiving end, sends UDP datagrams from the other
//! end, checks both programs counted them, and removes the namespaces (also on failure).
//! Run as root: `cargo run -p lskel-tests --example pktcount`

use std::net::UdpSocket;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use lskel::attach::{self, TcxDirection};
use lskel_tests::netns::{try_in_netns as in_netns, VethPair};

lskel::bpf_skeleton!("bpf/ex_pktcount.bpf.o");

const PACKETS: u64 = 20;
const PAYLOAD: &[u8] = b"lskel pktcount";

fn main() -> ExitCode {
    // Without root: say why and stop (a failure under LSKEL_REQUIRE_KERNEL=1, as in CI).
    if !lskel_tests::kernel_available() {
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pktcount: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let skel = ex_pktcount::open().load()?;
    let pid = std::process::id();
    // Namespaces `tx` (veth `pk0`, 10.203.0.1) and `rx` (veth `pk1`, 10.203.0.2).
    let pair = VethPair::new(
        [format!("lskel_pk_tx_{pid}"), format!("lskel_pk_rx_{pid}")],
        ["pk0", "pk1"],
        ["10.203.0.1", "10.203.0.2"],
    )?;
    let (tx, rx_ns) = (&pair.a, &pair.b);
    let p = skel.progs();
    let (xdp, tc) = (p.count_xdp().unwrap(), p.count_tc().unwrap());
    let links = in_netns(rx_ns, || -> lskel::Result<_> {
        let pk1 = attach::ifindex("pk1")?;
        Ok((
            attach::xdp(xdp, pk1, 0)?,
            attach::tcx(tc, pk1, TcxDirection::Ingress)?,
        ))
    })??;
    println!("attached xdp and tcx ingress to pk1 in netns {rx_ns}");

    // Bind the receiver so the datagrams are delivered, not answered with ICMP errors.
    let rx = in_netns(rx_ns, || UdpSocket::bind("10.203.0.2:4789"))??;
    in_netns(tx, || -> std::io::Result<()> {
        let s = UdpSocket::bind("10.203.0.1:0")?;
        for _ in 0..PACKETS {
            s.send_to(PAYLOAD, "10.203.0.2:4789")?;
        }
        Ok(())
    })??;
    rx.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut got = 0;
    let mut buf = [0u8; 64];
    while got < PACKETS {
        rx.recv(&mut buf)?;
        got += 1;
    }

    // The counters include the ARP exchange (and any IPv6 neighbour traffic) on pk1.
    let deadline = Instant::now() + Duration::from_secs(2);
    let b = skel.bss();
    while (b.xdp_packets() < PACKETS || b.tc_packets() < PACKETS) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (xp, xb, tp, tb) = (b.xdp_packets(), b.xdp_bytes(), b.tc_packets(), b.tc_bytes());
    println!(
        "sent {PACKETS} UDP datagrams of {} bytes, received {got}",
        PAYLOAD.len()
    );
    println!("xdp: {xp} packets, {xb} bytes");
    println!("tc:  {tp} packets, {tb} bytes");
    drop(links);
    drop(pair);
    // Each datagram is at least 14 (Ethernet) + 20 (IPv4) + 8 (UDP) + payload bytes.
    let min_bytes = PACKETS * (42 + PAYLOAD.len() as u64);
    if xp < PACKETS || tp < PACKETS || xb < min_bytes || tb < min_bytes {
        return Err(format!(
            "expected at least {PACKETS} packets and {min_bytes} bytes on both counters"
        )
        .into());
    }
    println!("ok: both programs saw every datagram");
    Ok(())
}
