// Files: each HTTP response body (dechunked, decompressed, up to the body limit) is hashed
// (SHA-256 and MD5, the latter for feeds that publish only it), typed from its content
// (libmagic), written as a `fileinfo` record as Suricata writes one, and looked up in the
// known-bad lists (the EICAR test file built in; `behaviour.files.hash-lists`): sid +1.
//
// FTP (sid +2): the control connection (port 21) is read both ways for the data connections it
// announces — the server's 227/229 replies to PASV/EPSV, the client's PORT/EPRT — and the file
// named by RETR, STOR, STOU or APPE. A data connection to an announced address and port (the
// control connection's server for passive mode, its client for active mode; the address inside
// a 227 or PORT may be a NAT's and is not used) is hashed as its bytes pass, up to the stream
// depth, and its `fileinfo` record written and its hashes looked up when it closes. Listings
// (LIST, NLST, MLSD) are not files.

#include <fmt/format.h>
#include <magic.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>

#include "behaviour/detectors.h"
#include "mimamori/core/hash.h"

namespace mimamori::net::behaviour {

namespace {

constexpr size_t kMagicBytes = 4096;  // what libmagic is shown of a body

std::string digest_hex(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return core::to_hex(std::string_view(reinterpret_cast<const char*>(out), len));
}

// The file name of a request URI: its path, without the query.
std::string_view file_name(std::string_view uri) {
  size_t q = uri.find_first_of("?#");
  return uri.substr(0, q);
}

constexpr int64_t kExpectTtl = 300 * kSecond;  // an announced data connection is awaited this long
constexpr size_t kMaxExpected = 4096;
constexpr size_t kMaxLine = 2048;  // a longer control line is not a command

struct Expected {
  int64_t last = 0;
  std::string name;     // the file, once RETR/STOR named it
  std::string command;  // RETR, STOR, STOU, APPE; LIST, NLST, MLSD
};

bool starts_caseless(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// The port of "h1,h2,h3,h4,p1,p2" somewhere in `text` (a 227 reply, a PORT argument), or 0.
uint16_t comma_port(std::string_view text) {
  std::string t(text.substr(0, 256));
  for (size_t i = 0; i < t.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(t[i])) ||
        (i > 0 && std::isdigit(static_cast<unsigned char>(t[i - 1]))))
      continue;
    unsigned v[6];
    if (std::sscanf(t.c_str() + i, "%u,%u,%u,%u,%u,%u", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) ==
            6 &&
        v[4] < 256 && v[5] < 256)
      return static_cast<uint16_t>(v[4] * 256 + v[5]);
  }
  return 0;
}

// The port of an extended reply or command: "(|||port|)" of a 229, "|1|addr|port|" of EPRT.
uint16_t bar_port(std::string_view text) {
  size_t end = text.rfind('|');
  if (end == std::string_view::npos || end == 0) return 0;
  size_t start = text.rfind('|', end - 1);
  if (start == std::string_view::npos) return 0;
  unsigned v = 0;
  for (char c : text.substr(start + 1, end - start - 1)) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return 0;
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > 65535) return 0;
  }
  return static_cast<uint16_t>(v);
}

}  // namespace

struct FtpData {
  EVP_MD_CTX* sha256 = EVP_MD_CTX_new();
  EVP_MD_CTX* md5 = EVP_MD_CTX_new();
  uint64_t key = 0;  // its expectation
  uint64_t size = 0;
  int dir = -1;  // the direction carrying the file
  bool gaps = false, truncated = false, fin = false, done = false;
  ~FtpData() {
    EVP_MD_CTX_free(sha256);
    EVP_MD_CTX_free(md5);
  }
};
void FtpDataDeleter::operator()(FtpData* d) const { delete d; }

struct FileDetector::Impl {
  Shared& s;
  const BehaviourOptions::Files& o;
  // Fetched once: OpenSSL 3 looks an implicit EVP_sha256() up again at every digest.
  EVP_MD* sha256_md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD* md5_md = EVP_MD_fetch(nullptr, "MD5", nullptr);
  magic_t magic = nullptr;
  bool magic_tried = false;
  core::Event ev;
  std::shared_ptr<const HashList> held;  // this worker's snapshot of the live hash lists
  uint64_t held_version = ~0ull;
  CappedTable<Expected> expected;
  explicit Impl(Shared& sh)
      : s(sh), o(sh.opt.files), expected(kMaxExpected, sh.evicted(BehaviourKind::kFiles)) {}

