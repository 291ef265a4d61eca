// Files: each HTTP response body (dechunked, decompressed, up to the body limit) is hashed
// (SHA-256 and MD5, the latter for feeds that publish only it), typed from its content
// (libmagic), written as a `fileinfo` record as Suricata writes one, and looked up in the
// known-bad lists (the EICAR test file built in; `behaviour.files.hash-lists`): sid +1.

#include <fmt/format.h>
#include <magic.h>
#include <openssl/evp.h>

#include <algorithm>

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

}  // namespace

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
  explicit Impl(Shared& sh) : s(sh), o(sh.opt.files) {}
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
    if (uint64_t v = s.opt.lists->version(); v != held_version) {
      held_version = v;
      held = s.opt.lists->hashes();
    }
    const auto& list = *held;
    std::string_view name;
    std::string_view matched;
    if (auto it = list.sha256.find(sha256); it != list.sha256.end()) {
      name = it->second;
      matched = "sha256";
    } else if (auto it2 = list.md5.find(md5); it2 != list.md5.end()) {
      name = it2->second;
      matched = "md5";
    }
    if (name.empty()) return;
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

}  // namespace mimamori::net::behaviour
