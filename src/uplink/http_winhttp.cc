// HttpsClient on Windows: WinHTTP (the system's proxy settings and TLS stack), with the server's
// leaf certificate pinned by its SHA-256 as on Linux. WinHTTP's own chain checks are turned off
// (the server's certificate is self-signed; trust is the pin). The pin is checked when the TLS
// handshake is done: a mismatch closes the request in WinHTTP's SENDING_REQUEST callback
// (before its headers go out, on Windows), and the body (an enrollment code, events) is written
// only after the pin was checked again. It is checked once more on the answer.

#include "mimamori/uplink/http.h"

#include <windows.h>
#include <winhttp.h>

#include <algorithm>
#include <string>

#include "mimamori/core/hash.h"

namespace mimamori::uplink {

using core::make_error;

namespace {

std::wstring widen(std::string_view s) {
  if (s.empty()) return {};
  int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
  std::wstring out(static_cast<std::size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), out.data(), n);
  return out;
}

std::string narrow(std::wstring_view s) {
  if (s.empty()) return {};
  int n = WideCharToMultiByte(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0, nullptr,
                              nullptr);
  std::string out(static_cast<std::size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), out.data(), n, nullptr,
                      nullptr);
  return out;
}

std::string error_text(DWORD code) {
  wchar_t* buf = nullptr;
  HMODULE winhttp = GetModuleHandleW(L"winhttp.dll");
  DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                               FORMAT_MESSAGE_IGNORE_INSERTS |
                               (winhttp ? FORMAT_MESSAGE_FROM_HMODULE : 0),
                           winhttp, code, 0, reinterpret_cast<wchar_t*>(&buf), 0, nullptr);
  std::string text = n ? narrow(std::wstring_view(buf, n)) : std::string();
  if (buf) LocalFree(buf);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  if (text.empty()) text = "WinHTTP error";
  return text + " (" + std::to_string(code) + ")";
}

// The address without user information (core::redact_url's rule; core's HTTP client is not in
// the Windows build).
std::string redacted(std::string_view url) {
  auto scheme = url.find("://");
  std::size_t host = scheme == std::string_view::npos ? 0 : scheme + 3;
  std::size_t end = url.find_first_of("/?#", host);
  std::string_view authority = url.substr(host, end == std::string_view::npos ? end : end - host);
  auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, host)) + std::string(url.substr(host + at + 1));
}

// The leaf certificate's SHA-256 (hex) of a request whose handshake is done, or empty.
std::string leaf_fingerprint(HINTERNET request) {
  PCCERT_CONTEXT cert = nullptr;
  DWORD size = sizeof cert;
  if (!WinHttpQueryOption(request, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &cert, &size) || !cert)
    return {};
  std::string fp = core::sha256_hex(
      std::string_view(reinterpret_cast<const char*>(cert->pbCertEncoded), cert->cbCertEncoded));
  CertFreeCertificateContext(cert);
  return fp;
}

// What the SENDING_REQUEST callback found (the request's context value).
struct PinCheck {
  const std::string* pin = nullptr;
  std::string seen;
  bool mismatch = false;
};

void CALLBACK on_status(HINTERNET request, DWORD_PTR context, DWORD status, LPVOID, DWORD) {
  if (status != WINHTTP_CALLBACK_STATUS_SENDING_REQUEST || !context) return;
  auto* check = reinterpret_cast<PinCheck*>(context);
  check->seen = leaf_fingerprint(request);
  if (!check->pin->empty() && check->seen != *check->pin) {
    check->mismatch = true;
    WinHttpCloseHandle(request);  // cancels the request before its headers go out
  }
}

}  // namespace

struct HttpsClient::Impl {
  std::string pin;
  long timeout_s = 30;
  HINTERNET session = nullptr;
  std::wstring host;
  INTERNET_PORT port = 0;
  HINTERNET connection = nullptr;
  ~Impl() {
    if (connection) WinHttpCloseHandle(connection);
    if (session) WinHttpCloseHandle(session);
  }
};

