// The HTTP surface an attacker sees before logging in: the static folder never serves a file
// outside itself, every answer carries the browser protections, and the in-flight gauge stays
// true when requests are refused by the parser; over TLS, a connection that never completes its
// handshake leaves nothing behind, and a refused body's 413 reaches the client.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "http/http.h"
#include "mimamori/core/http_client.h"
#include "mimamori/server/server.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace fs = std::filesystem;

// An answer read off the socket: the request goes out exactly as written (libcurl would tidy
// `..` and `//` away before sending).
struct RawAnswer {
  int status = 0;
  std::string head, body;
};

RawAnswer raw_request(uint16_t port, std::string_view request) {
  RawAnswer a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return a;
  }
  timeval tv{10, 0};  // a hang fails the test instead of stalling the suite
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  for (size_t off = 0; off < request.size();) {
    ssize_t n = send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string all;
  char buf[16 * 1024];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<size_t>(n));
  close(fd);
  auto end = all.find("\r\n\r\n");
  if (!all.starts_with("HTTP/1.1 ") || end == std::string::npos) return a;
  a.status = std::stoi(all.substr(9, 3));
  a.head = all.substr(0, end);
  a.body = all.substr(end + 4);
  return a;
}

RawAnswer raw_get(uint16_t port, std::string_view target) {
  return raw_request(port, "GET " + std::string(target) +
                               " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

void write_file(const fs::path& p, std::string_view bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

// A static folder with files to serve, and beside it a secret it must never reveal.
class StaticFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::path(temp_dir());
    root_ = base_ / "www";
    fs::create_directories(root_ / "sub" / "deeper");
    fs::create_directories(base_ / "private");
    secret_path_ = base_ / "secret.txt";
    write_file(secret_path_, kSecret);
    write_file(base_ / "private" / "secret.txt", kSecret);
    write_file(root_ / "index.html", kIndex);
    write_file(root_ / "app.js", app_js_);
    write_file(root_ / "sub" / "page.css", "body{}\n");
    write_file(root_ / "a%41.txt", "decoded once\n");
    write_file(root_ / ".env", kSecret);
    fs::create_symlink(secret_path_, root_ / "leak.txt");
    fs::create_symlink(base_ / "private", root_ / "leakdir");
    fs::create_symlink(root_ / "app.js", root_ / "alias.js");
    ASSERT_EQ(mkfifo((root_ / "fifo").c_str(), 0600), 0);
    std::string why;
    ts_ = TestServer::start(fresh_store_url("sqlite", &why),
                            [&](ServerOptions& o) { o.static_dir = root_.string(); });
    ASSERT_TRUE(ts_);
  }

  // Percent-encodes every '/' of an absolute path.
  static std::string encode_slashes(const std::string& p) {
    std::string out;
    for (char c : p) out += c == '/' ? std::string("%2F") : std::string(1, c);
    return out;
  }

  static constexpr std::string_view kSecret = "TOP-SECRET-4f1c\n";
  static constexpr std::string_view kIndex = "<!doctype html><title>console</title>\n";
  const std::string app_js_ = std::string("let a = '\xe7\x9b\xa3\xe8\xa6\x96';\r\n\0\x01\xff", 20);
  fs::path base_, root_, secret_path_;
  std::unique_ptr<TestServer> ts_;
};

TEST_F(StaticFolder, PathsLeavingTheFolderAreRefusedWith404) {
  const uint16_t port = ts_->server->port();
  const std::string secret = secret_path_.string();  // absolute: /tmp/.../secret.txt
  // Joined by append: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string&&.
  auto cat = [](std::string_view a, std::string_view b) { return std::string(a).append(b); };
  const std::vector<std::string> refused = {
      cat("/", secret),                  // //tmp/.../secret.txt: an absolute path
      "//etc/passwd",                    //
      cat("/", encode_slashes(secret)),  // /%2Ftmp%2F...%2Fsecret.txt
      cat("/%2f", secret.substr(1)),     // lower-case escape
      "/../secret.txt",                  // parent segments, raw and encoded
      "/sub/../../secret.txt",           //
      "/%2e%2e/secret.txt",              //
      "/%2E%2E%2Fsecret.txt",            //
      "/sub/%2e%2e/%2e%2e/secret.txt",   //
      "/..%5Csecret.txt",                // backslash
      "/%5C..%5Csecret.txt",             //
      "/..\\secret.txt",                 //
      "/index.html%00.js",               // NUL
      "/%zz",                            // malformed escape
      "/leak.txt",                       // symlink to a file outside
      "/leakdir/secret.txt",             // symlink to a folder outside
      "/leakdir",                        //
      "/sub",                            // directories
      "/sub/",                           //
      "/sub//page.css",                  // empty segment
      "/./app.js",                       // dot segment
      "/.env",                           // hidden file
      "/fifo",                           // not a regular file
      "/missing.js",                     // absent
      "http://127.0.0.1/app.js",         // absolute-form target
  };
  for (const auto& target : refused) {
    SCOPED_TRACE(target);
    auto a = raw_get(port, target);
    EXPECT_EQ(a.status, 404);
    EXPECT_EQ(a.body, R"({"error":"not found"})");
    EXPECT_TRUE(a.body.find("TOP-SECRET") == std::string::npos &&
                a.body.find("root:") == std::string::npos)
        << a.body;
  }
  // Only GET and HEAD read files.
  auto post = raw_request(port,
                          "POST /app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                          "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(post.status, 404);
}

TEST_F(StaticFolder, FilesInsideAreServedByteExact) {
  const uint16_t port = ts_->server->port();
  auto index = raw_get(port, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, kIndex);
  EXPECT_NE(index.head.find("Content-Type: text/html; charset=utf-8"), std::string::npos);
  EXPECT_EQ(raw_get(port, "/index.html").body, kIndex);
  for (const char* target : {"/app.js", "/alias.js"}) {
    SCOPED_TRACE(target);
    auto js = raw_get(port, target);
    EXPECT_EQ(js.status, 200);
    EXPECT_EQ(js.body, app_js_);
    EXPECT_NE(js.head.find("Content-Type: text/javascript"), std::string::npos);
  }
  EXPECT_EQ(raw_get(port, "/sub/page.css").body, "body{}\n");
  EXPECT_EQ(raw_get(port, "/%61pp.js").body, app_js_);
  // Decoded once: %2541 is the three characters %41, not A.
  auto once = raw_get(port, "/a%2541.txt");
  EXPECT_EQ(once.status, 200);
  EXPECT_EQ(once.body, "decoded once\n");
  // A query string does not change which file is read.
  EXPECT_EQ(raw_get(port, "/app.js?v=2").body, app_js_);
}

TEST_F(StaticFolder, AppRoutesAnswerIndexAndHashedAssetsAreImmutable) {
  const uint16_t port = ts_->server->port();
  fs::create_directories(root_ / "assets");
  write_file(root_ / "assets" / "index-3f9a1c.js", "export {};\n");
  // A route of the console's own router is its page: index.html, checked again every time.
  for (const char* target : {"/incidents/inc_42", "/portal", "/devices?customer=c_1"}) {
    SCOPED_TRACE(target);
    auto page = raw_get(port, target);
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.body, kIndex);
    EXPECT_NE(page.head.find("Cache-Control: no-cache"), std::string::npos) << page.head;
  }
  auto asset = raw_get(port, "/assets/index-3f9a1c.js");
  EXPECT_EQ(asset.status, 200);
  EXPECT_NE(asset.head.find("Cache-Control: public, max-age=31536000, immutable"),
            std::string::npos)
      << asset.head;
  // Names with a dot are files, never pages: a missing one stays a 404, as do names of things
  // that exist but are not regular files, and the API's namespace.
  for (const char* target : {"/missing.js", "/assets/gone-1.js", "/sub", "/fifo", "/leakdir",
                             "/incidents/%2e%2e", "/app.js/x", "/api/v1/nothing"}) {
    SCOPED_TRACE(target);
    auto a = raw_get(port, target);
    EXPECT_EQ(a.status, 404);
    EXPECT_NE(a.body, kIndex);
  }
}

TEST(HttpHeaders, EveryAnswerForbidsFramingAndTlsAnswersCarryHsts) {
  std::string why;
  const std::string url = fresh_store_url("sqlite", &why);
  const fs::path root = fs::path(temp_dir()) / "www";
  fs::create_directories(root);
  write_file(root / "index.html", "<p>hi</p>");
  auto check = [](const Response& r, bool tls) {
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.header("content-security-policy").find("frame-ancestors 'none'"), std::string::npos)
        << r.header("content-security-policy");
    EXPECT_EQ(r.header("x-frame-options"), "DENY");
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
    if (tls) {
      EXPECT_EQ(r.header("strict-transport-security"), "max-age=31536000; includeSubDomains");
    } else {
      EXPECT_EQ(r.header("strict-transport-security"), "");
    }
  };
  for (bool tls : {false, true}) {
    SCOPED_TRACE(tls ? "https" : "http");
    auto ts = TestServer::start(url, [&](ServerOptions& o) {
      o.tls = tls;
      o.static_dir = root.string();
    });
    ASSERT_TRUE(ts);
    Client anon(ts->base);
    auto health = anon.get("/api/v1/health");
    EXPECT_EQ(health.status, 200);
    check(health, tls);
    EXPECT_EQ(health.header("content-security-policy"),
              "default-src 'none'; frame-ancestors 'none'");
    auto page = anon.get("/");
    EXPECT_EQ(page.status, 200);
    check(page, tls);
    EXPECT_NE(page.header("content-security-policy").find("script-src 'self';"), std::string::npos)
        << page.header("content-security-policy");
    EXPECT_EQ(page.header("content-security-policy").find("unsafe-inline"), std::string::npos);
    check(anon.get("/missing"), tls);
    check(anon.get("/api/v1/nothing"), tls);
    check(ts->admin().get("/api/v1/customers"), tls);
  }
}

