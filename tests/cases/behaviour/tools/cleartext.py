"""The cleartext-password scenario of scenarios.py: logins whose password crosses the wire in
the clear (HTTP Basic, FTP, POP3, IMAP, SMTP AUTH, Telnet typed key by key), and logins that
must stay quiet."""
import base64

from traffic import Session


# --- cleartext passwords -------------------------------------------------------------------

def scenario_cleartext(s):
    """Logins whose password crosses the wire in the clear, each a different protocol and shape
    (lines split across segments, CRLF or LF): to the internet (medium) and inside (low); and
    the same protocols done safely (STARTTLS first, anonymous web, no PASS), which raise
    nothing."""
    rng, net = s.rng, s.net
    user = rng.choice(["tanaka", "suzuki.k", "office-admin", "keiri01"])
    pw = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(10))
    eol = rng.choice([b"\r\n", b"\n"])

    def login(client, server, port, lines, split=False):
        sess = Session(s.cap, s.t, client, s.eport(), server, port).handshake()
        sess.reply(b"220 ready" + eol, 0.02)
        for line in lines:
            data = line + eol
            if split and len(data) > 4:
                cut = rng.randint(1, len(data) - 1)
                sess.send(data[:cut], 0.01).send(data[cut:], 0.005)
            else:
                sess.send(data, 0.01)
            sess.reply(b"331 ok" + eol, 0.02)
        sess.close(0.05)
        s.t += rng.uniform(2, 30)

    pc = net.internal()
    u, p = user.encode(), pw.encode()
    kind = rng.choice(["ftp", "pop3", "imap", "smtp_plain", "smtp_login", "http"])
    out_srv = net.external()
    if kind == "ftp":
        login(pc, out_srv, 21, [b"USER " + u, b"PASS " + p], split=True)
    elif kind == "pop3":
        login(pc, out_srv, 110, [b"USER " + u, b"PASS " + p], split=True)
    elif kind == "imap":
        login(pc, out_srv, 143, [b"a1 LOGIN " + u + b" " + p])
    elif kind == "smtp_plain":
        login(pc, out_srv, 587, [b"EHLO pc", b"AUTH PLAIN " + base64.b64encode(b"\0" + u + b"\0" + p)])
    elif kind == "smtp_login":
        login(pc, out_srv, 25, [b"EHLO pc", b"AUTH LOGIN", base64.b64encode(u), base64.b64encode(p)])
    else:
        sess = Session(s.cap, s.t, pc, s.eport(), out_srv, 80).handshake()
        sess.send(b"GET /admin/ HTTP/1.1\r\nHost: shop.example.jp\r\nAuthorization: Basic %s\r\n\r\n"
                  % base64.b64encode(u + b":" + p), 0.01)
        sess.reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0.05).close(0.1)
        s.t += rng.uniform(2, 30)
    s.want("cleartext_out", pc, out_srv)
    s.cleartext = (kind, user, pw)
    # Inside: a scanner-to-NAS FTP login (low).
    nas = net.internal()
    scanner = net.internal() if rng.random() < 0.5 else pc
    login(scanner, nas, 21, [b"USER scan", b"PASS " + p])
    s.want("cleartext_in", scanner, nas)
    # Telnet: a user typing a login at a switch or a remote host's prompt, key by key (each
    # key echoed) or line by line, with option negotiation around and inside.
    tuser = rng.choice(["admin", "cisco", "operator", "yamada"])
    tpw = "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(10))
    tsrv = net.external() if rng.random() < 0.5 else net.internal()
    tpc = net.internal()
    _telnet_login(s, tpc, tsrv, tuser, tpw)
    s.want("cleartext_in" if tsrv.startswith(net.lan) else "cleartext_out", tpc, tsrv)
    s.telnet = (tuser, tpw)
    # Telnet without a password: a menu that asks for none, and a login prompt left unanswered.
    _telnet_login(s, net.internal(), net.internal(), tuser, None)
    _telnet_login(s, pc, net.external(), "", None)
    # Done safely: STARTTLS before AUTH, FTP over TLS, USER without PASS, HTTP without a login.
    login(pc, net.external(), 587, [b"EHLO pc", b"STARTTLS", b"AUTH PLAIN " + base64.b64encode(b"\0x\0y")])
    login(pc, net.external(), 21, [b"AUTH TLS", b"USER " + u, b"PASS " + p])
    login(pc, net.external(), 110, [b"USER " + u, b"QUIT"])
    sess = Session(s.cap, s.t, pc, s.eport(), net.external(), 80).handshake()
    sess.send(b"GET / HTTP/1.1\r\nHost: www.example.jp\r\nAuthorization: Bearer abc\r\n\r\n", 0.01)
    sess.reply(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0.05).close(0.1)


