#include "mimamori/net/rules/buffers.h"

#include <array>

namespace mimamori::net::rules {

namespace {

struct BufferInfo {
  std::string_view name;
  BufferSide side;
  std::string_view protocol;
};

// Indexed by BufferId; the static_assert below keeps the table and the enum in step.
constexpr std::array<BufferInfo, kBufferCount> kInfo{{
    {"pkt_data", BufferSide::kEither, ""},
    {"http.uri", BufferSide::kToServer, "http"},
    {"http.uri.raw", BufferSide::kToServer, "http"},
    {"http.method", BufferSide::kToServer, "http"},
    {"http.host", BufferSide::kToServer, "http"},
    {"http.host.raw", BufferSide::kToServer, "http"},
    {"http.user_agent", BufferSide::kToServer, "http"},
    {"http.header", BufferSide::kEither, "http"},
    {"http.header.raw", BufferSide::kEither, "http"},
    {"http.header_names", BufferSide::kEither, "http"},
    {"http.cookie", BufferSide::kEither, "http"},
    {"http.request_body", BufferSide::kToServer, "http"},
    {"http.response_body", BufferSide::kToClient, "http"},
    {"http.stat_code", BufferSide::kToClient, "http"},
    {"http.stat_msg", BufferSide::kToClient, "http"},
    {"http.content_type", BufferSide::kEither, "http"},
    {"http.content_len", BufferSide::kEither, "http"},
    {"http.referer", BufferSide::kToServer, "http"},
    {"http.request_line", BufferSide::kToServer, "http"},
    {"http.response_line", BufferSide::kToClient, "http"},
    {"http.start", BufferSide::kEither, "http"},
    {"http.location", BufferSide::kToClient, "http"},
    {"http.server", BufferSide::kToClient, "http"},
    {"http.accept", BufferSide::kToServer, "http"},
    {"http.accept_enc", BufferSide::kToServer, "http"},
    {"http.accept_lang", BufferSide::kToServer, "http"},
    {"http.connection", BufferSide::kEither, "http"},
    {"http.protocol", BufferSide::kEither, "http"},
    {"file.data", BufferSide::kEither, ""},
    {"dns.query", BufferSide::kToServer, "dns"},
    {"tls.sni", BufferSide::kToServer, "tls"},
    {"tls.cert_subject", BufferSide::kEither, "tls"},
    {"tls.cert_issuer", BufferSide::kEither, "tls"},
    {"tls.cert_serial", BufferSide::kEither, "tls"},
    {"tls.cert_fingerprint", BufferSide::kEither, "tls"},
    {"tls.certs", BufferSide::kEither, "tls"},
    {"ja3.hash", BufferSide::kToServer, "tls"},
    {"ja3.string", BufferSide::kToServer, "tls"},
    {"ja3s.hash", BufferSide::kToClient, "tls"},
    {"ja3s.string", BufferSide::kToClient, "tls"},
    {"ja4.hash", BufferSide::kToServer, "tls"},
    {"ssh.proto", BufferSide::kEither, "ssh"},
    {"ssh.software", BufferSide::kEither, "ssh"},
}};

struct Alias {
  std::string_view keyword;
  BufferId id;
};

// Sticky-buffer keywords, modern names and the underscore spellings Suricata still accepts.
constexpr Alias kSticky[] = {
    {"pkt_data", BufferId::kPayload},
    {"http.uri", BufferId::kHttpUri},
    {"http.uri.raw", BufferId::kHttpUriRaw},
    {"http.method", BufferId::kHttpMethod},
    {"http.host", BufferId::kHttpHost},
    {"http.host.raw", BufferId::kHttpHostRaw},
    {"http.user_agent", BufferId::kHttpUserAgent},
    {"http.header", BufferId::kHttpHeader},
    {"http.header.raw", BufferId::kHttpHeaderRaw},
    {"http.header_names", BufferId::kHttpHeaderNames},
    {"http.cookie", BufferId::kHttpCookie},
    {"http.request_body", BufferId::kHttpRequestBody},
    {"http.client_body", BufferId::kHttpRequestBody},
    {"http.response_body", BufferId::kHttpResponseBody},
    {"http.server_body", BufferId::kHttpResponseBody},
    {"http.stat_code", BufferId::kHttpStatCode},
    {"http.stat_msg", BufferId::kHttpStatMsg},
    {"http.content_type", BufferId::kHttpContentType},
    {"http.content_len", BufferId::kHttpContentLen},
    {"http.referer", BufferId::kHttpReferer},
    {"http.request_line", BufferId::kHttpRequestLine},
    {"http_request_line", BufferId::kHttpRequestLine},
    {"http.response_line", BufferId::kHttpResponseLine},
    {"http_response_line", BufferId::kHttpResponseLine},
    {"http.start", BufferId::kHttpStart},
    {"http_start", BufferId::kHttpStart},
    {"http.location", BufferId::kHttpLocation},
    {"http.server", BufferId::kHttpServer},
    {"http.accept", BufferId::kHttpAccept},
    {"http_accept", BufferId::kHttpAccept},
    {"http.accept_enc", BufferId::kHttpAcceptEnc},
    {"http_accept_enc", BufferId::kHttpAcceptEnc},
    {"http.accept_lang", BufferId::kHttpAcceptLang},
    {"http_accept_lang", BufferId::kHttpAcceptLang},
    {"http.connection", BufferId::kHttpConnection},
    {"http_connection", BufferId::kHttpConnection},
    {"http.protocol", BufferId::kHttpProtocol},
    {"http_protocol", BufferId::kHttpProtocol},
    {"http_header_names", BufferId::kHttpHeaderNames},
    {"http_content_type", BufferId::kHttpContentType},
    {"http_content_len", BufferId::kHttpContentLen},
    {"http_referer", BufferId::kHttpReferer},
    {"file.data", BufferId::kFileData},
    {"file_data", BufferId::kFileData},
    {"dns.query", BufferId::kDnsQuery},
    {"dns_query", BufferId::kDnsQuery},
    {"tls.sni", BufferId::kTlsSni},
    {"tls_sni", BufferId::kTlsSni},
    {"tls.cert_subject", BufferId::kTlsCertSubject},
    {"tls_cert_subject", BufferId::kTlsCertSubject},
    {"tls.cert_issuer", BufferId::kTlsCertIssuer},
    {"tls_cert_issuer", BufferId::kTlsCertIssuer},
    {"tls.cert_serial", BufferId::kTlsCertSerial},
    {"tls_cert_serial", BufferId::kTlsCertSerial},
    {"tls.cert_fingerprint", BufferId::kTlsCertFingerprint},
    {"tls_cert_fingerprint", BufferId::kTlsCertFingerprint},
    {"tls.certs", BufferId::kTlsCerts},
    {"ja3.hash", BufferId::kJa3Hash},
    {"ja3_hash", BufferId::kJa3Hash},
    {"ja3.string", BufferId::kJa3String},
    {"ja3_string", BufferId::kJa3String},
    {"ja3s.hash", BufferId::kJa3sHash},
    {"ja3s_hash", BufferId::kJa3sHash},
    {"ja3s.string", BufferId::kJa3sString},
    {"ja3s_string", BufferId::kJa3sString},
    {"ja4.hash", BufferId::kJa4Hash},
    {"ssh.proto", BufferId::kSshProto},
    {"ssh_proto", BufferId::kSshProto},
    {"ssh.software", BufferId::kSshSoftware},
    {"ssh_software", BufferId::kSshSoftware},
};

// Content modifiers of the pre-5.0 syntax: they move the content just before them.
constexpr Alias kLegacy[] = {
    {"http_uri", BufferId::kHttpUri},
    {"http_raw_uri", BufferId::kHttpUriRaw},
    {"http_method", BufferId::kHttpMethod},
    {"http_host", BufferId::kHttpHost},
    {"http_raw_host", BufferId::kHttpHostRaw},
    {"http_user_agent", BufferId::kHttpUserAgent},
    {"http_header", BufferId::kHttpHeader},
    {"http_raw_header", BufferId::kHttpHeaderRaw},
    {"http_cookie", BufferId::kHttpCookie},
    {"http_client_body", BufferId::kHttpRequestBody},
    {"http_server_body", BufferId::kHttpResponseBody},
    {"http_stat_code", BufferId::kHttpStatCode},
    {"http_stat_msg", BufferId::kHttpStatMsg},
};

}  // namespace

static_assert(kInfo.size() == kBufferCount);

std::string_view buffer_name(BufferId id) { return kInfo[static_cast<size_t>(id)].name; }
BufferSide buffer_side(BufferId id) { return kInfo[static_cast<size_t>(id)].side; }
std::string_view buffer_protocol(BufferId id) { return kInfo[static_cast<size_t>(id)].protocol; }
bool buffer_is_multi(BufferId id) { return id == BufferId::kTlsCerts; }

std::optional<BufferId> sticky_buffer(std::string_view keyword) {
  for (const auto& a : kSticky) {
    if (a.keyword == keyword) return a.id;
  }
  return std::nullopt;
}

std::optional<BufferId> legacy_modifier_buffer(std::string_view keyword) {
  for (const auto& a : kLegacy) {
    if (a.keyword == keyword) return a.id;
  }
  return std::nullopt;
}

}  // namespace mimamori::net::rules
