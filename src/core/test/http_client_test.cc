// HttpClient against loopback HTTP and SMTP servers started by the test (ports chosen by the
// OS): statuses and bodies, the response size bound, the time bound, redirects, allowed
// protocols, mail upload; the destination policy (address kinds, allow lists, the check at
// connect time).

#include "mimamori/core/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "mimamori/core/text.h"

namespace mimamori::core {
namespace {

// One connection at a time; the answer depends on the request path.
class LoopbackServer {
 public:
  LoopbackServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::string last_request() const { return last_; }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      last_ = req;
      std::string path = req.substr(req.find(' ') + 1);
      path = path.substr(0, path.find(' '));
      std::string status = "200 OK", headers, body;
      if (path == "/ok") {
        body = "hello";
        headers = "ETag: \"v1\"\r\nRetry-After:  7 \r\n";
      } else if (path == "/big") {
        body.assign(100000, 'x');
      } else if (path == "/redirect") {
        status = "302 Found";
        headers = "Location: /ok\r\n";
        body = "moved";
      } else if (path == "/redirect-to-address") {
        status = "302 Found";
        headers = "Location: http://127.0.0.1:" + std::to_string(port_) + "/ok\r\n";
      } else if (path == "/slow") {
        for (int i = 0; i < 40 && !stop_; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        body = "late";
      } else {
        status = "404 Not Found";
        body = "nope";
      }
      std::string answer = "HTTP/1.1 " + status +
                           "\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\nConnection: close\r\n" + headers + "\r\n" + body;
      (void)!::write(c, answer.data(), answer.size());
      ::close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::string last_;
  std::thread thread_;
};

// A minimal SMTP server: one session, every command accepted, the DATA kept.
class LoopbackSmtp {
 public:
  LoopbackSmtp() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackSmtp() {
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  /// Waits for the session to end; what the client sent, line by line.
  std::string dialogue() {
    thread_.join();
    return dialogue_;
  }

 private:
  void serve() {
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    auto say = [c](std::string_view s) { (void)!::write(c, s.data(), s.size()); };
    say("220 test ESMTP\r\n");
    std::string in;
    char buf[4096];
    bool data = false;
    for (;;) {
      auto nl = in.find("\r\n");
      if (nl == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      std::string line = in.substr(0, nl);
      in.erase(0, nl + 2);
      dialogue_ += line + "\n";
      if (data) {
        if (line == ".") {
          data = false;
          say("250 queued\r\n");
        }
      } else if (line.starts_with("EHLO") || line.starts_with("HELO")) {
        say("250 test\r\n");
      } else if (line == "DATA") {
        data = true;
        say("354 go on\r\n");
      } else if (line == "QUIT") {
        say("221 bye\r\n");
        break;
      } else {
        say("250 ok\r\n");
      }
    }
    ::close(c);
  }

  int fd_ = -1;
  int port_ = 0;
  std::string dialogue_;
  std::thread thread_;
};

HttpClientOptions plain_http() {
  HttpClientOptions o;
  o.protocols = "http";
  o.timeout_s = 10;
  return o;
}

TEST(HttpClient, StatusBodyAndHeaders) {
  LoopbackServer server;
  HttpClient client(plain_http());
  auto ok = client.send({"GET", server.url("/ok"), {"X-Test: 1"}, {}});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "hello");
  EXPECT_EQ(ok->header("etag"), "\"v1\"");
  EXPECT_EQ(ok->header("retry-after"), "7");
  EXPECT_NE(server.last_request().find("X-Test: 1\r\n"), std::string::npos);

  auto missing = client.send({"GET", server.url("/missing"), {}, {}});
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, "nope");
}

TEST(HttpClient, PostSendsTheBody) {
  LoopbackServer server;
  HttpClient client(plain_http());
  auto r = client.send({"POST", server.url("/ok"), {"Content-Type: text/plain"}, "payload"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(server.last_request().find("POST /ok "), std::string::npos);
}

TEST(HttpClient, FailOnHttpErrorNamesTheStatus) {
  LoopbackServer server;
  auto o = plain_http();
  o.fail_on_http_error = true;
  HttpClient client(o);
  auto r = client.send({"GET", server.url("/missing"), {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, static_cast<int>(HttpErrorCode::kHttpStatus));
  EXPECT_NE(r.error().message.find("404"), std::string::npos) << r.error().message;
}

TEST(HttpClient, BodyOverTheBoundIsAnError) {
  LoopbackServer server;
  auto o = plain_http();
  o.max_response_bytes = 1000;
  HttpClient client(o);
  auto r = client.send({"GET", server.url("/big"), {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, static_cast<int>(HttpErrorCode::kTooLarge));
  EXPECT_NE(r.error().message.find("larger than 1000 bytes"), std::string::npos)
      << r.error().message;
  o.max_response_bytes = 100000;  // exactly the size: accepted
  HttpClient roomy(o);
  auto fits = roomy.send({"GET", server.url("/big"), {}, {}});
  ASSERT_TRUE(fits.ok()) << fits.error().message;
  EXPECT_EQ(fits->body.size(), 100000u);
}

TEST(HttpClient, TimeoutIsAnError) {
  LoopbackServer server;
  auto o = plain_http();
  o.timeout_s = 1;
  HttpClient client(o);
  auto t0 = std::chrono::steady_clock::now();
  auto r = client.send({"GET", server.url("/slow"), {}, {}});
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, static_cast<int>(HttpErrorCode::kTransport));
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST(HttpClient, RedirectIsNotFollowedWhenOff) {
  LoopbackServer server;
  HttpClient client(plain_http());
  auto r = client.send({"GET", server.url("/redirect"), {}, {}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(r->body, "moved");

  auto o = plain_http();
  o.follow_redirects = true;
  HttpClient following(o);
  auto f = following.send({"GET", server.url("/redirect"), {}, {}});
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->status, 200);
  EXPECT_EQ(f->body, "hello");
}

TEST(HttpClient, ProtocolNotAllowedIsRefused) {
  LoopbackServer server;
  HttpClientOptions o;  // https only
  HttpClient client(o);
  auto r = client.send({"GET", server.url("/ok"), {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("GET http://127.0.0.1"), std::string::npos) << r.error().message;
}

TEST(HttpClient, MailIsUploadedOverSmtp) {
  HttpClientOptions o;
  o.protocols = "smtp";
  o.timeout_s = 10;
  LoopbackSmtp server;
  std::string dialogue;
  {
    HttpClient client(o);  // closing it ends the SMTP session (QUIT)
    std::string message = "Subject: test\r\n\r\nhello\r\n";
    auto r = client.send_mail({server.url(), "<a@example.jp>", {"<b@example.jp>"}, message});
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  dialogue = server.dialogue();
  EXPECT_NE(dialogue.find("MAIL FROM:<a@example.jp>"), std::string::npos) << dialogue;
  EXPECT_NE(dialogue.find("RCPT TO:<b@example.jp>"), std::string::npos) << dialogue;
  EXPECT_NE(dialogue.find("Subject: test\n\nhello\n.\n"), std::string::npos) << dialogue;
}

// Every kind of address that must never count as public, in each of its forms.
TEST(DestinationPolicy, NonPublicAddressesAreNamed) {
  const std::vector<std::pair<std::string, std::string>> kCases = {
      {"0.0.0.0", "unspecified"},
      {"0.1.2.3", "this network"},
      {"10.0.0.1", "private"},
      {"100.64.0.1", "CGNAT"},
      {"100.127.255.254", "CGNAT"},
      {"127.0.0.1", "loopback"},
      {"127.255.255.254", "loopback"},
      {"169.254.169.254", "link-local"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"192.0.0.8", "IETF"},
      {"192.0.2.1", "documentation"},
      {"192.88.99.1", "6to4"},
      {"192.168.1.1", "private"},
      {"198.18.0.1", "benchmarking"},
      {"198.19.255.255", "benchmarking"},
      {"198.51.100.7", "documentation"},
      {"203.0.113.9", "documentation"},
      {"224.0.0.1", "multicast"},
      {"239.255.255.250", "multicast"},
      {"240.0.0.1", "reserved"},
      {"255.255.255.255", "broadcast"},
      {"::", "unspecified"},
      {"::1", "loopback"},
      {"::ffff:127.0.0.1", "loopback (IPv4-mapped)"},
      {"::ffff:169.254.169.254", "link-local (169.254.0.0/16, cloud metadata) (IPv4-mapped)"},
      {"::ffff:10.1.2.3", "private"},
      {"::ffff:0.0.0.0", "unspecified"},
      {"::127.0.0.1", "IPv4-compatible"},
      {"64:ff9b::7f00:1", "loopback (through NAT64)"},
      {"64:ff9b:1::1", "local-use NAT64"},
      {"2002:a9fe:a9fe::1", "link-local (169.254.0.0/16, cloud metadata) (through 6to4)"},
      {"fc00::1", "unique-local"},
      {"fd12:3456::1", "unique-local"},
      {"fe80::1", "link-local"},
      {"febf::1", "link-local"},
      {"fec0::1", "site-local"},
      {"ff02::1", "multicast"},
      {"100::1", "discard-only"},
      {"2001:db8::1", "documentation"},
      {"3fff::1", "documentation"},
      {"2001:2::1", "benchmarking"},
      {"2001:0:4136:e378::1", "Teredo"},
      {"4000::1", "outside global unicast"},
  };
  for (const auto& [text, kind] : kCases) {
    auto a = IpAddress::parse(text);
    ASSERT_TRUE(a.ok()) << text;
    std::string got = non_public_kind(*a);
    EXPECT_NE(got.find(kind), std::string::npos) << text << " → '" << got << "'";
  }
}

TEST(DestinationPolicy, PublicAddressesAreNotNamed) {
  for (std::string text : {"1.1.1.1",          "8.8.8.8",         "9.255.255.255",
                           "11.0.0.1",         "100.63.255.255",  "100.128.0.1",
                           "126.255.255.255",  "128.0.0.1",       "169.253.1.1",
                           "172.15.255.255",   "172.32.0.1",      "192.0.1.1",
                           "192.167.1.1",      "192.169.0.1",     "198.17.255.255",
                           "198.20.0.1",       "223.255.255.255", "2001:4860:4860::8888",
                           "2606:4700::1111",  "2400:cb00::1",    "::ffff:8.8.8.8",
                           "64:ff9b::808:808", "2002:808:808::1"}) {
    auto a = IpAddress::parse(text);
    ASSERT_TRUE(a.ok()) << text;
    EXPECT_EQ(non_public_kind(*a), "") << text;
  }
}

TEST(DestinationPolicy, AllowListNamesNetworksAndHosts) {
  auto p =
      DestinationPolicy::parse({"127.0.0.1", "10.0.0.0/8", " fd00::/8 ", "::ffff:192.168.0.0/112",
                                "[::1]", "Relay.Example.JP.", "172.16.9.9/12"},
                               "notify.allow_destinations");
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto ip = [](const char* t) { return *IpAddress::parse(t); };
  EXPECT_EQ(p->check("x", ip("127.0.0.1")), "");
  EXPECT_EQ(p->check("x", ip("::ffff:127.0.0.1")), "");  // the mapped form reaches the same
  EXPECT_NE(p->check("x", ip("127.0.0.2")), "");
  EXPECT_EQ(p->check("x", ip("10.200.1.1")), "");
  EXPECT_EQ(p->check("x", ip("fd00:1::5")), "");
  EXPECT_NE(p->check("x", ip("fc00::5")), "");
  EXPECT_EQ(p->check("x", ip("192.168.3.4")), "");  // a mapped network is an IPv4 one
  EXPECT_EQ(p->check("x", ip("::1")), "");
  EXPECT_EQ(p->check("x", ip("172.20.0.1")), "");  // host bits in an entry: its network
  EXPECT_EQ(p->check("relay.example.jp", ip("192.0.2.5")), "");
  EXPECT_EQ(p->check("RELAY.example.jp.", ip("169.254.169.254")), "");
  EXPECT_EQ(p->check("8.8.8.8", ip("8.8.8.8")), "");  // public needs no entry
  std::string why = p->check("metadata.internal", ip("169.254.169.254"));
  EXPECT_NE(why.find("169.254.169.254 is link-local"), std::string::npos) << why;
  EXPECT_NE(why.find("only public addresses are allowed"), std::string::npos) << why;
  EXPECT_NE(why.find("or the host name metadata.internal"), std::string::npos) << why;
  EXPECT_NE(why.find("notify.allow_destinations"), std::string::npos) << why;
  // Nothing allowed: everything non-public is refused.
  auto none = DestinationPolicy::parse({}, "x");
  ASSERT_TRUE(none.ok());
  EXPECT_NE(none->check("localhost", ip("::1")), "");
  EXPECT_NE(none->check("", ip("::ffff:10.0.0.1")), "");
  EXPECT_EQ(none->check("", ip("203.0.112.1")), "");
}

TEST(DestinationPolicy, BadEntriesAreErrorsNamingThem) {
  for (std::string bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "http://a.example",
                          "a.example/8", "a b", "*", "", "..", "1.2.3"}) {
    auto p = DestinationPolicy::parse({bad}, "x");
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_NE(p.error().message.find(fmt::format("'{}'", trim(bad))), std::string::npos)
        << p.error().message;
  }
}

TEST(DestinationPolicy, UrlHost) {
  EXPECT_EQ(url_host("https://Hooks.Example.com./a?b"), "hooks.example.com");
  EXPECT_EQ(url_host("http://user:pw@[::1]:8080/x"), "::1");
  EXPECT_EQ(url_host("smtp://127.0.0.1:25"), "127.0.0.1");
  EXPECT_EQ(url_host("not a url"), "");
}

HttpClientOptions guarded(std::vector<std::string> allow) {
  auto o = plain_http();
  auto p = DestinationPolicy::parse(allow, "test.allow");
  EXPECT_TRUE(p.ok());
  o.destinations = std::move(*p);
  return o;
}

TEST(HttpClient, DestinationPolicyIsCheckedOnTheAddressConnectedTo) {
  LoopbackServer server;
  // By address and by a name that resolves to loopback: refused, and nothing reached it.
  for (std::string url : {server.url("/ok"), "http://localhost:" + server.url("/ok").substr(17)}) {
    HttpClient client(guarded({}));
    auto r = client.send({"GET", url, {}, {}});
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.error().code, static_cast<int>(HttpErrorCode::kRefused)) << r.error().message;
    EXPECT_NE(r.error().message.find("is loopback"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("test.allow"), std::string::npos) << r.error().message;
    EXPECT_EQ(server.last_request(), "") << url;
  }
  // Allowed by network, then by host name.
  for (auto allow : {std::vector<std::string>{"127.0.0.0/8"}, {"localhost"}}) {
    HttpClient client(guarded(allow));
    auto url = "http://localhost:" + server.url("/ok").substr(17);
    auto r = client.send({"GET", url, {}, {}});
    ASSERT_TRUE(r.ok()) << allow[0] << ": " << r.error().message;
    EXPECT_EQ(r->body, "hello");
  }
  // A host name allowance is not an address allowance.
  HttpClient by_name(guarded({"localhost"}));
  auto r = by_name.send({"GET", server.url("/ok"), {}, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, static_cast<int>(HttpErrorCode::kRefused));
  // A followed redirect is judged by the URL it leads to: the name allowed no longer applies.
  auto follow = guarded({"localhost"});
  follow.follow_redirects = true;
  HttpClient following(follow);
  auto moved = following.send(
      {"GET", "http://localhost:" + server.url("/redirect-to-address").substr(17), {}, {}});
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().code, static_cast<int>(HttpErrorCode::kRefused)) << moved.error().message;
  EXPECT_NE(server.last_request().find("GET /redirect-to-address"), std::string::npos);
  // Without a policy, anything goes (uplink, rule updates).
  HttpClient open(plain_http());
  EXPECT_TRUE(open.send({"GET", server.url("/ok"), {}, {}}).ok());
}

TEST(HttpClient, DestinationPolicyCoversMail) {
  HttpClientOptions o = guarded({});
  o.protocols = "smtp";
  LoopbackSmtp server;
  {
    HttpClient client(o);
    auto r = client.send_mail({server.url(), "<a@example.jp>", {"<b@example.jp>"}, "x\r\n"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, static_cast<int>(HttpErrorCode::kRefused)) << r.error().message;
    EXPECT_NE(r.error().message.find("SMTP smtp://127.0.0.1"), std::string::npos)
        << r.error().message;
  }
  auto allowed = DestinationPolicy::parse({"127.0.0.1"}, "x");
  ASSERT_TRUE(allowed.ok());
  o.destinations = *allowed;
  {
    HttpClient client(o);
    auto r = client.send_mail({server.url(), "<a@example.jp>", {"<b@example.jp>"}, "x\r\n"});
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  EXPECT_NE(server.dialogue().find("RCPT TO:<b@example.jp>"), std::string::npos);
}

TEST(HttpClient, ErrorsDoNotEchoSecrets) {
  HttpClient client(plain_http());
  // Nothing listens on port 1.
  auto r = client.send(
      {"POST", "http://user:s3cret@127.0.0.1:1/x", {"Authorization: Bearer tok"}, "body-secret"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("s3cret"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("tok"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("body-secret"), std::string::npos) << r.error().message;
  EXPECT_EQ(redact_url("https://a:b@host:1/p?q=x@y"), "https://host:1/p?q=x@y");
  EXPECT_EQ(redact_url("https://host/p"), "https://host/p");
}

}  // namespace
}  // namespace mimamori::core