HttpsClient::HttpsClient(std::string fingerprint, long timeout_s)
    : impl_(std::make_unique<Impl>()) {
  impl_->pin = std::move(fingerprint);
  impl_->timeout_s = timeout_s;
}

HttpsClient::~HttpsClient() = default;

core::Result<HttpResponse> HttpsClient::request(std::string_view method, const std::string& url,
                                                const std::vector<std::string>& headers,
                                                std::string_view body) {
  if (!url.starts_with("https://"))
    return make_error("https: '{}' is not an https:// address; the device speaks only HTTPS",
                      redacted(url));
  Impl& d = *impl_;
  std::wstring wurl = widen(url);
  URL_COMPONENTS uc{};
  uc.dwStructSize = sizeof uc;
  uc.dwHostNameLength = static_cast<DWORD>(-1);
  uc.dwUrlPathLength = static_cast<DWORD>(-1);
  uc.dwExtraInfoLength = static_cast<DWORD>(-1);
  if (!WinHttpCrackUrl(wurl.c_str(), static_cast<DWORD>(wurl.size()), 0, &uc))
    return make_error("https: '{}' is not a valid address: {}", redacted(url),
                      error_text(GetLastError()));
  std::wstring host(uc.lpszHostName, uc.dwHostNameLength);
  std::wstring path(uc.lpszUrlPath, uc.dwUrlPathLength);
  if (uc.lpszExtraInfo) path.append(uc.lpszExtraInfo, uc.dwExtraInfoLength);
  if (path.empty()) path = L"/";

  if (!d.session) {
    d.session = WinHttpOpen(L"mimamori-uplink/0.1.0", WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY,
                            WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
    if (!d.session)  // before Windows 8.1 (and some wine versions): the configured proxy
      d.session = WinHttpOpen(L"mimamori-uplink/0.1.0", WINHTTP_ACCESS_TYPE_DEFAULT_PROXY,
                              WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
    if (!d.session) return make_error("https: WinHttpOpen: {}", error_text(GetLastError()));
    int ms = static_cast<int>(d.timeout_s * 1000);
    WinHttpSetTimeouts(d.session, ms, 10'000, ms, ms);
    DWORD protocols = WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_2;
#ifdef WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3
    protocols |= WINHTTP_FLAG_SECURE_PROTOCOL_TLS1_3;
#endif
    WinHttpSetOption(d.session, WINHTTP_OPTION_SECURE_PROTOCOLS, &protocols, sizeof protocols);
  }
  if (!d.connection || d.host != host || d.port != uc.nPort) {
    if (d.connection) WinHttpCloseHandle(d.connection);
    d.connection = WinHttpConnect(d.session, host.c_str(), uc.nPort, 0);
    if (!d.connection)
      return make_error("https: cannot reach '{}': {}", redacted(url), error_text(GetLastError()));
    d.host = host;
    d.port = uc.nPort;
  }
  std::wstring wmethod = widen(method);
  HINTERNET req =
      WinHttpOpenRequest(d.connection, wmethod.c_str(), path.c_str(), nullptr, WINHTTP_NO_REFERER,
                         WINHTTP_DEFAULT_ACCEPT_TYPES, WINHTTP_FLAG_SECURE);
  if (!req) return make_error("https: WinHttpOpenRequest: {}", error_text(GetLastError()));
  PinCheck check;
  check.pin = &d.pin;
  bool closed_by_check = false;
  auto close_req = [&] {
    if (!check.mismatch && !closed_by_check) WinHttpCloseHandle(req);
    closed_by_check = true;
  };
  // Trust is the pin, not a CA: the chain, name and dates are not WinHTTP's to judge.
  DWORD sec = SECURITY_FLAG_IGNORE_UNKNOWN_CA | SECURITY_FLAG_IGNORE_CERT_DATE_INVALID |
              SECURITY_FLAG_IGNORE_CERT_CN_INVALID | SECURITY_FLAG_IGNORE_CERT_WRONG_USAGE;
  WinHttpSetOption(req, WINHTTP_OPTION_SECURITY_FLAGS, &sec, sizeof sec);
  WinHttpSetStatusCallback(req, on_status, WINHTTP_CALLBACK_FLAG_SEND_REQUEST, 0);
  std::wstring head;
  for (const auto& h : headers) head += widen(h) + L"\r\n";
  // The headers first, the body only once the pin is checked: an enrollment code or events
  // never reach a server that is not the pinned one, whatever WinHTTP does after a close in
  // the callback (wine goes on sending the headers).
  BOOL ok =
      WinHttpSendRequest(req, head.empty() ? WINHTTP_NO_ADDITIONAL_HEADERS : head.c_str(),
                         head.empty() ? 0 : static_cast<DWORD>(-1), WINHTTP_NO_REQUEST_DATA, 0,
                         static_cast<DWORD>(body.size()), reinterpret_cast<DWORD_PTR>(&check));
  if (ok && !check.mismatch && !d.pin.empty()) {
    check.seen = leaf_fingerprint(req);
    if (check.seen != d.pin) {
      check.mismatch = true;
      WinHttpCloseHandle(req);
    }
  }
  if (check.mismatch)
    return core::Error{"https: the server's certificate (SHA-256 " + check.seen +
                           ") is not the pinned one (" + d.pin + "); the request was not sent",
                       -1};
  for (std::size_t at = 0; ok && at < body.size();) {
    DWORD wrote = 0;
    DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(body.size() - at, 1u << 20));
    ok = WinHttpWriteData(req, body.data() + at, chunk, &wrote);
    at += wrote;
    if (ok && wrote == 0) ok = FALSE;
  }
  if (!ok || !WinHttpReceiveResponse(req, nullptr)) {
    DWORD err = GetLastError();
    close_req();
    return make_error("https: {} {}: {}", method, redacted(url), error_text(err));
  }
  HttpResponse resp;
  resp.fingerprint = leaf_fingerprint(req);
  if (resp.fingerprint.empty()) resp.fingerprint = check.seen;
  if (!d.pin.empty() && resp.fingerprint != d.pin) {
    close_req();
    return core::Error{"https: the server's certificate (SHA-256 " + resp.fingerprint +
                           ") is not the pinned one (" + d.pin + ")",
                       -1};
  }
  DWORD status = 0, size = sizeof status;
  WinHttpQueryHeaders(req, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                      WINHTTP_HEADER_NAME_BY_INDEX, &status, &size, WINHTTP_NO_HEADER_INDEX);
  resp.status = static_cast<long>(status);
  auto header = [&](const wchar_t* name) {
    DWORD len = 0;
    WinHttpQueryHeaders(req, WINHTTP_QUERY_CUSTOM, name, WINHTTP_NO_OUTPUT_BUFFER, &len,
                        WINHTTP_NO_HEADER_INDEX);
    if (GetLastError() != ERROR_INSUFFICIENT_BUFFER || len == 0) return std::string();
    std::wstring v(len / sizeof(wchar_t) + 1, L'\0');
    if (!WinHttpQueryHeaders(req, WINHTTP_QUERY_CUSTOM, name, v.data(), &len,
                             WINHTTP_NO_HEADER_INDEX))
      return std::string();
    v.resize(len / sizeof(wchar_t));
    return narrow(v);
  };
  resp.retry_after = header(L"Retry-After");
  resp.etag = header(L"ETag");
  for (;;) {
    DWORD avail = 0;
    if (!WinHttpQueryDataAvailable(req, &avail)) {
      DWORD err = GetLastError();
      close_req();
      return make_error("https: reading the answer of {}: {}", redacted(url), error_text(err));
    }
    if (avail == 0) break;
    std::size_t at = resp.body.size();
    resp.body.resize(at + avail);
    DWORD got = 0;
    if (!WinHttpReadData(req, resp.body.data() + at, avail, &got)) {
      DWORD err = GetLastError();
      close_req();
      return make_error("https: reading the answer of {}: {}", redacted(url), error_text(err));
    }
    resp.body.resize(at + got);
  }
  close_req();
  return resp;
}

}  // namespace mimamori::uplink
