// Large uploads to new external destinations: an internal host sending more than
// `upload.bytes` within `upload.window` to an external address (or name: TLS SNI, HTTP Host) it
// had not talked to during the learning period (`upload.learning` from the first packet the
// sensor saw). A flow's to-server bytes are added to its client-destination pair once it has
// sent 64 KiB, then each time another MiB has passed and when it closes: a packet costs a
// comparison, and a flow that sends little (a SYN flood's) has no state. Destinations whose
// name ends in an allowed domain (cloud backup and storage, SaaS; the provider's list) are never
// reported; the severity is low by default (an upload is a question to the customer, not an
// incident). Sid +1, once per client and destination.

#include <fmt/format.h>

#include "behaviour/detectors.h"
#include "mimamori/core/text.h"

namespace mimamori::net::behaviour {

namespace {

constexpr int64_t kRemember = 30LL * 86400 * kSecond;  // a destination idle this long is forgotten

struct Dest {
  int64_t last = 0;
  int64_t first = 0;         // first contact
  int64_t window_start = 0;  // the byte count's window
  uint64_t bytes = 0;
  uint32_t flows = 0;
  bool allowed = false;
  bool alerted = false;
  std::string name;
};

struct Name {
  int64_t last = 0;
  int64_t first = 0;
};

}  // namespace

struct UploadDetector::Impl {
  Shared& s;
  const BehaviourOptions::Upload& o;
  CappedTable<Dest> dests;
  CappedTable<Name> names;
  int64_t learn_end = INT64_MIN;  // set from the first flow
  std::string lower;
  explicit Impl(Shared& sh)
      : s(sh),
        o(sh.opt.upload),
        dests(o.max_entries, sh.evicted(BehaviourKind::kUpload)),
        names(o.max_entries, sh.evicted(BehaviourKind::kUpload)) {}

  static uint64_t key(const Flow& f) { return key_of(f.server_ip, key_of(f.client_ip)); }

  bool outbound(const Flow& f) const {
    return s.home.contains(f.client_ip) && !s.home.contains(f.server_ip) &&
           !not_unicast(f.server_ip, s.home);
  }

  void on_new_flow(const Packet& p, Flow& f) {
    const int64_t now = p.timestamp.micros;
    if (learn_end == INT64_MIN) learn_end = now + o.learning_s * kSecond;
    if (!outbound(f)) return;
    Dest& d = dests.get(key(f), now, kRemember);
    if (d.first == 0) d.first = now;
    ++d.flows;
  }

  void on_name(const Flow& f, std::string_view name, int64_t now) {
    if (name.empty()) return;
    Dest* d = dests.find(key(f));
    if (!d) return;
    lower = core::to_lower(name.substr(0, 253));
    if (size_t colon = lower.rfind(':'); colon != std::string::npos && lower.find(':') == colon)
      lower.resize(colon);  // an HTTP Host's port
    if (allowed_name(o.allow, lower)) d->allowed = true;
    Name& n = names.get(core::fnv1a64(lower, key_of(f.client_ip)), now, kRemember);
    if (n.first == 0) n.first = now;
    // A name known from the learning period makes a new address of it known too.
    if (n.first < learn_end && d->first >= learn_end) d->first = n.first;
    if (d->name.empty()) d->name = lower;
  }

  void on_bytes(const Flow& f, uint64_t bytes, int64_t now, DetectContext& ctx) {
    Dest* d = dests.find(key(f));
    if (!d) return;
    d->last = now;
    if (now - d->window_start > o.window_s * kSecond) {
      d->window_start = now;
      d->bytes = 0;
    }
    d->bytes += bytes;
    if (d->bytes <= o.bytes || d->alerted || d->allowed || d->first < learn_end) return;
    d->alerted = true;
    core::Alert a =
        make_alert(BehaviourKind::kUpload, 1, o.severity,
                   fmt::format("MIMAMORI large upload to a new external destination on {}",
                               service_name(f.server_port)),
                   "Potential Corporate Privacy Violation");
    a.extra.begin_object("behaviour")
        .add("detector", "upload")
        .add("bytes", d->bytes)
        .add("threshold", o.bytes)
        .add("window_s", o.window_s)
        .add("flows", static_cast<uint64_t>(d->flows))
        .add("first_seen_s_ago", (now - d->first) / kSecond)
        .add("learning_s", o.learning_s)
        .add("server", f.server_ip.to_string())
        .add("port", f.server_port);
    if (!d->name.empty()) a.extra.add("name", d->name);
    a.extra.end();
    s.count_alert(BehaviourKind::kUpload);
    ctx.alert(a);
  }
};

UploadDetector::UploadDetector(Shared& s) : impl_(std::make_unique<Impl>(s)) {}
UploadDetector::~UploadDetector() = default;
void UploadDetector::on_new_flow(const Packet& p, Flow& f) { impl_->on_new_flow(p, f); }
bool UploadDetector::outbound(const Flow& f) const { return impl_->outbound(f); }
void UploadDetector::on_name(const Flow& f, std::string_view name, int64_t now) {
  impl_->on_name(f, name, now);
}
void UploadDetector::on_bytes(const Flow& f, uint64_t bytes, int64_t now, DetectContext& ctx) {
  impl_->on_bytes(f, bytes, now, ctx);
}

}  // namespace mimamori::net::behaviour