  static uint64_t expect_key(const core::IpAddress& a, uint16_t port) {
    return mix(key_of(a), port);
  }

  void on_ftp_control(const StreamChunk& c, FlowMarks& m, DetectContext& ctx) {
    const Flow* f = ctx.flow();
    if (!f) return;
    const int64_t now = ctx.packet().timestamp.micros;
    const int d = c.direction == Direction::kToServer ? 0 : 1;
    if (!m.ftp_line) m.ftp_line = std::make_unique<std::string[]>(2);
    std::string& pending = m.ftp_line[d];
    std::string_view data = c.data;
    while (!data.empty()) {
      size_t nl = data.find('\n');
      if (nl == std::string_view::npos) {
        if (pending.size() + data.size() <= kMaxLine) {
          pending.append(data);
        } else {
          pending.assign(1, '\0');  // too long: skipped to its end
        }
        return;
      }
      std::string_view line = data.substr(0, nl);
      data.remove_prefix(nl + 1);
      if (pending.empty()) {
        control_line(*f, m, d, line, now);
        continue;
      }
      if (pending.size() + line.size() <= kMaxLine) {
        pending.append(line);
      } else {
        pending.assign(1, '\0');
      }
      control_line(*f, m, d, pending, now);
      pending.clear();
    }
  }

