#pragma once
// Test support: a libcurl client, throwaway stores (SQLite in a temp dir, a fresh database on
// the test PostgreSQL), and an in-process server on a loopback port chosen by the OS.

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mimamori/server/server.h"

namespace mimamori::server::testing {

/// One HTTP answer.
struct Response {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
  /// The body as JSON (null when it is not JSON).
  boost::json::value json() const;
  /// A member of the body's top-level object as a string ("" when absent).
  std::string str(std::string_view key) const;
  std::string header(std::string_view lower_name) const;
};

/// A client for one server; keeps a session cookie and CSRF token after login().
class Client {
 public:
  explicit Client(std::string base_url) : base_(std::move(base_url)) {}
  Response call(std::string_view method, std::string_view path, std::string_view body = {},
                std::vector<std::string> headers = {}) const;
  Response get(std::string_view path) const { return call("GET", path); }
  /// POST/PUT/DELETE with a JSON body, the session's CSRF header included.
  Response send(std::string_view method, std::string_view path, std::string_view json = "{}") const;
  Response post(std::string_view path, std::string_view json = "{}") const {
    return send("POST", path, json);
  }
  /// Logs in; keeps cookie and CSRF token on success.
  Response login(std::string_view email, std::string_view password, std::string_view totp = "");
  void set_bearer(std::string token) { bearer_ = std::move(token); }
  const std::string& base() const { return base_; }
  std::string cookie, csrf;

 private:
  std::string base_, bearer_;
};

/// A loopback TCP port that was free a moment ago.
uint16_t free_port();

/// A real loopback sink run by `sinks.py` (`smtp`: aiosmtpd; `http`: a webhook receiver) that
/// stores every message as a file; port 0 when it did not start.
struct Sink {
  explicit Sink(const std::string& kind);
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  /// The stored messages (mails or requests), in no particular order.
  std::vector<std::string> files() const;
  /// Every RCPT TO address the SMTP sink was given, accepted or not, in no particular order.
  std::vector<std::string> recipients() const;

  int pid = -1;
  int port = 0;
  std::string dir;
};

/// A fresh temporary directory (removed by the OS's tmp cleaning; tests keep them small).
std::string temp_dir();

/// The backends the API suite runs on.
inline const std::vector<std::string>& backends() {
  static const std::vector<std::string> kBackends = {"sqlite", "postgres"};
  return kBackends;
}

/// A store URL for a new, empty store of `backend`; empty with `skip_reason` set when the
/// backend is unavailable here.
std::string fresh_store_url(const std::string& backend, std::string* skip_reason);

/// A running in-process server (plain HTTP on loopback) plus its first admin.
struct TestServer {
  std::unique_ptr<Server> server;
  std::string base, dir;
  static constexpr const char* kAdminEmail = "admin@soc.example.jp";
  static constexpr const char* kAdminPassword = "admin password 1234";

  /// Starts a server on `store_url`; `tweak` may change the options first.
  static std::unique_ptr<TestServer> start(const std::string& store_url,
                                           const std::function<void(ServerOptions&)>& tweak = {});
  /// A client logged in as the provider admin.
  Client admin() const;
};

/// One EVE alert line.
std::string alert_line(int64_t sid, std::string_view signature, std::string_view src,
                       std::string_view dst,
                       std::string_view time = "2026-11-26T19:40:35.000000+0900");
/// One EVE dns line.
std::string dns_line(std::string_view name);
/// Posts a batch to /api/v1/ingest.
Response ingest(const Client& c, const std::string& token, int64_t first,
                const std::vector<std::string>& lines, std::string_view encoding = "");

}  // namespace mimamori::server::testing
