// Limits an unauthenticated client meets: each route's body limit is enforced from the header,
// before the body is read (chunked bodies as they arrive); connections are capped overall and
// per source address; /metrics needs its token (or a loopback peer); TLS 1.2 offers only ECDHE
// with AES-GCM or ChaCha20-Poly1305 unless configured otherwise.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "api/api.h"
#include "http/http.h"
#include "mimamori/server/server.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

// A raw client connection from a chosen loopback address, reading answers by their
// Content-Length, so that keep-alive connections can be held open.
class Conn {
 public:
  Conn(uint16_t port, const char* from = "127.0.0.1") {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, from, &src.sin_addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{5, 0};  // a hang fails the test instead of stalling the suite
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  ~Conn() { close(fd_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool send_all(std::string_view bytes) {
    for (size_t off = 0; off < bytes.size();) {
      ssize_t n = send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // The next answer: its status (0: none before the timeout or the close), head and body.
  int read_answer(std::string* head = nullptr, std::string* body = nullptr) {
    size_t end;
    while ((end = in_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return 0;
    }
    std::string h = in_.substr(0, end);
    size_t length = 0;
    if (auto p = h.find("Content-Length: "); p != std::string::npos) {
      length = std::stoul(h.substr(p + 16));
    }
    while (in_.size() < end + 4 + length) {
      if (!fill()) return 0;
    }
    if (head) *head = h;
    if (body) *body = in_.substr(end + 4, length);
    in_.erase(0, end + 4 + length);
    return h.starts_with("HTTP/1.1 ") ? std::stoi(h.substr(9, 3)) : 0;
  }

  int get(std::string_view target, std::string* body = nullptr) {
    if (!send_all("GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n\r\n")) return 0;
    return read_answer(nullptr, body);
  }

  // True when the server closed the connection (read returns 0) with nothing more to read.
  bool closed_by_peer() {
    char c;
    return in_.empty() && read(fd_, &c, 1) == 0;
  }

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

 private:
  bool fill() {
    char buf[16 * 1024];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) return false;
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string in_;
};

std::string post_head(std::string_view target, std::string_view extra) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + std::string(extra) + "\r\n";
}

// --- body limits ---------------------------------------------------------------------------

class BodyLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ts_ = TestServer::start(fresh_store_url("sqlite", &why),
                            [](ServerOptions& o) { o.max_body = 3 << 20; });
    ASSERT_TRUE(ts_);
  }

  // The value of a counter in /metrics (-1 when absent).
  int64_t metric(std::string_view name) {
    auto m = Client(ts_->base).get("/metrics");
    auto p = m.body.find("\n" + std::string(name) + " ");
    if (p == std::string::npos) return -1;
    return std::stoll(m.body.substr(p + name.size() + 2));
  }

  std::unique_ptr<TestServer> ts_;
};

TEST_F(BodyLimits, AnnouncedBodyOverTheRouteLimitGets413BeforeItIsSent) {
  const uint16_t port = ts_->server->port();
  const int64_t before = metric("mimamori_http_too_large_total");
  struct Case {
    std::string target;
    size_t length, limit;
  };
  const Case cases[] = {
      {"/api/v1/login", 2 << 20, 1 << 20},            // a JSON route: max_json_body
      {"/api/v1/customers", (1 << 20) + 1, 1 << 20},  //
      {"/api/v1/ingest", (3 << 20) + 1, 3 << 20},     // ingest: its own max_body
      {"/api/v1/nothing", 64 << 10, 16 << 10},        // no route: a small limit
      {"/index.html", 64 << 10, 16 << 10},            // static files take no body
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.target);
    Conn conn(port);
    ASSERT_TRUE(conn.connected());
    // Only the header goes out: the answer must come without the body.
    ASSERT_TRUE(
        conn.send_all(post_head(c.target, "Content-Length: " + std::to_string(c.length) + "\r\n")));
    std::string head, body;
    EXPECT_EQ(conn.read_answer(&head, &body), 413);
    EXPECT_NE(body.find("over the limit of " + std::to_string(c.limit) + " bytes"),
              std::string::npos)
        << body;
    EXPECT_NE(head.find("Connection: close"), std::string::npos) << head;
    EXPECT_TRUE(conn.closed_by_peer());
  }
  EXPECT_EQ(metric("mimamori_http_too_large_total"), before + 5);
  // The same connection may still announce a body within the limit: the JSON route reads it.
  Conn ok(port);
  const std::string login = R"({"email":"nobody@example.jp","password":"x"})";
  ASSERT_TRUE(ok.send_all(
      post_head("/api/v1/login", "Content-Length: " + std::to_string(login.size()) + "\r\n") +
      login));
  EXPECT_EQ(ok.read_answer(), 401);
}

TEST_F(BodyLimits, ChunkedBodyIsCutWhenItPassesTheLimit) {
  Conn conn(ts_->server->port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send_all(post_head("/api/v1/login", "Transfer-Encoding: chunked\r\n")));
  // 1.5 MiB in 64 KiB chunks, and no last chunk: the answer must come from the limit alone.
  const std::string chunk = "10000\r\n" + std::string(64 << 10, ' ') + "\r\n";
  for (int i = 0; i < 24; ++i) {
    if (!conn.send_all(chunk)) break;  // the server may close once it has answered
  }
  std::string body;
  EXPECT_EQ(conn.read_answer(nullptr, &body), 413);
  EXPECT_NE(body.find("over the limit of 1048576 bytes"), std::string::npos) << body;
  // A chunked body within the limit is read and handled.
  Conn ok(ts_->server->port());
  const std::string login = R"({"email":"nobody@example.jp","password":"x"})";
  ASSERT_TRUE(ok.send_all(post_head("/api/v1/login", "Transfer-Encoding: chunked\r\n") +
                          fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", login.size(), login)));
  EXPECT_EQ(ok.read_answer(), 401);
}

TEST_F(BodyLimits, IngestAcceptsBodiesUpToItsOwnLimit) {
  Client admin = ts_->admin();
  auto cus = admin.post("/api/v1/customers", R"({"name":"A"})");
  ASSERT_EQ(cus.status, 201) << cus.body;
  auto code = admin.post("/api/v1/customers/" + cus.str("id") + "/enrollment-codes", "{}");
  ASSERT_EQ(code.status, 201) << code.body;
  auto enrolled = Client(ts_->base).call("POST", "/api/v1/enroll",
                                         json::serialize(json::object{{"code", code.str("code")},
                                                                      {"hostname", "gw-01"},
                                                                      {"kind", "sensor"},
                                                                      {"version", "0.1.0"}}),
                                         {"Content-Type: application/json"});
  ASSERT_EQ(enrolled.status, 201) << enrolled.body;
  // About 2 MiB of events: over the JSON limit, within ingest's 3 MiB.
  std::vector<std::string> lines;
  size_t size = 0;
  for (int i = 0; size < (2 << 20); ++i) {
    lines.push_back(dns_line("host-" + std::to_string(i) + "." + std::string(400, 'a') + ".jp"));
    size += lines.back().size() + 1;
  }
  auto r = ingest(Client(ts_->base), enrolled.str("device_token"), 1, lines);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(metric("mimamori_ingest_events_accepted_total"), static_cast<int64_t>(lines.size()));
}

// --- connection caps -------------------------------------------------------------------------

TEST(ConnectionCaps, ConnectionsBeyondThePerAddressCapGet503WhileOthersWork) {
  std::string why;
  auto ts = TestServer::start(fresh_store_url("sqlite", &why),
                              [](ServerOptions& o) { o.max_connections_per_ip = 3; });
  ASSERT_TRUE(ts);
  const uint16_t port = ts->server->port();
  std::vector<std::unique_ptr<Conn>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Conn>(port));
    ASSERT_EQ(held.back()->get("/api/v1/health"), 200);  // accepted and answered: it counts
  }
  Conn extra(port);
  std::string head, body;
  EXPECT_EQ(extra.read_answer(&head, &body), 503);
  EXPECT_NE(head.find("Retry-After: "), std::string::npos) << head;
  EXPECT_NE(body.find("too many connections"), std::string::npos) << body;
  EXPECT_TRUE(extra.closed_by_peer());
  // The connections held still work, and so does another address.
  for (auto& c : held) EXPECT_EQ(c->get("/api/v1/health"), 200);
  Conn other(port, "127.0.0.2");
  std::string metrics;
  EXPECT_EQ(other.get("/metrics", &metrics), 200);
  EXPECT_NE(metrics.find("\nmimamori_http_connections_rejected_total 1\n"), std::string::npos)
      << metrics;
  // Once one is closed, the address may connect again.
  held.pop_back();
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    Conn again(port);
    status = again.get("/api/v1/health");
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status, 200);
}

TEST(ConnectionCaps, ConnectionsBeyondTheOverallCapGet503) {
  HttpOptions o;
  o.max_connections = 2;
  HttpServer server(o, [](HttpRequest&&, HttpRespond respond) {
    HttpResponse r;
    r.body = "{}";
    respond(std::move(r));
  });
  ASSERT_TRUE(server.start().ok());
  Conn a(server.port(), "127.0.0.1"), b(server.port(), "127.0.0.2");
  EXPECT_EQ(a.get("/x"), 200);
  EXPECT_EQ(b.get("/x"), 200);
  Conn c(server.port(), "127.0.0.3");
  EXPECT_EQ(c.read_answer(), 503);
  EXPECT_EQ(a.get("/x"), 200);
  EXPECT_EQ(server.stats().rejected.load(), 1);
  server.stop(1);
}

TEST(ConnectionCaps, Ipv6PeersAreCountedToo) {
  HttpOptions o;
  o.address = "::1";
  o.max_connections_per_ip = 1;
  HttpServer server(o, [](HttpRequest&&, HttpRespond respond) {
    HttpResponse r;
    r.body = "{}";
    respond(std::move(r));
  });
  if (!server.start().ok()) GTEST_SKIP() << "no IPv6 loopback here";
  auto connect6 = [&] {
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(server.port());
    addr.sin6_addr = in6addr_loopback;
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  };
  auto read_status = [](int fd) {
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    std::string got(buf, n > 0 ? static_cast<size_t>(n) : 0);
    return got.starts_with("HTTP/1.1 ") ? std::stoi(got.substr(9, 3)) : 0;
  };
  int first = connect6();
  const std::string get = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(first, get.data(), get.size(), MSG_NOSIGNAL), static_cast<ssize_t>(get.size()));
  EXPECT_EQ(read_status(first), 200);
  int second = connect6();
  EXPECT_EQ(read_status(second), 503);
  close(second);
  close(first);
  server.stop(1);
}

