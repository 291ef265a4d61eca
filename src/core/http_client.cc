// The one libcurl client. Pinning: OpenSSL's verify callback sees the leaf certificate of every
// handshake; the chain itself is not judged (a device's server usually has a self-signed
// certificate), the leaf must match the pin.

#include "mimamori/core/http_client.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>
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

}  // namespace

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
  }

  // The error of a failed transfer; a pin mismatch says so plainly.
  Error failure(CURLcode rc, std::string_view what, const std::string& url, const char* errbuf) {
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