  void control_line(const Flow& f, FlowMarks& m, int d, std::string_view line, int64_t now) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 4 || line.front() == '\0') return;
    uint16_t port = 0;
    if (d == 1) {
      if (line.starts_with("227")) {
        port = comma_port(line.substr(4));
      } else if (line.starts_with("229")) {
        port = bar_port(line);
      }
    } else if (starts_caseless(line, "PORT ")) {
      port = comma_port(line.substr(5));
    } else if (starts_caseless(line, "EPRT ")) {
      port = bar_port(line);
    } else {
      static constexpr std::string_view kCommands[] = {"RETR", "STOR", "STOU", "APPE",
                                                       "LIST", "NLST", "MLSD"};
      for (std::string_view cmd : kCommands) {
        if (!starts_caseless(line, cmd) || (line.size() > 4 && line[4] != ' ')) continue;
        if (Expected* e = m.ftp_expect ? expected.find(m.ftp_expect) : nullptr) {
          e->command.assign(cmd);
          e->name.assign(line.size() > 5 ? line.substr(5, 512) : std::string_view());
          e->last = now;
        }
        return;
      }
      return;
    }
    if (port == 0) return;
    // Passive (a server's reply): the client connects to the server; active: the other way.
    const uint64_t key = expect_key(d == 1 ? f.server_ip : f.client_ip, port);
    Expected& e = expected.get(key, now, kExpectTtl);
    e.name.clear();
    e.command.clear();
    m.ftp_expect = key;
  }

  std::unique_ptr<FtpData, FtpDataDeleter> ftp_data(const Flow& f, int64_t now) {
    if (expected.size() == 0) return nullptr;
    const uint64_t key = expect_key(f.server_ip, f.server_port);
    Expected* e = expected.find(key);
    if (!e || now - e->last > kExpectTtl) return nullptr;
    std::unique_ptr<FtpData, FtpDataDeleter> d(new FtpData);
    d->key = key;
    if (!d->sha256 || !d->md5 ||
        !EVP_DigestInit_ex(d->sha256, sha256_md ? sha256_md : EVP_sha256(), nullptr) ||
        !EVP_DigestInit_ex(d->md5, md5_md ? md5_md : EVP_md5(), nullptr))
      return nullptr;
    return d;
  }

  void on_ftp_data(const StreamChunk& c, FlowMarks& m, DetectContext& ctx) {
    FtpData& d = *m.ftp_data;
    if (d.done) return;
    const int dir = static_cast<int>(c.direction);
    if (d.dir < 0) d.dir = dir;
    if (d.dir == dir && !c.data.empty()) {
      if (c.after_gap) d.gaps = true;
      EVP_DigestUpdate(d.sha256, c.data.data(), c.data.size());
      EVP_DigestUpdate(d.md5, c.data.data(), c.data.size());
      d.size += c.data.size();
      if (d.size >= o.stream_depth) d.truncated = true;
    }
    if (d.fin) finish_ftp(m, ctx);  // the FIN carried the last bytes
  }

  void on_ftp_packet(const Packet& p, FlowMarks& m, DetectContext& ctx) {
    FtpData& d = *m.ftp_data;
    if (d.done) return;
    if (d.fin) {
      finish_ftp(m, ctx);
      return;
    }
    if (!p.is_tcp() || !(p.tcp_flags & (tcp_flag::kFin | tcp_flag::kRst))) return;
    d.fin = true;
    if (p.payload.empty()) finish_ftp(m, ctx);  // else once its bytes are through
  }

  void finish_ftp(FlowMarks& m, DetectContext& ctx) {
    FtpData& d = *m.ftp_data;
    d.done = true;
    Expected* e = expected.find(d.key);
    if (!e || d.dir < 0 || e->name.empty() ||
        !(e->command == "RETR" || e->command == "STOR" || e->command == "STOU" ||
          e->command == "APPE"))
      return;  // a listing, or no file named
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(d.sha256, out, &len);
    const std::string sha256 = core::to_hex(std::string_view(reinterpret_cast<char*>(out), len));
    EVP_DigestFinal_ex(d.md5, out, &len);
    const std::string md5 = core::to_hex(std::string_view(reinterpret_cast<char*>(out), len));
    s.counters.files_hashed.fetch_add(1, std::memory_order_relaxed);
    if (d.truncated) s.counters.files_truncated.fetch_add(1, std::memory_order_relaxed);
    const Packet& p = ctx.packet();
    if (o.fileinfo) {
      ev.clear();
      ev.timestamp = p.timestamp;
      ev.event_type = "fileinfo";
      ev.src_ip = p.src_ip;
      ev.dest_ip = p.dst_ip;
      ev.src_port = p.src_port;
      ev.dest_port = p.dst_port;
      ev.proto = "TCP";
      ev.app_proto = "ftp-data";
      ev.fields.begin_object("ftp_data").add("filename", e->name).add("command", e->command).end();
      ev.fields.begin_object("fileinfo")
          .add("filename", e->name)
          .add("gaps", d.gaps)
          .add("state", d.truncated ? "TRUNCATED" : "CLOSED")
          .add("md5", md5)
          .add("sha256", sha256)
          .add("stored", false)
          .add("size", d.size)
          .add("tx_id", static_cast<uint64_t>(0))
          .end();
      ctx.emit(ev);
    }
    std::string_view name, matched;
    if (!lookup(sha256, md5, name, matched)) return;
    core::Alert a =
        make_alert(BehaviourKind::kFiles, 2, 1,
                   fmt::format("MIMAMORI known-bad file transferred over FTP: {}", name),
                   "A Network Trojan was detected");
    a.extra.begin_object("behaviour")
        .add("detector", "files")
        .add("filename", e->name)
        .add("command", e->command)
        .add("size", d.size)
        .add("sha256", sha256)
        .add("md5", md5)
        .add("matched", matched)
        .add("list_entry", name)
        .end();
    s.count_alert(BehaviourKind::kFiles);
    ctx.alert(a);
  }

  // The name a hash list gives this file, and which hash matched; false when none does.
  bool lookup(const std::string& sha256, const std::string& md5, std::string_view& name,
              std::string_view& matched) {
    if (uint64_t v = s.opt.lists->version(); v != held_version) {
      held_version = v;
      held = s.opt.lists->hashes();
    }
    const auto& list = *held;
    if (auto it = list.sha256.find(sha256); it != list.sha256.end()) {
      name = it->second;
      matched = "sha256";
    } else if (auto it2 = list.md5.find(md5); it2 != list.md5.end()) {
      name = it2->second;
      matched = "md5";
    }
    return !name.empty();
  }
  ~Impl() {
    EVP_MD_free(sha256_md);
    EVP_MD_free(md5_md);
    if (magic) magic_close(magic);
  }

  // Text bodies (HTML, scripts, JSON: most of the web) are left untyped: libmagic's text rules
  // cost hundreds of microseconds a body; what matters here are binaries served as anything.
  static bool looks_text(std::string_view body) {
    for (unsigned char c : body.substr(0, 512))
      if (c < 0x09 || (c > 0x0d && c < 0x20) || c == 0x7f) return false;
    return true;
  }

  std::string type_of(std::string_view body) {
    if (!o.magic || looks_text(body)) return {};
    if (!magic_tried) {
      magic_tried = true;
      // Compressed contents are not opened (the body is already decoded once); text encodings
      // and the rest are judged from the first bytes only, which is what tells a type.
      magic = magic_open(MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_CDF |
                         MAGIC_NO_CHECK_TAR | MAGIC_NO_CHECK_ENCODING);
      if (magic && magic_load(magic, nullptr) != 0) {
        magic_close(magic);
        magic = nullptr;
      }
    }
    if (!magic) return {};
    const char* t = magic_buffer(magic, body.data(), std::min<size_t>(body.size(), kMagicBytes));
    return t ? std::string(t) : std::string();
  }

  void on_response_body(const Packet& p, const AppEvent& app, DetectContext& ctx) {
    std::string_view body = ctx.buffer(Buffer::kHttpResponseBody);
    if (body.empty()) return;
    const bool truncated = body.size() >= o.body_limit;
    s.counters.files_hashed.fetch_add(1, std::memory_order_relaxed);
    if (truncated) s.counters.files_truncated.fetch_add(1, std::memory_order_relaxed);
    std::string sha256 = digest_hex(sha256_md ? sha256_md : EVP_sha256(), body);
    std::string md5 = digest_hex(md5_md ? md5_md : EVP_md5(), body);
    std::string_view uri = ctx.buffer(Buffer::kHttpUri);
    std::string_view host = ctx.buffer(Buffer::kHttpHost);
    std::string magic_type = type_of(body);
    if (o.fileinfo) {
      ev.clear();
      ev.timestamp = p.timestamp;
      ev.event_type = "fileinfo";
      ev.src_ip = p.src_ip;
      ev.dest_ip = p.dst_ip;
      ev.src_port = p.src_port;
      ev.dest_port = p.dst_port;
      ev.proto = "TCP";
      ev.app_proto = "http";
      ev.fields.begin_object("http").add("hostname", host).add("url", uri).end();
      ev.fields.begin_object("fileinfo").add("filename", file_name(uri));
      if (!magic_type.empty()) ev.fields.add("magic", magic_type);
      ev.fields.add("gaps", false)
          .add("state", truncated ? "TRUNCATED" : "CLOSED")
          .add("md5", md5)
          .add("sha256", sha256)
          .add("stored", false)
          .add("size", static_cast<uint64_t>(body.size()))
          .add("tx_id", app.tx_id)
          .end();
      ctx.emit(ev);
    }
    std::string_view name, matched;
    if (!lookup(sha256, md5, name, matched)) return;
    core::Alert a =
        make_alert(BehaviourKind::kFiles, 1, 1,
                   fmt::format("MIMAMORI known-bad file downloaded over HTTP: {}", name),
                   "A Network Trojan was detected");
    a.extra.begin_object("behaviour")
        .add("detector", "files")
        .add("filename", file_name(uri))
        .add("hostname", host)
        .add("size", static_cast<uint64_t>(body.size()))
        .add("sha256", sha256)
        .add("md5", md5)
        .add("matched", matched)
        .add("list_entry", name);
    if (!magic_type.empty()) a.extra.add("magic", magic_type);
    a.extra.end();
    s.count_alert(BehaviourKind::kFiles);
    ctx.alert(a);
  }
};

FileDetector::FileDetector(Shared& s) : impl_(std::make_unique<Impl>(s)) {}
FileDetector::~FileDetector() = default;
void FileDetector::on_response_body(const Packet& p, const AppEvent& ev, DetectContext& ctx) {
  impl_->on_response_body(p, ev, ctx);
}
void FileDetector::on_ftp_control(const StreamChunk& c, FlowMarks& m, DetectContext& ctx) {
  impl_->on_ftp_control(c, m, ctx);
}
std::unique_ptr<FtpData, FtpDataDeleter> FileDetector::ftp_data(const Flow& f, int64_t now) {
  return impl_->ftp_data(f, now);
}
void FileDetector::on_ftp_data(const StreamChunk& c, FlowMarks& m, DetectContext& ctx) {
  impl_->on_ftp_data(c, m, ctx);
}
void FileDetector::on_ftp_packet(const Packet& p, FlowMarks& m, DetectContext& ctx) {
  impl_->on_ftp_packet(p, m, ctx);
}

}  // namespace mimamori::net::behaviour