// --- /metrics --------------------------------------------------------------------------------

TEST(Metrics, TokenIsRequiredWhenSet) {
  std::string why;
  const std::string token = "metrics-token-0123456789";
  auto ts = TestServer::start(fresh_store_url("sqlite", &why),
                              [&](ServerOptions& o) { o.metrics_token = token; });
  ASSERT_TRUE(ts);
  Client anon(ts->base);
  auto none = anon.get("/metrics");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("www-authenticate"), "Bearer");
  EXPECT_EQ(none.body.find("mimamori_"), std::string::npos);
  Client wrong(ts->base);
  wrong.set_bearer(token + "x");
  EXPECT_EQ(wrong.get("/metrics").status, 401);
  Client right(ts->base);
  right.set_bearer(token);
  auto m = right.get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("mimamori_http_connections_rejected_total 0\n"), std::string::npos);
  // The token opens /metrics only: it is no user's API token.
  EXPECT_EQ(right.get("/api/v1/me").status, 401);
}

TEST(Metrics, WithoutTokenOnlyLoopbackPeersAreAnswered) {
  std::string why;
  auto ts = TestServer::start(fresh_store_url("sqlite", &why));
  ASSERT_TRUE(ts);
  ServerOptions options;  // no metrics token
  Api api(ts->server->store(), ts->server->ingest(), options, nullptr);
  auto status_from = [&](const std::string& ip) {
    HttpRequest req;
    req.method = "GET";
    req.target = req.path = "/metrics";
    req.remote_ip = ip;
    int status = 0;
    api.handle(std::move(req), [&](HttpResponse r) { status = r.status; });
    return status;
  };
  EXPECT_EQ(status_from("127.0.0.1"), 200);
  EXPECT_EQ(status_from("127.1.2.3"), 200);
  EXPECT_EQ(status_from("::1"), 200);
  EXPECT_EQ(status_from("::ffff:127.0.0.1"), 200);
  EXPECT_EQ(status_from("192.0.2.7"), 403);
  EXPECT_EQ(status_from("10.0.0.1"), 403);
  EXPECT_EQ(status_from("::ffff:192.0.2.7"), 403);
  EXPECT_EQ(status_from("2001:db8::1"), 403);
  EXPECT_EQ(status_from("1127.0.0.1"), 403);
}

