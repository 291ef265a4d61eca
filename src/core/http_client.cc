// The one libcurl client. Pinning: OpenSSL's verify callback sees the leaf certificate of every
// handshake; the chain itself is not judged (a device's server usually has a self-signed
// certificate), the leaf must match the pin. Destinations: curl's open-socket callback sees
// each resolved address before a socket exists for it; refusing there means not one packet
// goes to a refused address, and the address judged is the one connected to.

#include "mimamori/core/http_client.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <mutex>

#include "mimamori/core/hash.h"
#include "mimamori/core/text.h"

namespace mimamori::core {
namespace {

// What the TLS verify callback compares against and what it saw.
struct Pin {
  std::string expected;   // empty: accept and record (first contact)
  std::string seen;       // seen in this request's handshake (none on a reused connection)
  std::string last_seen;  // seen in the latest handshake of this client
};

int pin_index() {
  static int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Called by OpenSSL for each certificate of the chain; only the leaf (depth 0) is judged.
int verify_leaf(int /*preverify_ok*/, X509_STORE_CTX* store) {
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* pin = static_cast<Pin*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), pin_index()));
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  if (!pin || !cert) return 0;
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) return 0;
  pin->seen = sha256_hex({reinterpret_cast<const char*>(der), static_cast<size_t>(len)});
  OPENSSL_free(der);
  if (!pin->expected.empty() && pin->seen != pin->expected) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  return 1;
}

CURLcode setup_ssl_ctx(CURL*, void* ssl_ctx, void* user) {
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  SSL_CTX_set_ex_data(ctx, pin_index(), user);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_leaf);
  return CURLE_OK;
}

// The body so far and its bound; the transfer stops (write error) when the bound would pass.
struct BodySink {
  std::string* body;
  std::size_t max;
  bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  std::size_t len = size * n;
  if (sink->max && sink->body->size() + len > sink->max) {
    sink->too_large = true;
    return 0;
  }
  sink->body->append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * n);
  // A new status line (after a redirect or a 100 Continue) starts a new set of headers.
  if (line.starts_with("HTTP/")) {
    resp->headers.clear();
    return size * n;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos)
    resp->headers.emplace_back(to_lower(line.substr(0, colon)), trim(line.substr(colon + 1)));
  return size * n;
}

struct MailSource {
  std::string_view rest;
};

size_t feed_mail(char* out, size_t size, size_t n, void* user) {
  auto* src = static_cast<MailSource*>(user);
  std::size_t len = std::min(size * n, src->rest.size());
  std::memcpy(out, src->rest.data(), len);
  src->rest.remove_prefix(len);
  return len;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// --- where a connection may go --------------------------------------------------------------

// The IPv4 kinds that are not public (RFC 6890 and its updates), or empty.
std::string_view v4_kind(uint32_t a) {
  auto in = [a](uint32_t net, int len) { return (a >> (32 - len)) == (net >> (32 - len)); };
  if (in(0x00000000, 8)) return "unspecified (\"this network\", 0.0.0.0/8)";
  if (in(0x0a000000, 8)) return "private (RFC 1918)";
  if (in(0x64400000, 10)) return "shared address space (CGNAT, 100.64.0.0/10)";
  if (in(0x7f000000, 8)) return "loopback";
  if (in(0xa9fe0000, 16)) return "link-local (169.254.0.0/16, cloud metadata)";
  if (in(0xac100000, 12)) return "private (RFC 1918)";
  if (in(0xc0000000, 24)) return "IETF protocol assignments (192.0.0.0/24)";
  if (in(0xc0000200, 24)) return "documentation (192.0.2.0/24)";
  if (in(0xc0586300, 24)) return "6to4 relay anycast (192.88.99.0/24)";
  if (in(0xc0a80000, 16)) return "private (RFC 1918)";
  if (in(0xc6120000, 15)) return "benchmarking (198.18.0.0/15)";
  if (in(0xc6336400, 24)) return "documentation (198.51.100.0/24)";
  if (in(0xcb007100, 24)) return "documentation (203.0.113.0/24)";
  if (in(0xe0000000, 4)) return "multicast";
  if (a == 0xffffffff) return "broadcast";
  if (in(0xf0000000, 4)) return "reserved (240.0.0.0/4)";
  return {};
}

uint32_t be32(const uint8_t* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

// True when the first `len` bits of `b` and `net` agree.
bool prefix_match(const uint8_t* b, const uint8_t* net, int len) {
  int bytes = len / 8, bits = len % 8;
  if (std::memcmp(b, net, static_cast<size_t>(bytes)) != 0) return false;
  if (bits == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits));
  return (b[bytes] & mask) == (net[bytes] & mask);
}

bool v6_in(const uint8_t* b, std::initializer_list<uint8_t> head, int len) {
  uint8_t net[16] = {};
  std::copy(head.begin(), head.end(), net);
  return prefix_match(b, net, len);
}

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it reaches; others as given.
IpAddress unmapped(const IpAddress& a) {
  if (a.is_v6() && v6_in(a.bytes().data(), {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96))
    return IpAddress::v4(a.bytes().data() + 12);
  return a;
}

// A host name as allow lists hold them: letters, digits, '-', '_' and dots, not all digits.
bool host_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  bool letter = false;
  for (char c : s) {
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
      letter = true;
    } else if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') {
      return false;
    }
  }
  return letter && s.front() != '.' && s.find("..") == std::string_view::npos;
}