TEST(HttpStats, InFlightGaugeStaysTrueWhenTheParserRefusesRequests) {
  std::atomic<int64_t> seen_in_handler{-100};
  HttpServer* server_ptr = nullptr;
  HttpOptions o;
  o.max_body = 1024;
  HttpServer server(o, [&](HttpRequest&&, HttpRespond respond) {
    seen_in_handler = server_ptr->stats().active.load();
    HttpResponse r;
    r.body = "{}";
    respond(std::move(r));
  });
  server_ptr = &server;
  ASSERT_TRUE(server.start().ok());
  const uint16_t port = server.port();
  // Reading each answer to its end (the server closes after an error) means its write finished.
  auto too_large =
      raw_request(port, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                            std::string(100000, 'a'));
  EXPECT_EQ(too_large.status, 413);
  auto too_long = raw_request(
      port, "GET /x HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(20000, 'b') + "\r\n\r\n");
  EXPECT_EQ(too_long.status, 431);
  auto garbage = raw_request(port, "HELLO THERE\x01\x02 nonsense\r\n\r\n");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_EQ(server.stats().active.load(), 0);
  // The next request sees only itself in flight, and nothing once it is answered.
  EXPECT_EQ(raw_get(port, "/ok").status, 200);
  EXPECT_EQ(seen_in_handler.load(), 1);
  EXPECT_EQ(server.stats().active.load(), 0);
  server.stop(1);
}

// A TLS server with a fresh self-signed certificate, answering 200 to whatever it is handed.
struct TlsServer {
  explicit TlsServer(size_t max_body = 16 << 20) {
    const std::string dir = temp_dir();
    HttpOptions o;
    o.cert_file = dir + "/cert.pem";
    o.key_file = dir + "/key.pem";
    o.max_body = max_body;
    o.header_timeout_s = 5;
    EXPECT_TRUE(ensure_self_signed(o.cert_file, o.key_file).ok());
    server = std::make_unique<HttpServer>(o, [](HttpRequest&&, HttpRespond respond) {
      HttpResponse r;
      r.body = "{}";
      respond(std::move(r));
    });
    EXPECT_TRUE(server->start().ok());
  }
  ~TlsServer() { server->stop(1); }

  core::Result<core::HttpResponse> send(const std::string& method, std::string_view body = {}) {
    core::HttpClientOptions co;
    co.pin_leaf = true;  // empty pin: the test certificate is accepted and recorded
    co.timeout_s = 10;
    core::HttpClient client(co);
    core::HttpRequest req;
    req.method = method;
    req.url = "https://127.0.0.1:" + std::to_string(server->port()) + "/x";
    req.body = body;
    // The body goes out at once, without waiting for a 100 Continue.
    req.headers = {"Expect:", "Content-Type: application/json"};
    return client.send(req);
  }

  std::unique_ptr<HttpServer> server;
};

// Sends `bytes` on a fresh connection, then reads until the server closes (or 5 s).
void send_and_wait_close(uint16_t port, std::string_view bytes, bool read_to_close) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  if (read_to_close) {
    char buf[4096];
    while (read(fd, buf, sizeof buf) > 0) {
    }
  }
  close(fd);
}

