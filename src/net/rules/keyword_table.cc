// The rule keyword table: one row per keyword, listed here and nowhere else. A new keyword is
// a row (name, handler, buffer, flags) and a handler in the keywords_*.cc of its kind.

#include "keyword_table.h"

#include <unordered_map>

#include "mimamori/core/assert.h"

namespace mimamori::net::rules {

namespace {

// The buffer of a row that neither selects a buffer nor moves a content into one.
constexpr BufferId kNoBuffer = BufferId::kCount;

constexpr Keyword kKeywords[] = {
    // What the rule is.
    {"msg", keywords::msg, kNoBuffer, kNeedsValue},
    {"sid", keywords::sid, kNoBuffer, 0},
    {"rev", keywords::rev, kNoBuffer, 0},
    {"gid", keywords::gid, kNoBuffer, 0},
    {"classtype", keywords::classtype, kNoBuffer, kNeedsValue},
    {"priority", keywords::priority, kNoBuffer, 0},
    {"reference", keywords::reference, kNoBuffer, kNeedsValue},
    {"metadata", keywords::metadata, kNoBuffer, 0},
    {"target", keywords::target, kNoBuffer, 0},
    {"noalert", keywords::noalert, kNoBuffer, 0},
    // Content and its modifiers (they act on the rule's last content).
    {"content", keywords::content, kNoBuffer, kNeedsValue},
    {"nocase", keywords::nocase, kNoBuffer, kContentModifier | kNeedsContent},
    {"rawbytes", keywords::rawbytes, kNoBuffer, kContentModifier | kNeedsContent},
    {"startswith", keywords::startswith, kNoBuffer, kContentModifier | kNeedsContent},
    {"endswith", keywords::endswith, kNoBuffer, kContentModifier | kNeedsContent},
    {"fast_pattern", keywords::fast_pattern, kNoBuffer, kContentModifier | kNeedsContent},
    {"depth", keywords::position, kNoBuffer, kContentModifier | kNeedsContent},
    {"offset", keywords::position, kNoBuffer, kContentModifier | kNeedsContent},
    {"distance", keywords::position, kNoBuffer, kContentModifier | kNeedsContent},
    {"within", keywords::position, kNoBuffer, kContentModifier | kNeedsContent},
    {"pcre", keywords::pcre, kNoBuffer, kNeedsValue},
    // Buffer sizes and shapes.
    {"urilen", keywords::urilen, kNoBuffer, 0},
    {"bsize", keywords::bsize, kNoBuffer, 0},
    {"dotprefix", keywords::dotprefix, kNoBuffer, 0},
    // Sticky buffers: modern names and the underscore spellings Suricata still accepts.
    {"pkt_data", keywords::select_buffer, BufferId::kPayload, kStickyBuffer},
    {"http.uri", keywords::select_buffer, BufferId::kHttpUri, kStickyBuffer},
    {"http.uri.raw", keywords::select_buffer, BufferId::kHttpUriRaw, kStickyBuffer},
    {"http.method", keywords::select_buffer, BufferId::kHttpMethod, kStickyBuffer},
    {"http.host", keywords::select_buffer, BufferId::kHttpHost, kStickyBuffer},
    {"http.host.raw", keywords::select_buffer, BufferId::kHttpHostRaw, kStickyBuffer},
    {"http.user_agent", keywords::select_buffer, BufferId::kHttpUserAgent, kStickyBuffer},
    {"http.header", keywords::select_buffer, BufferId::kHttpHeader, kStickyBuffer},
    {"http.header.raw", keywords::select_buffer, BufferId::kHttpHeaderRaw, kStickyBuffer},
    {"http.header_names", keywords::select_buffer, BufferId::kHttpHeaderNames, kStickyBuffer},
    {"http.cookie", keywords::select_buffer, BufferId::kHttpCookie, kStickyBuffer},
    {"http.request_body", keywords::select_buffer, BufferId::kHttpRequestBody, kStickyBuffer},
    {"http.client_body", keywords::select_buffer, BufferId::kHttpRequestBody, kStickyBuffer},
    {"http.response_body", keywords::select_buffer, BufferId::kHttpResponseBody, kStickyBuffer},
    {"http.server_body", keywords::select_buffer, BufferId::kHttpResponseBody, kStickyBuffer},
    {"http.stat_code", keywords::select_buffer, BufferId::kHttpStatCode, kStickyBuffer},
    {"http.stat_msg", keywords::select_buffer, BufferId::kHttpStatMsg, kStickyBuffer},
    {"http.content_type", keywords::select_buffer, BufferId::kHttpContentType, kStickyBuffer},
    {"http.content_len", keywords::select_buffer, BufferId::kHttpContentLen, kStickyBuffer},
    {"http.referer", keywords::select_buffer, BufferId::kHttpReferer, kStickyBuffer},
    {"http.request_line", keywords::select_buffer, BufferId::kHttpRequestLine, kStickyBuffer},
    {"http_request_line", keywords::select_buffer, BufferId::kHttpRequestLine, kStickyBuffer},
    {"http.response_line", keywords::select_buffer, BufferId::kHttpResponseLine, kStickyBuffer},
    {"http_response_line", keywords::select_buffer, BufferId::kHttpResponseLine, kStickyBuffer},
    {"http.start", keywords::select_buffer, BufferId::kHttpStart, kStickyBuffer},
    {"http_start", keywords::select_buffer, BufferId::kHttpStart, kStickyBuffer},
    {"http.location", keywords::select_buffer, BufferId::kHttpLocation, kStickyBuffer},
    {"http.server", keywords::select_buffer, BufferId::kHttpServer, kStickyBuffer},
    {"http.accept", keywords::select_buffer, BufferId::kHttpAccept, kStickyBuffer},
    {"http_accept", keywords::select_buffer, BufferId::kHttpAccept, kStickyBuffer},
    {"http.accept_enc", keywords::select_buffer, BufferId::kHttpAcceptEnc, kStickyBuffer},
    {"http_accept_enc", keywords::select_buffer, BufferId::kHttpAcceptEnc, kStickyBuffer},
    {"http.accept_lang", keywords::select_buffer, BufferId::kHttpAcceptLang, kStickyBuffer},
    {"http_accept_lang", keywords::select_buffer, BufferId::kHttpAcceptLang, kStickyBuffer},
    {"http.connection", keywords::select_buffer, BufferId::kHttpConnection, kStickyBuffer},
    {"http_connection", keywords::select_buffer, BufferId::kHttpConnection, kStickyBuffer},
    {"http.protocol", keywords::select_buffer, BufferId::kHttpProtocol, kStickyBuffer},
    {"http_protocol", keywords::select_buffer, BufferId::kHttpProtocol, kStickyBuffer},
    {"http_header_names", keywords::select_buffer, BufferId::kHttpHeaderNames, kStickyBuffer},
    {"http_content_type", keywords::select_buffer, BufferId::kHttpContentType, kStickyBuffer},
    {"http_content_len", keywords::select_buffer, BufferId::kHttpContentLen, kStickyBuffer},
    {"http_referer", keywords::select_buffer, BufferId::kHttpReferer, kStickyBuffer},
    {"file.data", keywords::select_buffer, BufferId::kFileData, kStickyBuffer},
    {"file_data", keywords::select_buffer, BufferId::kFileData, kStickyBuffer},
    {"dns.query", keywords::select_buffer, BufferId::kDnsQuery, kStickyBuffer},
    {"dns_query", keywords::select_buffer, BufferId::kDnsQuery, kStickyBuffer},
    {"tls.sni", keywords::select_buffer, BufferId::kTlsSni, kStickyBuffer},
    {"tls_sni", keywords::select_buffer, BufferId::kTlsSni, kStickyBuffer},
    {"tls.cert_subject", keywords::select_buffer, BufferId::kTlsCertSubject, kStickyBuffer},
    {"tls_cert_subject", keywords::select_buffer, BufferId::kTlsCertSubject, kStickyBuffer},
    {"tls.cert_issuer", keywords::select_buffer, BufferId::kTlsCertIssuer, kStickyBuffer},
    {"tls_cert_issuer", keywords::select_buffer, BufferId::kTlsCertIssuer, kStickyBuffer},
    {"tls.cert_serial", keywords::select_buffer, BufferId::kTlsCertSerial, kStickyBuffer},
    {"tls_cert_serial", keywords::select_buffer, BufferId::kTlsCertSerial, kStickyBuffer},
    {"tls.cert_fingerprint", keywords::select_buffer, BufferId::kTlsCertFingerprint, kStickyBuffer},
    {"tls_cert_fingerprint", keywords::select_buffer, BufferId::kTlsCertFingerprint, kStickyBuffer},
    {"tls.certs", keywords::select_buffer, BufferId::kTlsCerts, kStickyBuffer},
    {"ja3.hash", keywords::select_buffer, BufferId::kJa3Hash, kStickyBuffer},
    {"ja3_hash", keywords::select_buffer, BufferId::kJa3Hash, kStickyBuffer},
    {"ja3.string", keywords::select_buffer, BufferId::kJa3String, kStickyBuffer},
    {"ja3_string", keywords::select_buffer, BufferId::kJa3String, kStickyBuffer},
    {"ja3s.hash", keywords::select_buffer, BufferId::kJa3sHash, kStickyBuffer},
    {"ja3s_hash", keywords::select_buffer, BufferId::kJa3sHash, kStickyBuffer},
    {"ja3s.string", keywords::select_buffer, BufferId::kJa3sString, kStickyBuffer},
    {"ja3s_string", keywords::select_buffer, BufferId::kJa3sString, kStickyBuffer},
    {"ja4.hash", keywords::select_buffer, BufferId::kJa4Hash, kStickyBuffer},
    {"ssh.proto", keywords::select_buffer, BufferId::kSshProto, kStickyBuffer},
    {"ssh_proto", keywords::select_buffer, BufferId::kSshProto, kStickyBuffer},
    {"ssh.software", keywords::select_buffer, BufferId::kSshSoftware, kStickyBuffer},
    {"ssh_software", keywords::select_buffer, BufferId::kSshSoftware, kStickyBuffer},
    // Content modifiers of the pre-5.0 syntax: they move the content just before them.
    {"http_uri", keywords::move_content, BufferId::kHttpUri, kLegacyModifier | kNeedsContent},
    {"http_raw_uri", keywords::move_content, BufferId::kHttpUriRaw,
     kLegacyModifier | kNeedsContent},
    {"http_method", keywords::move_content, BufferId::kHttpMethod, kLegacyModifier | kNeedsContent},
    {"http_host", keywords::move_content, BufferId::kHttpHost, kLegacyModifier | kNeedsContent},
    {"http_raw_host", keywords::move_content, BufferId::kHttpHostRaw,
     kLegacyModifier | kNeedsContent},
    {"http_user_agent", keywords::move_content, BufferId::kHttpUserAgent,
     kLegacyModifier | kNeedsContent},
    {"http_header", keywords::move_content, BufferId::kHttpHeader, kLegacyModifier | kNeedsContent},
    {"http_raw_header", keywords::move_content, BufferId::kHttpHeaderRaw,
     kLegacyModifier | kNeedsContent},
    {"http_cookie", keywords::move_content, BufferId::kHttpCookie, kLegacyModifier | kNeedsContent},
    {"http_client_body", keywords::move_content, BufferId::kHttpRequestBody,
     kLegacyModifier | kNeedsContent},
    {"http_server_body", keywords::move_content, BufferId::kHttpResponseBody,
     kLegacyModifier | kNeedsContent},
    {"http_stat_code", keywords::move_content, BufferId::kHttpStatCode,
     kLegacyModifier | kNeedsContent},
    {"http_stat_msg", keywords::move_content, BufferId::kHttpStatMsg,
     kLegacyModifier | kNeedsContent},
    // Byte reads.
    {"byte_test", keywords::byte_test, kNoBuffer, kNeedsValue},
    {"byte_jump", keywords::byte_jump, kNoBuffer, kNeedsValue},
    {"byte_extract", keywords::byte_extract, kNoBuffer, kNeedsValue},
    {"isdataat", keywords::isdataat, kNoBuffer, kNeedsValue},
    // Flow state, bits and counters, thresholds, tags.
    {"flow", keywords::flow, kNoBuffer, kNeedsValue},
    {"flowbits", keywords::flowbits, kNoBuffer, kNeedsValue},
    {"xbits", keywords::xbits, kNoBuffer, kNeedsValue},
    {"flowint", keywords::flowint, kNoBuffer, kNeedsValue},
    {"threshold", keywords::threshold, kNoBuffer, kNeedsValue},
    {"detection_filter", keywords::threshold, kNoBuffer, kNeedsValue},
    {"tag", keywords::tag, kNoBuffer, kNeedsValue},
    {"stream_size", keywords::stream_size, kNoBuffer, 0},
    {"app-layer-protocol", keywords::app_layer_protocol, kNoBuffer, kNeedsValue},
    // Packet and header fields.
    {"dsize", keywords::dsize, kNoBuffer, 0},
    {"itype", keywords::icmp_field, kNoBuffer, 0},
    {"icode", keywords::icmp_field, kNoBuffer, 0},
    {"flags", keywords::flags, kNoBuffer, kNeedsValue},
    {"ip_proto", keywords::ip_proto, kNoBuffer, 0},
    {"tls.version", keywords::tls_version, kNoBuffer, 0},

    // Known Suricata keywords that are not evaluated: a rule using one is skipped with
    // "unsupported keyword 'name'". Grouped by why.
    // Payload decoding, ASN.1 and scripts: not built.
    {"base64_decode", nullptr, kNoBuffer, kUnsupported},
    {"base64_data", nullptr, kNoBuffer, kUnsupported},
    {"app-layer-event", nullptr, kNoBuffer, kUnsupported},
    {"asn1", nullptr, kNoBuffer, kUnsupported},
    {"lua", nullptr, kNoBuffer, kUnsupported},
    {"luajit", nullptr, kNoBuffer, kUnsupported},
    // Files: no file tracking or extraction.
    {"filestore", nullptr, kNoBuffer, kUnsupported},
    {"filemagic", nullptr, kNoBuffer, kUnsupported},
    {"filename", nullptr, kNoBuffer, kUnsupported},
    {"fileext", nullptr, kNoBuffer, kUnsupported},
    {"filemd5", nullptr, kNoBuffer, kUnsupported},
    {"filesha1", nullptr, kNoBuffer, kUnsupported},
    {"filesha256", nullptr, kNoBuffer, kUnsupported},
    {"filesize", nullptr, kNoBuffer, kUnsupported},
    {"file.name", nullptr, kNoBuffer, kUnsupported},
    {"file.magic", nullptr, kNoBuffer, kUnsupported},
    // Arithmetic, reputation, geography and data sets: not built.
    {"byte_math", nullptr, kNoBuffer, kUnsupported},
    {"iprep", nullptr, kNoBuffer, kUnsupported},
    {"geoip", nullptr, kNoBuffer, kUnsupported},
    {"datarep", nullptr, kNoBuffer, kUnsupported},
    {"dataset", nullptr, kNoBuffer, kUnsupported},
    // Decoder, stream and engine events: not raised as rule input.
    {"decode-event", nullptr, kNoBuffer, kUnsupported},
    {"stream-event", nullptr, kNoBuffer, kUnsupported},
    {"engine-event", nullptr, kNoBuffer, kUnsupported},
    // TLS state and certificate fields: not kept.
    {"ssl_state", nullptr, kNoBuffer, kUnsupported},
    {"ssl_version", nullptr, kNoBuffer, kUnsupported},
    {"tls.store", nullptr, kNoBuffer, kUnsupported},
    {"tls_cert_notbefore", nullptr, kNoBuffer, kUnsupported},
    {"tls_cert_notafter", nullptr, kNoBuffer, kUnsupported},
    {"tls_cert_expired", nullptr, kNoBuffer, kUnsupported},
    {"tls_cert_valid", nullptr, kNoBuffer, kUnsupported},
    {"tls.subjectaltname", nullptr, kNoBuffer, kUnsupported},
    // Protocols the sensor does not parse.
    {"dnp3_func", nullptr, kNoBuffer, kUnsupported},
    {"dnp3_ind", nullptr, kNoBuffer, kUnsupported},
    {"dnp3_obj", nullptr, kNoBuffer, kUnsupported},
    {"dnp3_data", nullptr, kNoBuffer, kUnsupported},
    {"modbus", nullptr, kNoBuffer, kUnsupported},
    {"enip_command", nullptr, kNoBuffer, kUnsupported},
    {"cip_service", nullptr, kNoBuffer, kUnsupported},
    {"dce_iface", nullptr, kNoBuffer, kUnsupported},
    {"dce_opnum", nullptr, kNoBuffer, kUnsupported},
    {"dce_stub_data", nullptr, kNoBuffer, kUnsupported},
    {"smb.named_pipe", nullptr, kNoBuffer, kUnsupported},
    {"smb.share", nullptr, kNoBuffer, kUnsupported},
    {"krb5_msg_type", nullptr, kNoBuffer, kUnsupported},
    {"krb5_cname", nullptr, kNoBuffer, kUnsupported},
    {"krb5_sname", nullptr, kNoBuffer, kUnsupported},
    {"sip.method", nullptr, kNoBuffer, kUnsupported},
    {"sip.uri", nullptr, kNoBuffer, kUnsupported},
    {"http2.header", nullptr, kNoBuffer, kUnsupported},
    {"http2.frametype", nullptr, kNoBuffer, kUnsupported},
    {"quic.sni", nullptr, kNoBuffer, kUnsupported},
    {"snmp.community", nullptr, kNoBuffer, kUnsupported},
    {"ftpbounce", nullptr, kNoBuffer, kUnsupported},
    {"ftpdata_command", nullptr, kNoBuffer, kUnsupported},
    // Raw packet data and inline rewriting.
    {"pkt_data_raw", nullptr, kNoBuffer, kUnsupported},
    {"replace", nullptr, kNoBuffer, kUnsupported},
    // IP, TCP and ICMP header fields and header buffers: not evaluated.
    {"ttl", nullptr, kNoBuffer, kUnsupported},
    {"tos", nullptr, kNoBuffer, kUnsupported},
    {"id", nullptr, kNoBuffer, kUnsupported},
    {"ipopts", nullptr, kNoBuffer, kUnsupported},
    {"fragbits", nullptr, kNoBuffer, kUnsupported},
    {"fragoffset", nullptr, kNoBuffer, kUnsupported},
    {"seq", nullptr, kNoBuffer, kUnsupported},
    {"ack", nullptr, kNoBuffer, kUnsupported},
    {"window", nullptr, kNoBuffer, kUnsupported},
    {"icmp_id", nullptr, kNoBuffer, kUnsupported},
    {"icmp_seq", nullptr, kNoBuffer, kUnsupported},
    {"sameip", nullptr, kNoBuffer, kUnsupported},
    {"rpc", nullptr, kNoBuffer, kUnsupported},
    {"tcp.mss", nullptr, kNoBuffer, kUnsupported},
    {"ipv4.hdr", nullptr, kNoBuffer, kUnsupported},
    {"tcp.hdr", nullptr, kNoBuffer, kUnsupported},
    {"udp.hdr", nullptr, kNoBuffer, kUnsupported},
    {"icmpv4.hdr", nullptr, kNoBuffer, kUnsupported},
    {"ipv6.hdr", nullptr, kNoBuffer, kUnsupported},
    {"frame", nullptr, kNoBuffer, kUnsupported},
    // Transforms: buffers are inspected as they are.
    {"to_lowercase", nullptr, kNoBuffer, kUnsupported},
    {"to_uppercase", nullptr, kNoBuffer, kUnsupported},
    {"to_md5", nullptr, kNoBuffer, kUnsupported},
    {"to_sha1", nullptr, kNoBuffer, kUnsupported},
    {"to_sha256", nullptr, kNoBuffer, kUnsupported},
    {"compress_whitespace", nullptr, kNoBuffer, kUnsupported},
    {"strip_whitespace", nullptr, kNoBuffer, kUnsupported},
    {"url_decode", nullptr, kNoBuffer, kUnsupported},
    {"xor", nullptr, kNoBuffer, kUnsupported},
    {"pcrexform", nullptr, kNoBuffer, kUnsupported},
    {"header_lowercase", nullptr, kNoBuffer, kUnsupported},
    {"strip_pseudo_headers", nullptr, kNoBuffer, kUnsupported},
    {"from_base64", nullptr, kNoBuffer, kUnsupported},
    {"luaxform", nullptr, kNoBuffer, kUnsupported},
    {"transforms", nullptr, kNoBuffer, kUnsupported},
    // Engine directives.
    {"config", nullptr, kNoBuffer, kUnsupported},
    {"requires", nullptr, kNoBuffer, kUnsupported},
    {"prefilter", nullptr, kNoBuffer, kUnsupported},
    {"entropy", nullptr, kNoBuffer, kUnsupported},
    // Fingerprints and buffers of parsed protocols that are not filled.
    {"ja4s.hash", nullptr, kNoBuffer, kUnsupported},
    {"ssh.hassh", nullptr, kNoBuffer, kUnsupported},
    {"ssh.hassh.server", nullptr, kNoBuffer, kUnsupported},
    {"ssh.hassh.string", nullptr, kNoBuffer, kUnsupported},
    {"ssh.hassh.server.string", nullptr, kNoBuffer, kUnsupported},
    {"hassh", nullptr, kNoBuffer, kUnsupported},
    {"dns.opcode", nullptr, kNoBuffer, kUnsupported},
    {"dns.answer.name", nullptr, kNoBuffer, kUnsupported},
    {"dns.queries.rrname", nullptr, kNoBuffer, kUnsupported},
    {"dns.answers.rrname", nullptr, kNoBuffer, kUnsupported},
    {"dns.rrtype", nullptr, kNoBuffer, kUnsupported},
    {"http.request_header", nullptr, kNoBuffer, kUnsupported},
    {"http.response_header", nullptr, kNoBuffer, kUnsupported},
    {"mqtt.type", nullptr, kNoBuffer, kUnsupported},
    {"rfb.name", nullptr, kNoBuffer, kUnsupported},
    {"smtp.helo", nullptr, kNoBuffer, kUnsupported},
    {"smtp.mail_from", nullptr, kNoBuffer, kUnsupported},
    {"smtp.rcpt_to", nullptr, kNoBuffer, kUnsupported},
    {"email.from", nullptr, kNoBuffer, kUnsupported},
    {"email.to", nullptr, kNoBuffer, kUnsupported},
    {"email.subject", nullptr, kNoBuffer, kUnsupported},
    {"krb5.cname", nullptr, kNoBuffer, kUnsupported},
    // SSH version keywords (the ssh.proto / ssh.software buffers are).
    {"ssh.protoversion", nullptr, kNoBuffer, kUnsupported},
    {"ssh.softwareversion", nullptr, kNoBuffer, kUnsupported},
};

}  // namespace

std::span<const Keyword> keyword_table() { return kKeywords; }

const Keyword* find_keyword(std::string_view name) {
  // Built once from the table: a rule set looks keywords up some 400 k times.
  static const auto* const kByName = [] {
    auto* map = new std::unordered_map<std::string_view, const Keyword*>();
    for (const auto& k : kKeywords) {
      bool added = map->emplace(k.name, &k).second;
      MIMAMORI_ASSERT(added, "a keyword is listed twice in the keyword table");
    }
    return map;
  }();
  auto it = kByName->find(name);
  return it == kByName->end() ? nullptr : it->second;
}

std::optional<BufferId> sticky_buffer(std::string_view keyword) {
  const Keyword* k = find_keyword(keyword);
  if (!k || !(k->flags & kStickyBuffer)) return std::nullopt;
  return k->buffer;
}

std::optional<BufferId> legacy_modifier_buffer(std::string_view keyword) {
  const Keyword* k = find_keyword(keyword);
  if (!k || !(k->flags & kLegacyModifier)) return std::nullopt;
  return k->buffer;
}

}  // namespace mimamori::net::rules