std::string normal_host(std::string_view h) {
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (!h.empty() && h.back() == '.') h.remove_suffix(1);
  return to_lower(h);
}

// What the open-socket callback judges against and what it refused.
struct Guard {
  const DestinationPolicy* policy = nullptr;
  CURL* curl = nullptr;
  std::string refused;  // the latest refusal of this transfer
};

curl_socket_t open_checked(void* user, curlsocktype /*purpose*/, curl_sockaddr* a) {
  auto* guard = static_cast<Guard*>(user);
  IpAddress ip;
  sockaddr_storage ss{};
  std::memcpy(&ss, &a->addr, std::min<std::size_t>(a->addrlen, sizeof ss));
  if (a->family == AF_INET) {
    ip = IpAddress::v4(
        reinterpret_cast<const uint8_t*>(&reinterpret_cast<sockaddr_in*>(&ss)->sin_addr));
  } else if (a->family == AF_INET6) {
    ip = IpAddress::v6(
        reinterpret_cast<const uint8_t*>(&reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr));
  } else {
    guard->refused = "only IP destinations are allowed";
    return CURL_SOCKET_BAD;
  }
  // The URL being fetched now (after a redirect, the new one): its host decides a host-name
  // allowance.
  char* url = nullptr;
  curl_easy_getinfo(guard->curl, CURLINFO_EFFECTIVE_URL, &url);
  std::string why = guard->policy->check(url_host(url ? url : ""), ip);
  if (!why.empty()) {
    guard->refused = std::move(why);
    return CURL_SOCKET_BAD;
  }
  return ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

}  // namespace

std::string non_public_kind(const IpAddress& address) {
  IpAddress a = unmapped(address);
  if (a.is_v4()) {
    auto kind = v4_kind(a.v4_host_order());
    if (kind.empty() || address.is_v4()) return std::string(kind);
    return fmt::format("{} (IPv4-mapped)", kind);
  }
  if (!a.is_v6()) return "not an IP address";
  const uint8_t* b = a.bytes().data();
  static const uint8_t kZero[16] = {};
  if (std::memcmp(b, kZero, 16) == 0) return "unspecified (::)";
  if (std::memcmp(b, kZero, 15) == 0 && b[15] == 1) return "loopback (::1)";
  // Translators and tunnels that carry an IPv4 address: judged by it.
  auto carried = [](uint32_t v4, std::string_view how) -> std::string {
    auto k = v4_kind(v4);
    return k.empty() ? std::string() : fmt::format("{} ({})", k, how);
  };
  if (v6_in(b, {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}, 96))
    return carried(be32(b + 12), "through NAT64");
  if (v6_in(b, {0x20, 0x02}, 16)) return carried(be32(b + 2), "through 6to4");
  if ((b[0] & 0xe0) != 0x20) {
    if (v6_in(b, {0xfc}, 7)) return "unique-local (fc00::/7)";
    if (v6_in(b, {0xfe, 0x80}, 10)) return "link-local (fe80::/10)";
    if (v6_in(b, {0xfe, 0xc0}, 10)) return "site-local (fec0::/10)";
    if (b[0] == 0xff) return "multicast";
    if (v6_in(b, {}, 96)) return "IPv4-compatible (::/96, deprecated)";
    if (v6_in(b, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48))
      return "local-use NAT64 (64:ff9b:1::/48)";
    if (v6_in(b, {0x01, 0x00, 0, 0, 0, 0, 0, 0}, 64)) return "discard-only (100::/64)";
    return "reserved (outside global unicast 2000::/3)";
  }
  if (v6_in(b, {0x20, 0x01, 0x0d, 0xb8}, 32)) return "documentation (2001:db8::/32)";
  if (v6_in(b, {0x3f, 0xff}, 20)) return "documentation (3fff::/20)";
  if (v6_in(b, {0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48)) return "benchmarking (2001:2::/48)";
  if (v6_in(b, {0x20, 0x01, 0x00, 0x00}, 32)) return "a Teredo tunnel (2001::/32)";
  return {};
}

Result<DestinationPolicy> DestinationPolicy::parse(const std::vector<std::string>& allow,
                                                   std::string hint) {
  DestinationPolicy p;
  p.hint = std::move(hint);
  for (const auto& item : allow)
    if (auto st = p.allow(item); !st.ok()) return st.error();
  return p;
}

Status DestinationPolicy::allow(std::string_view raw) {
  std::string_view item = trim(raw);
  auto slash = item.find('/');
  std::string_view addr = item.substr(0, slash);
  if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']')
    addr = addr.substr(1, addr.size() - 2);
  if (auto ip = IpAddress::parse(addr); ip.ok()) {
    int max = ip->is_v4() ? 32 : 128;
    int len = max;
    if (slash != std::string_view::npos) {
      std::string_view n = item.substr(slash + 1);
      auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), len);
      if (n.empty() || ec != std::errc() || end != n.data() + n.size() || len < 0 || len > max) {
        return make_error("allowed destination '{}': the prefix length must be 0 to {}", item, max);
      }
    }
    IpAddress net = *ip;
    // A mapped network is the IPv4 network it reaches.
    if (unmapped(net) != net && len >= 96) {
      net = unmapped(net);
      len -= 96;
    }
    // Host bits set ("10.1.2.3/8") mean the network they are in.
    std::array<uint8_t, 16> b = net.bytes();
    for (int i = 0; i < 16; ++i) {
      int keep = std::clamp(len - 8 * i, 0, 8);
      b[i] &= static_cast<uint8_t>(0xff00 >> keep);
    }
    networks.emplace_back(net.is_v4() ? IpAddress::v4(b.data()) : IpAddress::v6(b.data()), len);
    return {};
  }
  std::string host = normal_host(item);
  if (slash == std::string_view::npos && host_name(host)) {
    hosts.push_back(std::move(host));
    return {};
  }
  return make_error(
      "allowed destination '{}' is neither an address, a network (CIDR, as 10.0.0.0/8) nor a "
      "host name",
      item);
}