bool sessions_drain(HttpServer& server) {
  for (int i = 0; i < 100 && server.session_count() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return server.session_count() == 0;
}

TEST(HttpTls, FailedHandshakesLeaveNoSessionBehind) {
  TlsServer tls;
  HttpServer& server = *tls.server;
  // A completed exchange first: its session goes once the connection closes.
  auto ok = tls.send("GET");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->status, 200);
  EXPECT_TRUE(sessions_drain(server));
  const int n = 20;
  for (int i = 0; i < n; ++i) {
    // Plain HTTP (or any garbage) where a ClientHello belongs: the server refuses it.
    send_and_wait_close(server.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true);
    // A TLS record header that promises a ClientHello, then the client goes away mid-handshake.
    send_and_wait_close(server.port(), std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9),
                        false);
  }
  // Every connection accepted before the count is read (the last may still be in the backlog).
  for (int i = 0; i < 100 && server.stats().connections.load() < 2 * n + 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(server.stats().connections.load(), 2 * n + 1);
  EXPECT_TRUE(sessions_drain(server)) << server.session_count() << " sessions left";
  // The server still answers.
  auto again = tls.send("GET");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->status, 200);
}

TEST(HttpTls, TooLargeBodyGets413BeforeTheClose) {
  TlsServer tls(1024);
  const std::string body(512 * 1024, 'a');
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    auto r = tls.send("POST", body);
    ASSERT_TRUE(r.ok()) << "transport error instead of 413: " << r.error().message;
    EXPECT_EQ(r->status, 413);
    EXPECT_NE(r->body.find("over the limit"), std::string::npos);
  }
  EXPECT_EQ(tls.server->stats().too_large.load(), 5);
  auto small = tls.send("POST", "{}");
  ASSERT_TRUE(small.ok()) << small.error().message;
  EXPECT_EQ(small->status, 200);
}

}  // namespace
}  // namespace mimamori::server::testing