TEST(Metrics, TokenConfigIsCheckedAtStartUp) {
  auto load = [](const std::string& yaml) {
    return load_server_options(core::Config::from_string(yaml, "server.yaml"));
  };
  EXPECT_EQ(load("server:\n  metrics_token: abcdefghijklmnop-1\n").metrics_token,
            "abcdefghijklmnop-1");
  for (std::string yaml :
       {"server:\n  metrics_token: short\n",
        "server:\n  metrics_token: \"sixteen chars with spaces\"\n",
        "server:\n  max_connections: 0\n", "server:\n  max_connections_per_ip: -1\n"}) {
    SCOPED_TRACE(yaml);
    EXPECT_THROW(load(yaml), core::ConfigError);
  }
  // From a file: its first line, without the line end.
  const std::string file = temp_dir() + "/metrics.token";
  std::ofstream(file) << "abcdefghijklmnop-2\r\n";
  EXPECT_EQ(load("server:\n  metrics_token_file: " + file + "\n").metrics_token,
            "abcdefghijklmnop-2");
  EXPECT_THROW(load("server:\n  metrics_token_file: " + file + ".missing\n"), core::ConfigError);
  EXPECT_THROW(
      load("server:\n  metrics_token: abcdefghijklmnop-1\n  metrics_token_file: " + file + "\n"),
      core::ConfigError);
}