std::string DestinationPolicy::check(std::string_view host, const IpAddress& address) const {
  IpAddress a = unmapped(address);
  std::string h = normal_host(host);
  if (!h.empty() && std::find(hosts.begin(), hosts.end(), h) != hosts.end()) return {};
  for (const auto& [net, len] : networks) {
    if (net.family() == a.family() && prefix_match(a.bytes().data(), net.bytes().data(), len))
      return {};
  }
  std::string kind = non_public_kind(address);
  if (kind.empty()) return {};
  std::string shown = address.to_string();
  return fmt::format(
      "the destination {} is {}, and only public addresses are allowed; to allow it, add {}{} to "
      "{}",
      shown, kind, a.to_string(), h.empty() || h == shown ? "" : " (or the host name " + h + ")",
      hint);
}

std::optional<UrlParts> url_parts(std::string_view url) {
  CURLU* u = curl_url();
  if (!u) return std::nullopt;
  std::optional<UrlParts> out;
  const std::string s(url);
  char *scheme = nullptr, *host = nullptr, *port = nullptr;
  if (curl_url_set(u, CURLUPART_URL, s.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    out = UrlParts{to_lower(scheme), host, port, false};
    char* written = nullptr;
    out->port_written = curl_url_get(u, CURLUPART_PORT, &written, 0) == CURLUE_OK;
    curl_free(written);
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return out;
}

std::string url_host(std::string_view url) {
  auto parts = url_parts(url);
  return parts ? normal_host(parts->host) : std::string();
}

namespace {}  // namespace

std::string_view HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

std::string redact_url(std::string_view url) {
  auto scheme = url.find("://");
  std::size_t host = scheme == std::string_view::npos ? 0 : scheme + 3;
  std::size_t end = url.find_first_of("/?#", host);
  std::string_view authority = url.substr(host, end == std::string_view::npos ? end : end - host);
  auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, host));
  out.append(url.substr(host + at + 1));
  return out;
}

struct HttpClient::Impl {
  HttpClientOptions options;
  CURL* curl = nullptr;
  Pin pin;
  Guard guard;

