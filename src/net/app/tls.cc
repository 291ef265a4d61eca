// TLS: record and handshake parsing of the clear-text part of the handshake: ClientHello (SNI,
// ALPN, versions, JA3, JA4), ServerHello (version, cipher, JA3S) and the server's certificate
// chain (subject, issuer, serial, validity, SHA-1 fingerprint through OpenSSL).

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "app/app.h"
#include "bytes.h"
#include "mimamori/core/hash.h"

namespace mimamori::net {
namespace {

bool is_grease(uint16_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

std::string_view version_name(uint16_t v) {
  switch (v) {
    case 0x0002:
      return "SSLv2";
    case 0x0300:
      return "SSLv3";
    case 0x0301:
      return "TLSv1";
    case 0x0302:
      return "TLS 1.1";
    case 0x0303:
      return "TLS 1.2";
    case 0x0304:
      return "TLS 1.3";
    default:
      break;
  }
  return "UNDETERMINED";
}

std::string digest_hex(const EVP_MD* md, std::string_view data, bool colons) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) {
    if (colons && i) s.push_back(':');
    s.push_back(kHex[out[i] >> 4]);
    s.push_back(kHex[out[i] & 15]);
  }
  return s;
}

std::string name_text(X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(
      bio, name, 0,
      XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | ASN1_STRFLGS_UTF8_CONVERT | ASN1_STRFLGS_ESC_CTRL);
  char* p = nullptr;
  long n = BIO_get_mem_data(bio, &p);
  std::string s(p, static_cast<std::size_t>(n));
  BIO_free(bio);
  // Suricata names the PKCS#9 e-mail attribute "Email"; OpenSSL's short name is longer.
  constexpr std::string_view kOpenSsl = "emailAddress=";
  for (std::size_t at = 0; (at = s.find(kOpenSsl, at)) != std::string::npos;) {
    if (at == 0 || s.compare(at - 2, 2, ", ") == 0) {
      s.replace(at, kOpenSsl.size(), "Email=");
      at += 6;
    } else {
      at += kOpenSsl.size();
    }
  }
  return s;
}

std::string asn1_time_text(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// "0A:1B:..": as the DER bytes read, so a positive serial whose first byte has the high bit
// set is written with its leading zero byte (OpenSSL keeps only the magnitude).
std::string serial_text(X509* x) {
  std::string out;
  const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
  if (!serial) return out;
  static constexpr char kHex[] = "0123456789ABCDEF";
  if (serial->length > 0 && (serial->data[0] & 0x80) && serial->type == V_ASN1_INTEGER)
    out += "00:";
  for (int i = 0; i < serial->length; ++i) {
    if (i) out += ':';
    out += kHex[serial->data[i] >> 4];
    out += kHex[serial->data[i] & 15];
  }
  return out;
}

struct Reader {
  std::string_view d;
  std::size_t pos = 0;
  bool ok = true;
  bool has(std::size_t n) const { return ok && pos + n <= d.size(); }
  uint8_t u8() {
    if (!has(1)) return ok = false, 0;
    return static_cast<uint8_t>(d[pos++]);
  }
  uint16_t u16() {
    if (!has(2)) return ok = false, 0;
    uint16_t v = load_be16(d.data() + pos);
    pos += 2;
    return v;
  }
  uint32_t u24() {
    if (!has(3)) return ok = false, 0;
    uint32_t v = load_be24(d.data() + pos);
    pos += 3;
    return v;
  }
  std::string_view bytes(std::size_t n) {
    if (!has(n)) return ok = false, std::string_view{};
    auto v = d.substr(pos, n);
    pos += n;
    return v;
  }
};

class TlsParser final : public AppParser {
 public:
  AppProto proto() const override { return AppProto::kTls; }

  void parse(Direction dir, std::string_view data, AppSink& sink) override {
    int s = dir == Direction::kToServer ? 0 : 1;
    if (done_[s]) return;
    sink_ = &sink;
    std::string& buf = rec_[s];
    buf.append(data);
    std::size_t used = 0;
    while (buf.size() - used >= 5 && !done_[s]) {
      uint8_t type = static_cast<uint8_t>(buf[used]);
      uint16_t ver = load_be16(buf.data() + used + 1);
      uint16_t len = load_be16(buf.data() + used + 3);
      if ((ver >> 8) != 3 || type < 20 || type > 24 || len > 18432) {
        if (!seen_record_[s]) sink.anomaly("INVALID_RECORD_TYPE");
        done_[s] = true;
        break;
      }
      if (buf.size() - used < 5u + len) break;
      seen_record_[s] = true;
      if (record_version_ == 0) record_version_ = ver;
      std::string_view body(buf.data() + used + 5, len);
      used += 5u + len;
      if (type == 22 && !encrypted_[s]) {
        handshake(s, body);
      } else if (type == 20) {
        encrypted_[s] = true;
        if (s == 1) maybe_log(dir);
      } else if (type == 23) {
        encrypted_[s] = true;
        if (s == 1 || server_hello_) maybe_log(dir);
        done_[s] = true;  // application data: nothing more to learn from this side
      }
    }
    buf.erase(0, used);
    if (buf.size() > 65536) buf.clear();
    sink_ = nullptr;
  }

  void close(AppSink& sink) override {
    sink_ = &sink;
    if (!logged_ && (client_hello_ || server_hello_)) log(Direction::kToClient);
    sink_ = nullptr;
  }

  std::string_view buffer(Buffer b, std::size_t index) const override {
    if (client_event_) {
      switch (b) {
        case Buffer::kTlsCerts:
          return index < client_.certs.size() ? std::string_view(client_.certs[index])
                                              : std::string_view{};
        case Buffer::kTlsCertSubject:
          return index ? std::string_view{} : client_.subject;
        case Buffer::kTlsCertIssuer:
          return index ? std::string_view{} : client_.issuer;
        case Buffer::kTlsCertSerial:
          return index ? std::string_view{} : client_.serial;
        case Buffer::kTlsCertFingerprint:
          return index ? std::string_view{} : client_.fingerprint;
        default:
          break;
      }
    }
    if (b == Buffer::kTlsCerts)
      return index < certs_.size() ? std::string_view(certs_[index]) : std::string_view{};
    if (index) return {};
    switch (b) {
      case Buffer::kTlsSni:
        return sni_;
      case Buffer::kTlsCertSubject:
        return subject_;
      case Buffer::kTlsCertIssuer:
        return issuer_;
      case Buffer::kTlsCertSerial:
        return serial_;
      case Buffer::kTlsCertFingerprint:
        return fingerprint_;
      case Buffer::kTlsVersion:
        return version_text_;
      case Buffer::kJa3Hash:
        return ja3_hash_;
      case Buffer::kJa3String:
        return ja3_;
      case Buffer::kJa3sHash:
        return ja3s_hash_;
      case Buffer::kJa3sString:
        return ja3s_;
      case Buffer::kJa4Hash:
        return ja4_;
      default:
        return {};
    }
  }
  std::size_t buffer_count(Buffer b) const override {
    if (client_event_) {
      switch (b) {
        case Buffer::kTlsCerts:
          return client_.certs.size();
        case Buffer::kTlsCertSubject:
        case Buffer::kTlsCertIssuer:
        case Buffer::kTlsCertSerial:
        case Buffer::kTlsCertFingerprint:
          return 1;
        default:
          break;
      }
    }
    switch (b) {
      case Buffer::kTlsCerts:
        return certs_.size();
      case Buffer::kTlsSni:
        return has_sni_ ? 1 : 0;
      case Buffer::kTlsCertSubject:
      case Buffer::kTlsCertIssuer:
      case Buffer::kTlsCertSerial:
      case Buffer::kTlsCertFingerprint:
        return certs_.empty() ? 0 : 1;
      case Buffer::kTlsVersion:
        return version_text_.empty() ? 0 : 1;
      case Buffer::kJa3Hash:
      case Buffer::kJa3String:
      case Buffer::kJa4Hash:
        return client_hello_ ? 1 : 0;
      case Buffer::kJa3sHash:
      case Buffer::kJa3sString:
        return server_hello_ ? 1 : 0;
      default:
        return 0;
    }
  }
  void append_record(core::Fields& out) const override { write_record(out); }

  void reset() override {
    for (int s = 0; s < 2; ++s) {
      rec_[s].clear();
      hs_[s].clear();
      done_[s] = encrypted_[s] = seen_record_[s] = false;
    }
    sni_.clear();
    has_sni_ = false;
    subject_.clear();
    issuer_.clear();
    serial_.clear();
    client_session_id_.clear();
    resumed_ = false;
    fingerprint_.clear();
    notbefore_.clear();
    notafter_.clear();
    version_text_.clear();
    ja3_.clear();
    ja3_hash_.clear();
    ja3s_.clear();
    ja3s_hash_.clear();
    ja4_.clear();
    client_alpns_.clear();
    server_alpns_.clear();
    sans_.clear();
    certs_.clear();
    client_ = {};
    client_event_ = false;
    client_hello_ = server_hello_ = logged_ = false;
    record_version_ = 0;
  }

 private:
  void handshake(int s, std::string_view body) {
    std::string& hb = hs_[s];
    hb.append(body);
    std::size_t used = 0;
    while (hb.size() - used >= 4) {
      uint8_t type = static_cast<uint8_t>(hb[used]);
      uint32_t len = load_be24(hb.data() + used + 1);
      if (len > (1u << 17)) {
        done_[s] = true;
        hb.clear();
        return;
      }
      if (hb.size() - used < 4 + len) break;
      std::string_view msg(hb.data() + used + 4, len);
      used += 4 + len;
      Direction dir = s == 0 ? Direction::kToServer : Direction::kToClient;
      switch (type) {
        case 1:
          if (s == 0 && !client_hello_) client_hello(msg, dir);
          break;
        case 2:
          if (s == 1 && !server_hello_) server_hello(msg, dir);
          break;
        case 11:
          if (s == 1 && certs_.empty()) certificate(msg, dir);
          if (s == 0 && client_.certs.empty()) client_certificate(msg, dir);
          break;
        case 14:  // ServerHelloDone
          if (s == 1) maybe_log(dir);
          break;
        default:
          break;
      }
    }
    hb.erase(0, used);
  }

  void client_hello(std::string_view msg, Direction dir) {
    Reader r{msg};
    uint16_t legacy = r.u16();
    r.bytes(32);
    client_session_id_.assign(r.bytes(r.u8()));
    uint16_t clen = r.u16();
    std::string_view ciphers = r.bytes(clen);
    r.bytes(r.u8());
    if (!r.ok) {
      sink_->anomaly("INVALID_HANDSHAKE_MESSAGE");
      return;
    }
    client_hello_ = true;
    std::vector<uint16_t> cs, exts, groups, sigalgs;
    std::vector<uint8_t> formats;
    uint16_t best = 0;
    for (std::size_t i = 0; i + 1 < ciphers.size(); i += 2)
      cs.push_back(load_be16(ciphers.data() + i));
    if (r.has(2)) {
      uint16_t elen = r.u16();
      Reader e{r.bytes(elen)};
      while (e.ok && e.has(4)) {
        uint16_t type = e.u16();
        uint16_t len = e.u16();
        Reader x{e.bytes(len)};
        if (!e.ok) break;
        exts.push_back(type);
        switch (type) {
          case 0: {  // server_name
            x.u16();
            while (x.has(3)) {
              uint8_t nt = x.u8();
              std::string_view name = x.bytes(x.u16());
              if (nt == 0 && x.ok) {
                sni_.assign(name);
                has_sni_ = true;
                break;
              }
            }
            break;
          }
          case 10: {
            uint16_t n = x.u16();
            for (uint16_t i = 0; i + 1 < n && x.has(2); i += 2) groups.push_back(x.u16());
            break;
          }
          case 11: {
            uint8_t n = x.u8();
            for (uint8_t i = 0; i < n && x.has(1); ++i) formats.push_back(x.u8());
            break;
          }
          case 13: {
            uint16_t n = x.u16();
            for (uint16_t i = 0; i + 1 < n && x.has(2); i += 2) sigalgs.push_back(x.u16());
            break;
          }
          case 16: {
            x.u16();
            while (x.has(1)) {
              std::string_view p = x.bytes(x.u8());
              if (!x.ok) break;
              client_alpns_.emplace_back(p);
            }
            break;
          }
          case 43: {
            uint8_t n = x.u8();
            for (uint8_t i = 0; i + 1 < n && x.has(2); i += 2) {
              uint16_t v = x.u16();
              if (!is_grease(v) && v > best) best = v;
            }
            break;
          }
          default:
            break;
        }
      }
    }
    // JA3: version,ciphers,extensions,groups,point formats (GREASE left out).
    ja3_.clear();
    ja3_ += std::to_string(legacy);
    ja3_ += ',';
    join(ja3_, cs);
    ja3_ += ',';
    join(ja3_, exts);
    ja3_ += ',';
    join(ja3_, groups);
    ja3_ += ',';
    for (std::size_t i = 0; i < formats.size(); ++i) {
      if (i) ja3_ += '-';
      ja3_ += std::to_string(formats[i]);
    }
    ja3_hash_ = digest_hex(EVP_md5(), ja3_, false);
    ja4(legacy, best, cs, exts, sigalgs);
    if (version_text_.empty()) version_text_ = std::string(version_name(best ? best : legacy));
    sink_->progress({AppProto::kTls, AppProgress::kTlsClientHello, dir, 0});
  }

  static void join(std::string& out, const std::vector<uint16_t>& v) {
    bool first = true;
    for (uint16_t x : v) {
      if (is_grease(x)) continue;
      if (!first) out += '-';
      first = false;
      out += std::to_string(x);
    }
  }

  void ja4(uint16_t legacy, uint16_t best, const std::vector<uint16_t>& cs,
           const std::vector<uint16_t>& exts, const std::vector<uint16_t>& sigalgs) {
    uint16_t v = best ? best : legacy;
    const char* ver = v == 0x0304   ? "13"
                      : v == 0x0303 ? "12"
                      : v == 0x0302 ? "11"
                      : v == 0x0301 ? "10"
                      : v == 0x0300 ? "s3"
                      : v == 0x0002 ? "s2"
                                    : "00";
    std::vector<uint16_t> c, e;
    for (auto x : cs)
      if (!is_grease(x)) c.push_back(x);
    for (auto x : exts)
      if (!is_grease(x)) e.push_back(x);
    char head[16];
    std::string alpn = "00";
    if (!client_alpns_.empty() && !client_alpns_[0].empty()) {
      const std::string& a = client_alpns_[0];
      alpn.clear();
      alpn.push_back(a.front());
      alpn.push_back(a.back());
    }
    std::snprintf(head, sizeof head, "t%s%c%02zu%02zu", ver, has_sni_ ? 'd' : 'i',
                  std::min<std::size_t>(c.size(), 99), std::min<std::size_t>(e.size(), 99));
    auto hex4 = [](uint16_t x) {
      char b[5];
      std::snprintf(b, sizeof b, "%04x", x);
      return std::string(b);
    };
    std::sort(c.begin(), c.end());
    std::string cl;
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (i) cl += ',';
      cl += hex4(c[i]);
    }
    std::vector<uint16_t> es;
    for (auto x : e)
      if (x != 0 && x != 16) es.push_back(x);
    std::sort(es.begin(), es.end());
    std::string el;
    for (std::size_t i = 0; i < es.size(); ++i) {
      if (i) el += ',';
      el += hex4(es[i]);
    }
    if (!sigalgs.empty()) {
      el += '_';
      bool first = true;
      for (auto s : sigalgs) {
        if (is_grease(s)) continue;
        if (!first) el += ',';
        el += hex4(s);
        first = false;
      }
    }
    std::string b = c.empty() ? "000000000000" : core::sha256_hex(cl).substr(0, 12);
    std::string d = es.empty() ? "000000000000" : core::sha256_hex(el).substr(0, 12);
    ja4_.assign(head);
    ja4_.append(alpn).append("_").append(b).append("_").append(d);
  }

  void server_hello(std::string_view msg, Direction dir) {
    Reader r{msg};
    uint16_t legacy = r.u16();
    r.bytes(32);
    std::string_view session_id = r.bytes(r.u8());
    uint16_t cipher = r.u16();
    r.u8();
    if (!r.ok) {
      sink_->anomaly("INVALID_HANDSHAKE_MESSAGE");
      return;
    }
    server_hello_ = true;
    uint16_t selected = 0;
    std::vector<uint16_t> exts;
    if (r.has(2)) {
      Reader e{r.bytes(r.u16())};
      while (e.ok && e.has(4)) {
        uint16_t type = e.u16();
        Reader x{e.bytes(e.u16())};
        if (!e.ok) break;
        exts.push_back(type);
        if (type == 43) selected = x.u16();
        if (type == 16) {
          x.u16();
          while (x.has(1)) {
            std::string_view p = x.bytes(x.u8());
            if (!x.ok) break;
            server_alpns_.emplace_back(p);
          }
        }
      }
    }
    uint16_t v = selected ? selected : legacy;
    // The server took up the client's session: an abbreviated handshake, no certificate. (A
    // TLS 1.3 server echoes the id in any case, so it tells nothing there.)
    resumed_ = r.ok && !session_id.empty() && session_id == client_session_id_ && v != 0x0304;
    if (v >= 0x7f00 && v <= 0x7fff) {
      // TLS 1.3 drafts: early ones put 0x7fNN in the ServerHello's version field itself.
      int draft = v & 0xff;
      version_text_ =
          draft < 16 ? std::string("TLS 1.3 draft-<16") : "TLS 1.3 draft-" + std::to_string(draft);
    } else {
      version_text_ = std::string(version_name(v));
    }
    ja3s_ = std::to_string(legacy) + "," + std::to_string(cipher) + ",";
    join(ja3s_, exts);
    ja3s_hash_ = digest_hex(EVP_md5(), ja3s_, false);
    sink_->progress({AppProto::kTls, AppProgress::kTlsServerHello, dir, 0});
  }

  void certificate(std::string_view msg, Direction dir) {
    Reader r{msg};
    uint32_t total = r.u24();
    Reader list{r.bytes(total)};
    if (!r.ok) {
      // TLS 1.3 certificates carry a context byte first; they are encrypted anyway.
      return;
    }
    while (list.ok && list.has(3)) {
      std::string_view der = list.bytes(list.u24());
      if (!list.ok) break;
      certs_.emplace_back(der);
      if (certs_.size() >= 16) break;
    }
    if (certs_.empty()) return;
    const auto* p = reinterpret_cast<const unsigned char*>(certs_[0].data());
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(certs_[0].size()));
    fingerprint_ = digest_hex(EVP_sha1(), certs_[0], true);
    if (!x) {
      sink_->anomaly("INVALID_CERTIFICATE");
    } else {
      subject_ = name_text(X509_get_subject_name(x));
      issuer_ = name_text(X509_get_issuer_name(x));
      serial_ = serial_text(x);
      notbefore_ = asn1_time_text(X509_get0_notBefore(x));
      notafter_ = asn1_time_text(X509_get0_notAfter(x));
      auto* names =
          static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
      if (names) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
          const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
          if (g->type == GEN_DNS) {
            const ASN1_STRING* s = g->d.dNSName;
            sans_.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                               static_cast<std::size_t>(ASN1_STRING_length(s)));
          }
        }
        GENERAL_NAMES_free(names);
      }
      X509_free(x);
    }
    sink_->progress({AppProto::kTls, AppProgress::kTlsCertificate, dir, 0});
  }

  // The client's certificate chain (mutual authentication): served as the certificate
  // buffers while detectors inspect it, as Suricata matches them in both directions.
  void client_certificate(std::string_view msg, Direction dir) {
    Reader r{msg};
    uint32_t total = r.u24();
    Reader list{r.bytes(total)};
    if (!r.ok) return;
    while (list.ok && list.has(3)) {
      std::string_view der = list.bytes(list.u24());
      if (!list.ok) break;
      client_.certs.emplace_back(der);
      if (client_.certs.size() >= 16) break;
    }
    if (client_.certs.empty()) return;
    client_.fingerprint = digest_hex(EVP_sha1(), client_.certs[0], true);
    const auto* p = reinterpret_cast<const unsigned char*>(client_.certs[0].data());
    if (X509* x = d2i_X509(nullptr, &p, static_cast<long>(client_.certs[0].size()))) {
      client_.subject = name_text(X509_get_subject_name(x));
      client_.issuer = name_text(X509_get_issuer_name(x));
      client_.serial = serial_text(x);
      X509_free(x);
    } else {
      sink_->anomaly("INVALID_CERTIFICATE");
    }
    client_event_ = true;
    sink_->progress({AppProto::kTls, AppProgress::kTlsCertificate, dir, 0});
    client_event_ = false;
  }

  void maybe_log(Direction dir) {
    if (!logged_ && (client_hello_ || server_hello_)) log(dir);
  }

  void write_record(core::Fields& f) const {
    f.begin_object("tls");
    if (!subject_.empty()) f.add("subject", subject_);
    if (!issuer_.empty()) f.add("issuerdn", issuer_);
    if (!serial_.empty()) f.add("serial", serial_);
    if (!fingerprint_.empty()) f.add("fingerprint", fingerprint_);
    if (has_sni_) f.add("sni", sni_);
    f.add("version", version_text_.empty() ? std::string_view("UNDETERMINED")
                                           : std::string_view(version_text_));
    if (resumed_) f.add("session_resumed", true);
    if (!notbefore_.empty()) f.add("notbefore", notbefore_);
    if (!notafter_.empty()) f.add("notafter", notafter_);
    if (!sans_.empty()) {
      f.begin_array("subjectaltname");
      for (auto& s : sans_) f.add("", s);
      f.end();
    }
    if (client_hello_) {
      f.begin_object("ja3").add("hash", ja3_hash_).add("string", ja3_).end();
    }
    if (server_hello_) {
      f.begin_object("ja3s").add("hash", ja3s_hash_).add("string", ja3s_).end();
    }
    if (client_hello_) f.add("ja4", ja4_);
    if (!client_alpns_.empty()) {
      f.begin_array("client_alpns");
      for (auto& s : client_alpns_) f.add("", s);
      f.end();
    }
    if (!server_alpns_.empty()) {
      f.begin_array("server_alpns");
      for (auto& s : server_alpns_) f.add("", s);
      f.end();
    }
    f.end();
  }

  void log(Direction dir) {
    logged_ = true;
    scratch_fields().clear();
    write_record(scratch_fields());
    sink_->record("tls", scratch_fields(), dir);
  }

  AppSink* sink_ = nullptr;
  std::string rec_[2], hs_[2];
  bool done_[2] = {false, false}, encrypted_[2] = {false, false}, seen_record_[2] = {false, false};
  uint16_t record_version_ = 0;
  std::string sni_, subject_, issuer_, serial_, fingerprint_, notbefore_, notafter_, version_text_;
  std::string client_session_id_;
  bool resumed_ = false;
  bool has_sni_ = false;
  std::string ja3_, ja3_hash_, ja3s_, ja3s_hash_, ja4_;
  std::vector<std::string> client_alpns_, server_alpns_, sans_, certs_;
  bool client_hello_ = false, server_hello_ = false, logged_ = false;
  struct ClientCert {
    std::vector<std::string> certs;
    std::string subject, issuer, serial, fingerprint;
  } client_;
  bool client_event_ = false;  // detectors are inspecting the client's certificate
};

}  // namespace

std::unique_ptr<AppParser> make_tls_parser() { return std::make_unique<TlsParser>(); }

}  // namespace mimamori::net