// --- TLS cipher suites -----------------------------------------------------------------------

struct TlsServer {
  explicit TlsServer(std::string ciphers = "", size_t per_ip = 64) {
    const std::string dir = temp_dir();
    o.cert_file = dir + "/cert.pem";  // P-256: the ECDSA suites
    o.key_file = dir + "/key.pem";
    o.tls_ciphers = std::move(ciphers);
    o.max_connections_per_ip = per_ip;
    o.header_timeout_s = 5;
    EXPECT_TRUE(ensure_self_signed(o.cert_file, o.key_file).ok());
    server = std::make_unique<HttpServer>(o, [](HttpRequest&&, HttpRespond respond) {
      HttpResponse r;
      r.body = "{}";
      respond(std::move(r));
    });
  }
  ~TlsServer() { server->stop(1); }
  HttpOptions o;
  std::unique_ptr<HttpServer> server;
};

// An OpenSSL client connection; `tls12_ciphers` empty: TLS 1.3 with OpenSSL's defaults.
class TlsClient {
 public:
  TlsClient(uint16_t port, const std::string& tls12_ciphers) : conn_(port) {
    // OpenSSL writes with write(2): a server that closed first must not kill the test.
    std::signal(SIGPIPE, SIG_IGN);
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(ctx_, 0);  // the client offers whatever it is told to
    if (!tls12_ciphers.empty()) {
      SSL_CTX_set_max_proto_version(ctx_, TLS1_2_VERSION);
      EXPECT_EQ(SSL_CTX_set_cipher_list(ctx_, tls12_ciphers.c_str()), 1) << tls12_ciphers;
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, conn_.fd());
    ok_ = conn_.connected() && SSL_connect(ssl_) == 1;
  }
  ~TlsClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  bool handshake_ok() const { return ok_; }
  std::string cipher() const { return ok_ ? SSL_get_cipher_name(ssl_) : ""; }