  // The settings every transfer shares: protocols, time bounds, TLS trust.
  void common(CURL* c, char* errbuf) {
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, options.protocols.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (options.connect_timeout_s > 0)
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_s);
    if (options.timeout_s > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT, options.timeout_s);
    if (!options.user_agent.empty())
      curl_easy_setopt(c, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (options.pin_leaf) {
      // Trust comes from the pin, not from a CA: curl's own chain check is off, ours is on.
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
      curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, setup_ssl_ctx);
      curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &pin);
      // A resumed TLS session skips certificate verification: never resume.
      curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
    }
    pin.seen.clear();
    guard.refused.clear();
    if (options.destinations) {
      guard.policy = &*options.destinations;
      guard.curl = c;
      curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_checked);
      curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &guard);
      // A proxy (from http_proxy and the like) would be the address judged, not the destination.
      curl_easy_setopt(c, CURLOPT_PROXY, "");
    }
  }

  // The error of a failed transfer; a pin mismatch says so plainly.
  Error failure(CURLcode rc, std::string_view what, const std::string& url, const char* errbuf) {
    if (rc == CURLE_COULDNT_CONNECT && !guard.refused.empty()) {
      return make_error_code(static_cast<int>(HttpErrorCode::kRefused), "{} {}: not sent: {}", what,
                             redact_url(url), guard.refused);
    }
    if (options.pin_leaf && !pin.expected.empty() && !pin.seen.empty() &&
        pin.seen != pin.expected) {
      return make_error_code(
          static_cast<int>(HttpErrorCode::kPinMismatch),
          "https: {}: the server's certificate fingerprint is {}, but {} is pinned; refusing "
          "to talk to it (re-enroll if the server's certificate was replaced)",
          redact_url(url), pin.seen, pin.expected);
    }
    return make_error_code(static_cast<int>(HttpErrorCode::kTransport), "{} {}: {}", what,
                           redact_url(url), errbuf[0] ? errbuf : curl_easy_strerror(rc));
  }
};

HttpClient::HttpClient(HttpClientOptions options) : impl_(new Impl) {
  global_init();
  impl_->options = std::move(options);
  impl_->pin.expected = impl_->options.pin;
  impl_->curl = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (impl_->curl) curl_easy_cleanup(impl_->curl);
}

const HttpClientOptions& HttpClient::options() const { return impl_->options; }

Result<HttpResponse> HttpClient::send(const HttpRequest& r) {
  CURL* c = impl_->curl;
  if (!c)
    return make_error_code(static_cast<int>(HttpErrorCode::kRefused),
                           "{} {}: libcurl could not be initialised", r.method, redact_url(r.url));
  curl_easy_reset(c);
  HttpResponse resp;
  BodySink sink{&resp.body, impl_->options.max_response_bytes};
  char errbuf[CURL_ERROR_SIZE] = {0};
  impl_->common(c, errbuf);
  curl_easy_setopt(c, CURLOPT_URL, r.url.c_str());
  if (r.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
  }
  curl_slist* list = nullptr;
  for (const auto& h : r.headers) list = curl_slist_append(list, h.c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
  if (impl_->options.follow_redirects) {
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    const std::string& redirect = impl_->options.redirect_protocols.empty()
                                      ? impl_->options.protocols
                                      : impl_->options.redirect_protocols;
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, redirect.c_str());
  }
  if (impl_->options.fail_on_http_error) curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(list);
  if (rc == CURLE_WRITE_ERROR && sink.too_large)
    return make_error_code(static_cast<int>(HttpErrorCode::kTooLarge),
                           "{} {}: the response is larger than {} bytes", r.method,
                           redact_url(r.url), impl_->options.max_response_bytes);
  if (rc == CURLE_HTTP_RETURNED_ERROR) {
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return make_error_code(static_cast<int>(HttpErrorCode::kHttpStatus), "{} {}: {}", r.method,
                           redact_url(r.url),
                           errbuf[0] ? errbuf : fmt::format("the server answered {}", status));
  }
  if (rc != CURLE_OK) return impl_->failure(rc, r.method, r.url, errbuf);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  if (impl_->options.pin_leaf) {
    // A reused keep-alive connection has no handshake: it still talks to the certificate seen
    // last.
    if (!impl_->pin.seen.empty()) impl_->pin.last_seen = impl_->pin.seen;
    resp.fingerprint = !impl_->pin.last_seen.empty() ? impl_->pin.last_seen : impl_->pin.expected;
  }
  return resp;
}

Result<void> HttpClient::send_mail(const MailRequest& m) {
  CURL* c = impl_->curl;
  if (!c)
    return make_error_code(static_cast<int>(HttpErrorCode::kRefused),
                           "SMTP {}: libcurl could not be initialised", redact_url(m.url));
  curl_easy_reset(c);
  char errbuf[CURL_ERROR_SIZE] = {0};
  impl_->common(c, errbuf);
  MailSource src{m.message};
  curl_slist* rcpt = nullptr;
  for (const auto& to : m.recipients) rcpt = curl_slist_append(rcpt, to.c_str());
  curl_easy_setopt(c, CURLOPT_URL, m.url.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, m.from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, feed_mail);
  curl_easy_setopt(c, CURLOPT_READDATA, &src);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(rcpt);
  if (rc != CURLE_OK) return impl_->failure(rc, "SMTP", m.url, errbuf);
  return {};
}

}  // namespace mimamori::core
