"""The ordinary-office scenario of scenarios.py: hours of a small office's traffic that must
raise no behaviour alert of medium or higher severity."""
from traffic import (Session, dns_answer, dns_query, http_download, smb2, smb2_tree_connect,
                     tls_app_data, tls_client_hello, tls_server_hello)


# --- an ordinary office ----------------------------------------------------------------------

def scenario_office(s, hours=3):
    """Several hours of a 20-PC office: SaaS and cloud TLS, Windows and Office updates, printing,
    file shares on the LAN, an intranet with Windows sign-in, a video call, NTP, mDNS/SSDP/LLMNR/NetBIOS broadcasts, a cloud
    backup, a VPN, DNS, and an administrator's SSH session to the server."""
    rng, net = s.rng, s.net
    start, end = s.t, s.t + hours * 3600
    pcs = [net.internal() for _ in range(20)]
    fs, dc, printer, nas, intranet, gw = (net.internal(), net.internal(), net.internal(),
                                          net.internal(), net.internal(), net.gateway())
    saas = {n: net.external() for n in [
        "outlook.office365.com", "teams.microsoft.com", "www.google.com", "drive.google.com",
        "app.slack.com", "zoom.us", "www.dropbox.com", "login.microsoftonline.com",
        "www.yahoo.co.jp", "api.line.me", "s3.ap-northeast-1.amazonaws.com",
        "ctldl.windowsupdate.com", "officecdn.microsoft.com", "www.freee.co.jp"]}
    names = list(saas)

    def dns(t, pc, name):
        ident = rng.randint(0, 65535)
        p = s.eport()
        s.cap.udp(t, pc, p, gw, 53, dns_query(ident, name))
        s.cap.udp(t + 0.005, gw, 53, pc, p, dns_answer(ident, name, saas.get(name, "1.1.1.1")))

    def tls(t, pc, name, up, down):
        dns(t, pc, name)
        sess = Session(s.cap, t + 0.01, pc, s.eport(), saas[name], 443).handshake()
        sess.send(tls_client_hello(name, rng), 0.01).reply(tls_server_hello(rng), 0.03)
        sess.send(tls_app_data(up, rng), 0.05).reply(tls_app_data(down, rng), 0.05)
        sess.close(rng.uniform(0.1, 30))

    for pc in pcs:
        t = start + rng.uniform(0, 600)
        while t < end:
            kind = rng.random()
            if kind < 0.55:
                tls(t, pc, rng.choice(names), rng.randint(200, 3000), rng.randint(500, 40000))
            elif kind < 0.75:  # the file server and the domain controller
                srv = fs if rng.random() < 0.7 else dc
                sess = Session(s.cap, t, pc, s.eport(), srv, 445).handshake()
                sess.send(smb2(0), 0.01).reply(smb2(0), 0.01)
                sess.send(smb2(1), 0.01).reply(smb2(1, status=0), 0.01)
                sess.send(smb2_tree_connect("\\\\fs\\share"), 0.02).reply(smb2(3), 0.01)
                sess.send(bytes(rng.getrandbits(8) for _ in range(rng.randint(100, 5000))), 1)
                sess.reply(bytes(rng.getrandbits(8) for _ in range(rng.randint(100, 20000))), 0.1)
                sess.close(rng.uniform(1, 60))
            elif kind < 0.8:  # printing
                sess = Session(s.cap, t, pc, s.eport(), printer, 9100).handshake()
                sess.send(b"\x1b%-12345X@PJL JOB\r\n" + bytes(rng.getrandbits(8) for _ in range(
                    rng.randint(2000, 30000))), 0.1).close(1)
            elif kind < 0.82:  # the intranet, with Windows sign-in (a 401 challenge each time)
                sess = Session(s.cap, t, pc, s.eport(), intranet, 80).handshake()
                sess.send(b"GET /portal/ HTTP/1.1\r\nHost: intranet\r\n\r\n", 0.01)
                sess.reply(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Negotiate\r\n"
                           b"WWW-Authenticate: NTLM\r\nContent-Length: 0\r\n\r\n", 0.01)
                sess.send(b"GET /portal/ HTTP/1.1\r\nHost: intranet\r\nAuthorization: "
                          b"Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag\r\n\r\n", 0.01)
                page = b"<html>" + b"x" * rng.randint(500, 5000) + b"</html>"
                sess.reply(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                           b"%d\r\n\r\n%s" % (len(page), page), 0.05)
                sess.close(rng.uniform(0.5, 5))
            elif kind < 0.85:  # Windows Update over HTTP
                http_download(s_at(s, t), pc, saas["ctldl.windowsupdate.com"],
                               "/msdownload/update/v3/static/trustedr/en/disallowedcertstl.cab",
                               bytes(rng.getrandbits(8) for _ in range(rng.randint(1000, 20000))),
                               "plain", "ctldl.windowsupdate.com")
            elif kind < 0.95:  # broadcasts and multicast
                s.cap.udp(t, pc, 5353, "224.0.0.251", 5353, dns_query(0, "_ipp._tcp.local", 12))
                s.cap.udp(t + 0.1, pc, s.eport(), "239.255.255.250", 1900,
                          b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n")
                s.cap.udp(t + 0.2, pc, s.eport(), "224.0.0.252", 5355,
                          dns_query(rng.randint(0, 65535), "wpad"))
                s.cap.udp(t + 0.3, pc, 137, "%s.255" % net.lan, 137, b"\x00" * 50)
            else:  # DNS alone
                dns(t, pc, rng.choice(names))
            t += rng.expovariate(1 / 90)
        # NTP every 1024 s
        t = start + rng.uniform(0, 1024)
        while t < end:
            s.cap.udp(t, pc, 123, "133.243.238.164", 123, b"\x23" + b"\x00" * 47)
            t += 1024
    # A video call: an hour of UDP media both ways.
    pc = rng.choice(pcs)
    media = net.external()
    t = start + 1800
    p = s.eport()
    while t < start + 5400:
        s.cap.udp(t, pc, p, media, 3478, bytes(rng.getrandbits(8) for _ in range(200)))
        s.cap.udp(t + 0.01, media, 3478, pc, p, bytes(rng.getrandbits(8) for _ in range(300)))
        t += 0.2
    # A VPN (IPsec NAT-T) with keep-alives every 20 s.
    t, vpn, p = start, net.external(), 4500
    while t < end:
        s.cap.udp(t, gw, p, vpn, 4500, b"\xff")
        t += 20
    # The nightly backup: one long upload to cloud storage.
    sess = Session(s.cap, start + 600, nas, s.eport(),
                   saas["s3.ap-northeast-1.amazonaws.com"], 443).handshake()
    sess.send(tls_client_hello("s3.ap-northeast-1.amazonaws.com", rng), 0.01)
    sess.reply(tls_server_hello(rng), 0.03)
    for _ in range(200):
        sess.send(tls_app_data(60000, rng), 0.5)
    sess.close(1)
    # The administrator's SSH session to the file server.
    admin = pcs[0]
    sess = Session(s.cap, start + 3000, admin, s.eport(), fs, 22).handshake()
    sess.reply(b"SSH-2.0-OpenSSH_9.2p1\r\n", 0.01).send(b"SSH-2.0-OpenSSH_9.2p1\r\n", 0.01)
    for _ in range(60):
        sess.send(bytes(rng.getrandbits(8) for _ in range(rng.randint(36, 200))),
                  rng.uniform(1, 30))
        sess.reply(bytes(rng.getrandbits(8) for _ in range(rng.randint(36, 2000))), 0.05)
    sess.close(1)


def s_at(s, t):
    s.t = t
    return s
