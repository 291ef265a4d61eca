#pragma once
/// HttpClient: the one libcurl client of the project (uplink, rule updates, notifications).
/// Requests over the protocols a caller allows, bounded in time and size, with an optional
/// pin of the server's leaf certificate (SHA-256) instead of trust in a CA, and SMTP upload of
/// a prepared message. A caller may also bound where it connects (DestinationPolicy): the
/// address curl is about to connect to is judged at that moment, after name resolution, so a
/// name that resolves to a public address when checked and a private one when used has no gap.
/// Errors name the method and the address (without user information), never headers or
/// bodies, which may carry secrets.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mimamori/core/ip_address.h"
#include "mimamori/core/result.h"

namespace mimamori::core {

/// Why `address` is not a public destination ("loopback", "private (RFC 1918)", "link-local
/// (169.254.0.0/16, cloud metadata)", ...), or empty when it is a public unicast address.
/// IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 IPv6 addresses are judged by the IPv4 address
/// they carry; IPv6 outside global unicast (2000::/3) is never public.
std::string non_public_kind(const IpAddress& address);

/// Where a client may connect: any public address, plus the networks and host names a
/// provider allows. A host name allows every address that name resolves to when a URL names
/// it (the provider trusts that name's DNS); an address or network allows it whatever name led
/// there.
struct DestinationPolicy {
  /// Builds a policy from allowed destinations, each an address ("127.0.0.1", "::1"), a
  /// network in CIDR form ("10.0.0.0/8", "fd00::/8") or a host name ("relay.example.jp");
  /// an error names the item that is none of these. `hint` is what a refusal tells to do
  /// ("notify.allow_destinations").
  static Result<DestinationPolicy> parse(const std::vector<std::string>& allow, std::string hint);
  /// Adds one allowed destination (as in parse()).
  Status allow(std::string_view item);
  /// Empty when a URL naming `host` may connect to `address`; otherwise why not, in a sentence
  /// that says how to allow it.
  std::string check(std::string_view host, const IpAddress& address) const;

  std::vector<std::pair<IpAddress, int>> networks;  ///< address (IPv4 or IPv6) and prefix length
  std::vector<std::string> hosts;                   ///< lower case, without a trailing dot
  std::string hint = "the client's allowed destinations";
};

/// The parts of a URL that say where it goes, as libcurl's URL parser reads them.
struct UrlParts {
  std::string scheme;         ///< lower case
  std::string host;           ///< as written (IPv6 in brackets)
  std::string port;           ///< as written, or the scheme's default
  bool port_written = false;  ///< the URL names its port
};
/// The parts of `url`, or nothing when it does not parse (no scheme, bad syntax).
std::optional<UrlParts> url_parts(std::string_view url);

/// The host of `url` as the policy compares it: lower case, without IPv6 brackets or a
/// trailing dot; empty when `url` does not parse.
std::string url_host(std::string_view url);

/// How a client talks: what it may reach, for how long, how much it takes back.
struct HttpClientOptions {
  /// Protocols a request may use, as libcurl names them, comma-separated ("https", "http,https",
  /// "https,http,file").
  std::string protocols = "https";
  long connect_timeout_s = 10;  ///< connection set-up, seconds (0: libcurl's default)
  long timeout_s = 30;          ///< the whole transfer, seconds (0: none)
  bool follow_redirects = false;
  /// When following redirects: the protocols a redirect may lead to (empty: `protocols`).
  std::string redirect_protocols;
  /// Largest response body accepted; a larger one ends the transfer with an error (0: no bound).
  std::size_t max_response_bytes = 0;
  /// A status of 400 or more is an error (with the status in its message) instead of a response.
  bool fail_on_http_error = false;
  std::string user_agent;  ///< empty: libcurl's default (none)
  /// Trust by a pin of the leaf certificate instead of a CA: libcurl's chain and host checks are
  /// off, the leaf's SHA-256 is compared with `pin` (64 lowercase hex digits) or, when `pin` is
  /// empty, only recorded (first contact, as enrollment does). TLS sessions are never resumed,
  /// so every handshake is verified.
  bool pin_leaf = false;
  std::string pin;
  /// Where requests and mail may connect, checked on every address curl opens a connection to
  /// (proxies from the environment are then not used: the check must see the destination).
  /// Absent: anywhere.
  std::optional<DestinationPolicy> destinations;
};

/// One request.
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  ///< "Name: value" lines
  std::string_view body;             ///< sent unless the method is GET; must outlive send()
};

/// One answer.
struct HttpResponse {
  long status = 0;
  std::string body;
  /// Response headers, names lowercased, values trimmed (of the last response when redirected).
  std::vector<std::pair<std::string, std::string>> headers;
  /// SHA-256 (hex) of the server's leaf certificate: seen on this connection, or the pin (only
  /// with pin_leaf).
  std::string fingerprint;

  /// The value of header `name` (lowercase), or empty.
  std::string_view header(std::string_view name) const;
};

/// A message to upload over SMTP(S).
struct MailRequest {
  std::string url;                      ///< smtp://host:port or smtps://host:port
  std::string from;                     ///< envelope sender, as "<a@b>"
  std::vector<std::string> recipients;  ///< envelope recipients, each as "<a@b>"
  std::string_view message;             ///< the whole message (headers, blank line, body)
};

/// What a transport failure was, for callers that act on it (retry, re-enroll).
enum class HttpErrorCode : int {
  kTransport = 1,  ///< refused, unreachable, timed out, TLS failure
  kPinMismatch,    ///< the leaf certificate is not the pinned one
  kTooLarge,       ///< the response passed max_response_bytes
  kHttpStatus,     ///< fail_on_http_error and a status of 400 or more
  kRefused,        ///< not sent: a protocol or destination not allowed, libcurl not started
};

/// A keep-alive client: one connection cache, used by one thread at a time.
class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends one request. A transport failure, a pin mismatch, a response over the size bound
  /// (and, with fail_on_http_error, a status of 400 or more) is an Error whose code is an
  /// HttpErrorCode; any other status is a response.
  Result<HttpResponse> send(const HttpRequest& request);

  /// Uploads one message over SMTP(S) (the allowed protocols must include smtp or smtps).
  Result<void> send_mail(const MailRequest& mail);

  /// The options this client was made with.
  const HttpClientOptions& options() const;

  struct Impl;  ///< libcurl state (private to http_client.cc)

 private:
  std::unique_ptr<Impl> impl_;
};

/// `url` without user information ("user:password@"), as errors and logs show it.
std::string redact_url(std::string_view url);

}  // namespace mimamori::core
