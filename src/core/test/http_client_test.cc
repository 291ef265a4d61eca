// HttpClient against loopback HTTP and SMTP servers started by the test (ports chosen by the
// OS): statuses and bodies, the response size bound, the time bound, redirects, allowed
// protocols, mail upload.

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
