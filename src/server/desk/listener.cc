// The desk's inbound mail listener: LMTP (RFC 2033) or SMTP (RFC 5321), chosen by the client's
// greeting, on one loopback address. Sessions are served one after another on one thread, each
// within desk.session_timeout_s; a mail is answered only after it is stored (or refused with a
// reply that says why).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "desk/desk.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/log.h"
#include "mimamori/core/text.h"

namespace mimamori::server {
namespace {

constexpr size_t kMaxLine = 4096;
constexpr size_t kMaxRecipients = 100;

// A connection with a deadline: reads lines, writes replies.
class Conn {
 public:
  Conn(int fd, int64_t deadline_us, const std::atomic<bool>& stopping)
      : fd_(fd), deadline_(deadline_us), stopping_(stopping) {}
  // One line without its CRLF; false on close, timeout or an over-long line.
  bool line(std::string& out, size_t limit) {
    out.clear();
    for (;;) {
      auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        out = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (!out.empty() && out.back() == '\r') out.pop_back();
        return true;
      }
      if (buf_.size() > limit) {
        too_long_ = true;
        return false;
      }
      if (!fill()) return false;
    }
  }
  bool too_long() const { return too_long_; }
  bool send(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

 private:
  bool fill() {
    for (;;) {
      const int64_t left_ms = (deadline_ - core::now().micros) / 1000;
      if (left_ms <= 0 || stopping_) return false;
      pollfd p{fd_, POLLIN, 0};
      int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left_ms, 500)));
      if (n < 0 && errno != EINTR) return false;
      if (n <= 0) continue;
      char tmp[16384];
      ssize_t got = ::recv(fd_, tmp, sizeof tmp, 0);
      if (got <= 0) return false;
      buf_.append(tmp, static_cast<size_t>(got));
      return true;
    }
  }
  int fd_;
  int64_t deadline_;
  const std::atomic<bool>& stopping_;
  std::string buf_;
  bool too_long_ = false;
};

// The reply to a mail's outcome.
std::string reply_for(const Result<MailOutcome>& r) {
  if (r.ok()) {
    return fmt::format("250 2.0.0 OK {} {}\r\n", r->kind, r->id);
  }
  std::string why = r.error().message;
  for (char& c : why) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  if (why.size() > 400) why.resize(400);
  if (r.error().code == 552 || r.error().code == 413) return "552 5.3.4 " + why + "\r\n";
  if (r.error().code == 400) return "554 5.6.0 " + why + "\r\n";
  // The store failed: the sender's server keeps the mail and tries again.
  return "451 4.3.0 the desk could not store the mail now: " + why + "\r\n";
}

}  // namespace

MailListener::MailListener(Store& store, DeskOptions options)
    : store_(store), options_(std::move(options)) {}

MailListener::~MailListener() { stop(); }

core::Status MailListener::start() {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, options_.mail_listen.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(options_.mail_port);
    len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, options_.mail_listen.c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(options_.mail_port);
    len = sizeof(sockaddr_in6);
  } else {
    return core::make_error("desk.mail_listen: '{}' is not an IP address", options_.mail_listen);
  }
  listen_fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return core::make_error("desk mail listener: socket: {}", strerror(errno));
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    auto e = core::make_error("desk mail listener on {}:{}: {}", options_.mail_listen,
                              options_.mail_port, strerror(errno));
    ::close(listen_fd_);
    listen_fd_ = -1;
    return e;
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
  port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                  : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  thread_ = std::thread([this] { run(); });
  return {};
}

void MailListener::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void MailListener::run() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    session(fd);
    ::close(fd);
  }
}