 private:
  Conn conn_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool ok_ = false;
};

TEST(TlsCiphers, Tls12OffersOnlyEcdheWithAesGcmOrChaCha20ByDefault) {
  TlsServer tls;
  ASSERT_TRUE(tls.server->start().ok());
  const uint16_t port = tls.server->port();
  for (const char* good : {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                           "ECDHE-ECDSA-CHACHA20-POLY1305"}) {
    SCOPED_TRACE(good);
    TlsClient c(port, good);
    EXPECT_TRUE(c.handshake_ok());
    EXPECT_EQ(c.cipher(), good);
  }
  for (const char* bad : {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
                          "ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384",
                          "AES128-GCM-SHA256", "AES128-SHA", "DHE-RSA-AES128-GCM-SHA256"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(TlsClient(port, bad).handshake_ok());
  }
  // Offered together, the server picks the strong one.
  TlsClient mixed(port, "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(mixed.cipher(), "ECDHE-ECDSA-AES128-GCM-SHA256");
  // TLS 1.3 keeps OpenSSL's suites.
  TlsClient tls13(port, "");
  EXPECT_TRUE(tls13.handshake_ok());
}

TEST(TlsCiphers, CipherStringIsConfigurableAndCheckedAtStart) {
  {
    TlsServer tls("ECDHE-ECDSA-AES256-GCM-SHA384");
    ASSERT_TRUE(tls.server->start().ok());
    EXPECT_TRUE(TlsClient(tls.server->port(), "ECDHE-ECDSA-AES256-GCM-SHA384").handshake_ok());
    EXPECT_FALSE(TlsClient(tls.server->port(), "ECDHE-ECDSA-AES128-GCM-SHA256").handshake_ok());
  }
  for (std::string bad :
       {"ECDHE-ECDSA-AES128-GCM-SHA256:NO-SUCH-CIPHER", "NO-SUCH-CIPHER", "!ALL"}) {
    SCOPED_TRACE(bad);
    TlsServer tls(bad);
    auto st = tls.server->start();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find("cipher string"), std::string::npos) << st.error().message;
  }
  // Through the configuration, to the server's start.
  auto o = load_server_options(
      core::Config::from_string("server:\n  tls:\n    ciphers: \"BOGUS\"\n", "server.yaml"));
  EXPECT_EQ(o.tls_ciphers, "BOGUS");
  std::string why;
  o.store.url = fresh_store_url("sqlite", &why);
  o.data_dir = temp_dir();
  o.port = 0;
  auto started = Server::start(o);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("'BOGUS'"), std::string::npos) << started.error().message;
}

TEST(TlsCiphers, TlsConnectionsBeyondTheCapAreClosedBeforeTheHandshake) {
  TlsServer tls("", 1);
  ASSERT_TRUE(tls.server->start().ok());
  auto first = std::make_unique<TlsClient>(tls.server->port(), "");
  ASSERT_TRUE(first->handshake_ok());
  EXPECT_FALSE(TlsClient(tls.server->port(), "").handshake_ok());
  EXPECT_EQ(tls.server->stats().rejected.load(), 1);
  first.reset();
  bool again = false;
  for (int i = 0; i < 100 && !again; ++i) {
    again = TlsClient(tls.server->port(), "").handshake_ok();
    if (!again) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(again);
}

}  // namespace
}  // namespace mimamori::server::testing