IAC, WILL, WONT, DO, DONT, SB, SE = 255, 251, 252, 253, 254, 250, 240


def _telnet_login(s, client, server, user, password):
    """A Telnet session: option negotiation, a banner and login prompt (sometimes split across
    segments), the user typed key by key (each echoed, a typo corrected with DEL or BS, an IAC
    command among the keys) or as one line, then the password prompt and the password (not
    echoed), ended by CR NUL or CR LF. With `password` None the server asks for none (a menu),
    or, when `user` is empty, the client leaves at the login prompt."""
    rng = s.rng
    sess = Session(s.cap, s.t, client, s.eport(), server, 23).handshake()
    sess.reply(bytes([IAC, DO, 24, IAC, WILL, 1, IAC, WILL, 3, IAC, DO, 31]), 0.01)
    sess.send(bytes([IAC, WILL, 24, IAC, DO, 1, IAC, DO, 3, IAC, WILL, 31, IAC, SB, 31, 0, 80, 0,
                     24, IAC, SE]), 0.01)
    sess.reply(bytes([IAC, SB, 24, 1, IAC, SE]), 0.01)
    sess.send(bytes([IAC, SB, 24, 0]) + b"XTERM" + bytes([IAC, SE]), 0.01)
    enter = rng.choice([b"\r\0", b"\r\n"])
    keys = rng.random() < 0.7  # character at a time
    if password is None and user:
        sess.reply(b"\r\nWelcome. 1) Status 2) Exit\r\nChoice: ", 0.05)
        for k in b"2" + enter:
            sess.send(bytes([k]), rng.uniform(0.1, 0.5))
        sess.close(0.1)
        s.t += rng.uniform(2, 30)
        return
    prompt = rng.choice([b"\r\nDebian GNU/Linux 12\r\nhost%d login: " % rng.randint(1, 99),
                         b"\r\n\r\nUser Access Verification\r\n\r\nUsername: "])
    cut = rng.randint(1, len(prompt) - 1)
    sess.reply(prompt[:cut], 0.05).reply(prompt[cut:], 0.001)
    if not user:
        sess.close(rng.uniform(1, 5))
        s.t += rng.uniform(2, 30)
        return

    def typed(text, echo):
        if not keys:
            sess.send(text.encode() + enter, rng.uniform(0.5, 3))
            if echo:
                sess.reply(text.encode() + b"\r\n", 0.01)
            return
        typo = rng.randint(0, len(text)) if rng.random() < 0.5 else -1
        nop = rng.randint(0, len(text)) if rng.random() < 0.5 else -1
        for i, ch in enumerate(text.encode()):
            if i == typo:
                sess.send(b"x", rng.uniform(0.05, 0.4))
                if echo:
                    sess.reply(b"x", 0.005)
                sess.send(rng.choice([b"\x7f", b"\x08"]), rng.uniform(0.05, 0.4))
                if echo:
                    sess.reply(b"\x08 \x08", 0.005)
            if i == nop:
                sess.send(bytes([IAC, 241]), rng.uniform(0.05, 0.4))
            sess.send(bytes([ch]), rng.uniform(0.05, 0.4))
            if echo:
                sess.reply(bytes([ch]), 0.005)
        sess.send(enter, rng.uniform(0.05, 0.4))
        if echo:
            sess.reply(b"\r\n", 0.005)

    typed(user, True)
    sess.reply(b"Password: ", 0.05)
    typed(password, False)
    if rng.random() < 0.5:
        sess.reply(b"\r\nLast login: Mon Dec  7 09:12:01 2026 from 10.0.0.5\r\n$ ", 0.5)
        typed("exit", True)
    else:
        sess.reply(b"\r\nLogin incorrect\r\n" + prompt.lstrip(b"\r\n"), 1.5)
    sess.close(0.1)
    s.t += rng.uniform(2, 30)