void MailListener::session(int fd) {
  Conn c(fd, core::now().micros + options_.session_timeout_s * 1000000, stopping_);
  if (!c.send("220 mimamori desk ESMTP/LMTP ready\r\n")) return;
  bool lmtp = false, greeted = false, have_from = false;
  size_t recipients = 0;
  std::string line;
  while (!stopping_) {
    if (!c.line(line, kMaxLine)) {
      if (c.too_long()) c.send("500 5.5.2 line too long\r\n");
      return;
    }
    const std::string verb = core::to_lower(line.substr(0, line.find(' ')));
    if (verb == "lhlo" || verb == "ehlo") {
      lmtp = verb == "lhlo";
      greeted = true;
      have_from = false;
      recipients = 0;
      c.send(
          fmt::format("250-mimamori\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SIZE {}\r\n",
                      options_.max_mail_bytes));
    } else if (verb == "helo") {
      greeted = true;
      c.send("250 mimamori\r\n");
    } else if (verb == "mail") {
      if (!greeted) {
        c.send("503 5.5.1 say LHLO or EHLO first\r\n");
        continue;
      }
      // A declared size over the limit is refused before the data is sent.
      auto at = core::to_lower(line).find("size=");
      if (at != std::string::npos) {
        int64_t size = std::strtoll(line.c_str() + at + 5, nullptr, 10);
        if (size > options_.max_mail_bytes) {
          c.send(fmt::format("552 5.3.4 message size {} exceeds the desk's limit of {} bytes\r\n",
                             size, options_.max_mail_bytes));
          continue;
        }
      }
      have_from = true;
      recipients = 0;
      c.send("250 2.1.0 OK\r\n");
    } else if (verb == "rcpt") {
      if (!have_from) {
        c.send("503 5.5.1 MAIL first\r\n");
      } else if (recipients >= kMaxRecipients) {
        c.send("452 4.5.3 too many recipients\r\n");
      } else {
        ++recipients;
        c.send("250 2.1.5 OK\r\n");
      }
    } else if (verb == "data") {
      if (!have_from || recipients == 0) {
        c.send("503 5.5.1 MAIL and RCPT first\r\n");
        continue;
      }
      if (!c.send("354 end data with <CR><LF>.<CR><LF>\r\n")) return;
      std::string mail;
      bool over = false;
      for (;;) {
        // A line of the mail may be long (base64 without folding); the whole is bounded.
        if (!c.line(line, static_cast<size_t>(options_.max_mail_bytes) + 2)) {
          if (c.too_long()) {
            c.send(fmt::format("552 5.3.4 the mail is over the desk's limit of {} bytes\r\n",
                               options_.max_mail_bytes));
          }
          return;
        }
        if (line == ".") break;
        if (over) continue;
        std::string_view l = line;
        if (l.starts_with('.')) l.remove_prefix(1);
        mail.append(l);
        mail += "\r\n";
        if (static_cast<int64_t>(mail.size()) > options_.max_mail_bytes) {
          over = true;
          mail.clear();
          mail.shrink_to_fit();
        }
      }
      Result<MailOutcome> r =
          over ? Result<MailOutcome>(core::make_error_code(
                     552, "the mail is over the desk's limit of {} bytes; nothing was stored",
                     options_.max_mail_bytes))
               : accept_mail(store_, options_, mail);
      if (!r.ok()) {
        spdlog::warn("desk mail refused: {}", r.error().message);
      }
      const std::string reply = reply_for(r);
      // LMTP answers once per recipient; the mail was stored once.
      for (size_t i = 0; i < (lmtp ? recipients : 1); ++i) {
        if (!c.send(reply)) return;
      }
      have_from = false;
      recipients = 0;
    } else if (verb == "rset") {
      have_from = false;
      recipients = 0;
      c.send("250 2.0.0 OK\r\n");
    } else if (verb == "noop") {
      c.send("250 2.0.0 OK\r\n");
    } else if (verb == "quit") {
      c.send("221 2.0.0 bye\r\n");
      return;
    } else if (verb == "vrfy") {
      c.send("252 2.1.5 send some mail\r\n");
    } else {
      c.send("502 5.5.2 command not implemented\r\n");
    }
  }
}

}  // namespace mimamori::server
