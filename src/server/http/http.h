#pragma once
// The HTTP seam: plain request/response values so that only http_server.cc sees Beast/Asio.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mimamori/core/result.h"

namespace mimamori::server {

/// One HTTP request, header names lower-cased.
struct HttpRequest {
  std::string method, target, path, query, body, remote_ip;
  std::vector<std::pair<std::string, std::string>> headers;
  bool tls = false;

  /// The value of a header ("" when absent).
  std::string_view header(std::string_view lower_name) const;
  /// The value of a query parameter, percent-decoded ("" when absent).
  std::string query_param(std::string_view name) const;
  /// The value of a cookie ("" when absent).
  std::string cookie(std::string_view name) const;
};

/// One HTTP response.
struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Called once per request; `respond` may be called later from any thread.
using HttpRespond = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(HttpRequest&&, HttpRespond)>;

/// The body limit in bytes of one request, chosen from its method and target once its header is
/// read and before any of its body is: a larger Content-Length gets 413 at once, and a chunked
/// body is cut with 413 when it passes the limit.
using HttpBodyLimit = std::function<size_t(std::string_view method, std::string_view target)>;

/// TLS 1.2 cipher suites by default: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 only
/// (TLS 1.3 suites are OpenSSL's defaults, all of them AEAD).
inline constexpr std::string_view kDefaultTlsCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// Listening and connection limits.
struct HttpOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  ///< 0: chosen by the OS
  int threads = 2;
  size_t max_body = 16 << 20;  ///< bytes on the wire; larger bodies get 413
  HttpBodyLimit body_limit;    ///< per request, at most max_body; empty: max_body for all
  int header_timeout_s = 30, body_timeout_s = 60, idle_timeout_s = 75;
  /// Open connections at once, overall and per source address; beyond them a plain HTTP
  /// connection gets 503 with Retry-After, and a TLS one is closed before its handshake.
  size_t max_connections = 1024, max_connections_per_ip = 64;
  std::string cert_file, key_file;  ///< both empty: plain HTTP
  /// OpenSSL cipher string for TLS 1.2 (empty: kDefaultTlsCiphers); one that names an unknown
  /// cipher or selects none fails start().
  std::string tls_ciphers;
};

/// Counters for /metrics.
struct HttpStats {
  std::atomic<int64_t> connections{0}, requests{0}, active{0}, too_large{0}, bad_requests{0};
  /// Connections refused over max_connections or max_connections_per_ip.
  std::atomic<int64_t> rejected{0};
};

/// The HTTP(S) server (Beast): keep-alive, limits, timeouts, graceful stop.
class HttpServer {
 public:
  HttpServer(HttpOptions options, HttpHandler handler);
  ~HttpServer();
  /// Binds, listens and starts the threads; an error names the address and why.
  core::Status start();
  /// The bound port.
  uint16_t port() const;
  /// Stops accepting, lets requests in flight finish (up to `grace_s`), closes the rest.
  void stop(int grace_s = 10);
  HttpStats& stats();
  /// Connections the server tracks: each from its accept until it is closed, however it ends.
  size_t session_count() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// Percent-decodes a URL component ('+' as space).
std::string url_decode(std::string_view s);

/// A file of the static folder, read for one request.
struct StaticFile {
  std::string name;  ///< its file name (for the media type)
  std::string body;
};

/// The regular file that the raw (still percent-encoded) request path names under `root_dir`,
/// or nothing, which the caller answers with a plain 404. "/" names index.html. Each segment
/// is decoded once; refused are empty, dot-leading ("..", hidden files) and malformed segments,
/// encoded separators and control characters, and any file that, symlinks resolved, is not a
/// regular file strictly inside the folder.
std::optional<StaticFile> read_static_file(const std::string& root_dir, std::string_view raw_path);

/// True when the raw request path is one of the single-page app's own routes (such as
/// /incidents/inc_12): every segment is letters, digits, '-' or '_' (no dot, no escape), and
/// nothing of that name exists in the folder. Such a path is answered with index.html.
bool is_app_route(const std::string& root_dir, std::string_view raw_path);

/// The web console shipped with the program: `<folder of the executable>/../share/mimamori/web`
/// (the build tree's share folder and the installed one alike) when it holds an index.html;
/// else empty.
std::string default_web_dir();

}  // namespace mimamori::server
