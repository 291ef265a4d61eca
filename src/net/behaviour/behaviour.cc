// The behaviour detector: options, counters, the alert builder, and the one Detector that runs
// every enabled behaviour detector for the packets, stream chunks and app events it needs.

#include "mimamori/net/behaviour.h"

#include <charconv>
#include <fstream>

#include "behaviour/common.h"
#include "behaviour/detectors.h"
#include "behaviour/list_csv.h"
#include "mimamori/core/config.h"
#include "mimamori/core/log.h"
#include "mimamori/core/text.h"

namespace mimamori::net {

const char* behaviour_name(BehaviourKind k) {
  static const char* const kNames[] = {"scan",    "guess", "exposed", "beacon",    "dns",
                                       "lateral", "files", "intel",   "cleartext", "upload"};
  return kNames[static_cast<int>(k)];
}

void BehaviourCounters::append_to(core::Fields& f) const {
  f.begin_object("behaviour");
  for (int i = 0; i < static_cast<int>(BehaviourKind::kCount); ++i) {
    f.begin_object(behaviour_name(static_cast<BehaviourKind>(i)))
        .add("alerts", alerts[i].load(std::memory_order_relaxed))
        .add("evicted", evicted[i].load(std::memory_order_relaxed))
        .end();
  }
  f.add("files_hashed", files_hashed.load(std::memory_order_relaxed))
      .add("files_truncated", files_truncated.load(std::memory_order_relaxed))
      .end();
}

// --- hash lists ------------------------------------------------------------------------------

namespace {

bool all_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  });
}

std::string_view blank_trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string_view trim(std::string_view s) {
  s = blank_trimmed(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

HashList HashList::builtin() {
  HashList h;
  h.sha256["275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"] = "EICAR test file";
  h.md5["44d88612fea8a8f36de82e1278abb02f"] = "EICAR test file";
  return h;
}

core::Status HashList::add_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return core::make_error("{}: is a folder, not a hash list file", path);
  std::ifstream in(path);
  if (!in) return core::make_error("{}: cannot read the hash list", path);
  std::string name_default = std::filesystem::path(path).filename().string();
  std::string line;
  int n = 0;
  size_t added = 0;
  while (std::getline(in, line)) {
    ++n;
    // Blanks only: quotes belong to the CSV fields (a quoted row is not one quoted field).
    std::string_view l = blank_trimmed(line);
    if (l.empty() || l.front() == '#') continue;
    std::string hash, name;
    bool csv = l.find(',') != std::string_view::npos || l.front() == '"';
    if (csv) {
      // The first field of 32 or 64 hex digits is the hash; the others name it.
      for (const auto& f : behaviour::csv_fields(l)) {
        if ((f.size() == 64 || f.size() == 32) && all_hex(f) && hash.empty()) {
          hash = f;
        } else if (!f.empty() && name.empty() && !all_hex(f)) {
          name = f;
        }
      }
      // A header row ("sha256_hash,file_name,...") names no hash: skipped quietly.
      if (hash.empty() && n == 1) continue;
    } else {
      size_t sp = l.find_first_of(" \t");
      hash = l.substr(0, sp);
      if (sp != std::string_view::npos) name = trim(l.substr(sp + 1));
    }
    if (!((hash.size() == 64 || hash.size() == 32) && all_hex(hash))) {
      spdlog::warn("{}:{}: '{}' is not an MD5 or SHA-256 hash (32 or 64 hex digits); skipped", path,
                   n, hash.empty() ? std::string(l.substr(0, 40)) : hash);
      continue;
    }
    hash = core::to_lower(hash);
    if (name.empty()) name = name_default;
    (hash.size() == 64 ? sha256 : md5)[hash] = name;
    ++added;
  }
  spdlog::info("{}: {} file hashes", path, added);
  return {};
}

// --- options ---------------------------------------------------------------------------------

namespace {

std::vector<uint16_t> port_list(const core::Config& c, const std::string& key,
                                const std::vector<uint16_t>& fallback) {
  if (!c.has(key)) return fallback;
  std::vector<uint16_t> out;
  for (const auto& item : c.list(key, {})) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc{} || end != item.data() + item.size() || v == 0 || v > 65535)
      throw core::ConfigError(key + ": '" + item + "' is not a port number (1-65535)");
    out.push_back(static_cast<uint16_t>(v));
  }
  return out;
}

std::vector<IpNetwork> network_list(const core::Config& c, const std::string& key,
                                    const std::vector<std::string>& fallback) {
  std::vector<IpNetwork> out;
  for (const auto& raw : c.list(key, fallback)) {
    std::string_view item = trim(raw);
    if (!item.empty() && item.front() == '!') {
      spdlog::warn("{}: negated entry '{}' is not supported by the behaviour detectors; ignored",
                   key, item);
      continue;
    }
    auto n = IpNetwork::parse(item);
    if (!n) throw core::ConfigError(key + ": " + n.error().message);
    out.push_back(*n);
  }
  return out;
}

template <class T>
T positive(const core::Config& c, const std::string& key, T fallback) {
  T v = c.get<T>(key, fallback);
  if (!(v > 0)) throw core::ConfigError(key + ": must be more than 0");
  return v;
}

double fraction(const core::Config& c, const std::string& key, double fallback) {
  double v = c.get<double>(key, fallback);
  if (!(v > 0 && v <= 1)) throw core::ConfigError(key + ": must be a fraction in (0, 1]");
  return v;
}

}  // namespace

BehaviourOptions BehaviourOptions::from_config(const core::Config& c) {
  BehaviourOptions o;
  o.enabled = c.get<bool>("behaviour.enabled", true);
  o.home_net = network_list(
      c, "vars.address-groups.HOME_NET",
      {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7", "fe80::/10"});
  auto& s = o.scan;
  s.enabled = c.get<bool>("behaviour.scan.enabled", true);
  s.window_s = positive<int64_t>(c, "behaviour.scan.window", s.window_s);
  s.ports = positive<unsigned>(c, "behaviour.scan.ports", s.ports);
  s.hosts = positive<unsigned>(c, "behaviour.scan.hosts", s.hosts);
  s.max_entries = positive<uint64_t>(c, "behaviour.scan.max-entries", s.max_entries);

  auto& g = o.guess;
  g.enabled = c.get<bool>("behaviour.guess.enabled", true);
  g.window_s = positive<int64_t>(c, "behaviour.guess.window", g.window_s);
  g.sessions = positive<unsigned>(c, "behaviour.guess.sessions", g.sessions);
  g.failures = positive<unsigned>(c, "behaviour.guess.failures", g.failures);
  g.short_s = positive<int64_t>(c, "behaviour.guess.short-session", g.short_s);
  g.shape_tolerance = fraction(c, "behaviour.guess.shape-tolerance", g.shape_tolerance);
  g.success_s = positive<int64_t>(c, "behaviour.guess.success-session", g.success_s);
  g.max_entries = positive<uint64_t>(c, "behaviour.guess.max-entries", g.max_entries);

  auto& e = o.exposed;
  e.enabled = c.get<bool>("behaviour.exposed.enabled", true);
  e.ports = port_list(c, "behaviour.exposed.ports",
                      {21,   22,   23,   139,  445,  1433, 1521,  2049, 3306, 3389, 5432, 5900,
                       5901, 5985, 5986, 6379, 9100, 9200, 27017, 631,  515,  8291, 10000});
  e.max_entries = positive<uint64_t>(c, "behaviour.exposed.max-entries", e.max_entries);

  auto& b = o.beacon;
  b.enabled = c.get<bool>("behaviour.beacon.enabled", true);
  b.min_count = positive<unsigned>(c, "behaviour.beacon.min-count", b.min_count);
  if (b.min_count < 4) throw core::ConfigError("behaviour.beacon.min-count: must be 4 or more");
  b.jitter = fraction(c, "behaviour.beacon.jitter", b.jitter);
  b.min_period_s = positive<int64_t>(c, "behaviour.beacon.min-period", b.min_period_s);
  b.max_period_s = positive<int64_t>(c, "behaviour.beacon.max-period", b.max_period_s);
  b.fit = fraction(c, "behaviour.beacon.fit", b.fit);
  b.allow = {"windowsupdate.com",   "update.microsoft.com",
             "microsoft.com",       "windows.com",
             "office.com",          "office.net",
             "office365.com",       "live.com",
             "msftconnecttest.com", "microsoftonline.com",
             "skype.com",           "teams.microsoft.com",
             "apple.com",           "icloud.com",
             "google.com",          "googleapis.com",
             "gstatic.com",         "gvt1.com",
             "mozilla.com",         "mozilla.net",
             "mozilla.org",         "ubuntu.com",
             "debian.org",          "dropbox.com",
             "dropboxapi.com",      "zoom.us",
             "slack.com",           "box.com",
             "adobe.com",           "ntp.org"};
  for (const auto& a : c.list("behaviour.beacon.allow", {})) b.allow.push_back(core::to_lower(a));
  b.ignore_ports =
      port_list(c, "behaviour.beacon.ignore-ports", {53, 123, 137, 138, 1900, 5353, 5355});
  b.max_entries = positive<uint64_t>(c, "behaviour.beacon.max-entries", b.max_entries);

  auto& d = o.dns;
  d.enabled = c.get<bool>("behaviour.dns.enabled", true);
  d.window_s = positive<int64_t>(c, "behaviour.dns.window", d.window_s);
  d.tunnel_names = positive<unsigned>(c, "behaviour.dns.tunnel-names", d.tunnel_names);
  d.min_label = positive<unsigned>(c, "behaviour.dns.min-label", d.min_label);
  d.min_entropy = positive<double>(c, "behaviour.dns.min-entropy", d.min_entropy);
  d.dga_domains = positive<unsigned>(c, "behaviour.dns.dga-domains", d.dga_domains);
  d.answer_names = positive<unsigned>(c, "behaviour.dns.answer-names", d.answer_names);
  d.txt_ratio = fraction(c, "behaviour.dns.txt-ratio", d.txt_ratio);
  d.large_ratio = fraction(c, "behaviour.dns.large-ratio", d.large_ratio);
  d.large_answer = positive<unsigned>(c, "behaviour.dns.large-answer", d.large_answer);
  d.allow = {"sophosxl.net", "mcafee.com",     "trendmicro.com",
             "e5.sk",        "eset.com",       "spamhaus.org",
             "spamcop.net",  "surbl.org",      "barracudacentral.org",
             "akamaihd.net", "cloudfront.net", "amazonaws.com"};
  for (const auto& a : c.list("behaviour.dns.allow", {})) d.allow.push_back(core::to_lower(a));
  d.max_entries = positive<uint64_t>(c, "behaviour.dns.max-entries", d.max_entries);

  auto& l = o.lateral;
  l.enabled = c.get<bool>("behaviour.lateral.enabled", true);
  l.window_s = positive<int64_t>(c, "behaviour.lateral.window", l.window_s);
  l.hosts = positive<unsigned>(c, "behaviour.lateral.hosts", l.hosts);
  l.ports = port_list(c, "behaviour.lateral.ports", {135, 139, 445, 3389, 5985, 5986, 22});
  l.allow = network_list(c, "behaviour.lateral.allow", {});
  l.admin_shares = c.get<bool>("behaviour.lateral.admin-shares", true);
  l.max_entries = positive<uint64_t>(c, "behaviour.lateral.max-entries", l.max_entries);

  auto& f = o.files;
  f.enabled = c.get<bool>("behaviour.files.enabled", true);
  f.fileinfo = c.get<bool>("behaviour.files.fileinfo", true);
  f.magic = c.get<bool>("behaviour.files.magic", f.magic);
  f.ftp = c.get<bool>("behaviour.files.ftp", f.ftp);
  f.stream_depth = c.get<uint64_t>("stream.reassembly.depth", f.stream_depth);
  f.body_limit = static_cast<uint32_t>(c.byte_size(
      "app-layer.protocols.http.libhtp.default-config.response-body-limit", f.body_limit));
  std::vector<LiveLists::Source> hash_src, intel_src;
  for (const auto& path : c.list("behaviour.files.hash-lists", {})) hash_src.push_back({path});
  if (auto server = c.get<std::string>("behaviour.files.server-list", ""); !server.empty())
    hash_src.push_back({server, true});
  o.intel.enabled = c.get<bool>("behaviour.intel.enabled", true);
  o.cleartext.enabled = c.get<bool>("behaviour.cleartext.enabled", true);
  auto& u = o.upload;
  u.enabled = c.get<bool>("behaviour.upload.enabled", true);
  u.bytes = c.byte_size("behaviour.upload.bytes", u.bytes);
  if (u.bytes == 0) throw core::ConfigError("behaviour.upload.bytes: must be more than 0");
  u.window_s = positive<int64_t>(c, "behaviour.upload.window", u.window_s);
  u.learning_s = c.get<int64_t>("behaviour.upload.learning", u.learning_s);
  if (u.learning_s < 0)
    throw core::ConfigError("behaviour.upload.learning: must be 0 or more (seconds)");
  u.severity = c.get<int>("behaviour.upload.severity", u.severity);
  if (u.severity < 1 || u.severity > 3)
    throw core::ConfigError("behaviour.upload.severity: must be 1 (high), 2 (medium) or 3 (low)");
  // Cloud backup and storage, and the SaaS an office sends files to.
  u.allow = {"amazonaws.com",
             "backblazeb2.com",
             "backblaze.com",
             "wasabisys.com",
             "googleapis.com",
             "google.com",
             "googleusercontent.com",
             "dropbox.com",
             "dropboxapi.com",
             "box.com",
             "boxcloud.com",
             "sharepoint.com",
             "onedrive.com",
             "live.com",
             "office.com",
             "office365.com",
             "microsoft.com",
             "windows.net",
             "icloud.com",
             "apple.com",
             "idrive.com",
             "idrivee2.com",
             "carbonite.com",
             "acronis.com",
             "synology.com",
             "quickconnect.to",
             "myqnapcloud.com",
             "zoom.us",
             "slack.com",
             "teams.microsoft.com",
             "sakura.ne.jp",
             "iijgio.com",
             "nifcloud.com",
             "storage.googleapis.com",
             "cloudflarestorage.com",
             "r2.cloudflarestorage.com"};
  for (const auto& a : c.list("behaviour.upload.allow", {})) u.allow.push_back(core::to_lower(a));
  u.max_entries = positive<uint64_t>(c, "behaviour.upload.max-entries", u.max_entries);
  for (const auto& path : c.list("behaviour.intel.lists", {})) intel_src.push_back({path});
  // The server's threat indicators, written there by the uplink when it pulls them.
  if (auto server = c.get<std::string>("behaviour.intel.server-list", ""); !server.empty())
    intel_src.push_back({server, true});
  o.lists = std::make_shared<LiveLists>(std::move(intel_src), std::move(hash_src));
  if (auto st = o.lists->load(); !st.ok()) throw core::ConfigError(st.error().message);
  return o;
}

// --- alerts ----------------------------------------------------------------------------------

namespace behaviour {

core::Alert make_alert(BehaviourKind kind, uint32_t sid_offset, int severity, std::string signature,
                       std::string_view category) {
  core::Alert a;
  a.gid = behaviour_gid(kind);
  a.signature_id = a.gid + sid_offset;
  a.rev = 1;
  a.signature = std::move(signature);
  a.category.assign(category);
  a.severity = severity;
  return a;
}

std::string service_name(uint16_t port) {
  switch (port) {
    case 21:
      return "FTP";
    case 22:
      return "SSH";
    case 23:
      return "Telnet";
    case 25:
    case 465:
    case 587:
      return "SMTP";
    case 80:
    case 8080:
      return "HTTP";
    case 110:
    case 995:
      return "POP3";
    case 135:
      return "RPC";
    case 139:
    case 445:
      return "SMB";
    case 143:
    case 993:
      return "IMAP";
    case 161:
      return "SNMP";
    case 443:
      return "HTTPS";
    case 515:
      return "LPD";
    case 631:
      return "IPP";
    case 1433:
      return "MSSQL";
    case 1521:
      return "Oracle";
    case 2049:
      return "NFS";
    case 3306:
      return "MySQL";
    case 3389:
      return "RDP";
    case 5432:
      return "PostgreSQL";
    case 5900:
    case 5901:
      return "VNC";
    case 5985:
    case 5986:
      return "WinRM";
    case 6379:
      return "Redis";
    case 8291:
      return "Winbox";
    case 9100:
      return "printer (JetDirect)";
    case 9200:
      return "Elasticsearch";
    case 10000:
      return "Webmin";
    case 27017:
      return "MongoDB";
    default:
      return "port " + std::to_string(port);
  }
}

namespace {

class BehaviourDetector final : public Detector {
 public:
  BehaviourDetector(const BehaviourOptions& o, std::shared_ptr<BehaviourCounters> counters)
      : opt_(o), counters_(std::move(counters)), shared_{opt_, HomeNet(opt_.home_net), *counters_} {
    if (opt_.scan.enabled) scan_ = std::make_unique<ScanDetector>(shared_);
    if (opt_.guess.enabled) guess_ = std::make_unique<GuessDetector>(shared_);
    if (opt_.exposed.enabled) exposed_ = std::make_unique<ExposedDetector>(shared_);
    if (opt_.beacon.enabled) beacon_ = std::make_unique<BeaconDetector>(shared_);
    if (opt_.dns.enabled) dns_ = std::make_unique<DnsDetector>(shared_);
    if (opt_.lateral.enabled) lateral_ = std::make_unique<LateralDetector>(shared_);
    if (opt_.files.enabled) files_ = std::make_unique<FileDetector>(shared_);
    if (opt_.intel.enabled && opt_.lists && opt_.lists->has_intel_sources())
      intel_ = std::make_unique<IntelDetector>(shared_);
    if (opt_.cleartext.enabled) cleartext_ = std::make_unique<CleartextDetector>(shared_);
    if (opt_.upload.enabled) upload_ = std::make_unique<UploadDetector>(shared_);
    smb_ = opt_.lateral.enabled && opt_.lateral.admin_shares;
    ftp_ = files_ && opt_.files.ftp;
  }

  std::string_view name() const override { return "behaviour"; }

  void on_packet(const Packet& p, DetectContext& ctx) override {
    Flow* f = p.flow;
    if (!f || p.origin == PacketOrigin::kFlowEnd) return;
    if (f->pkts[0] + f->pkts[1] == 1) new_flow(p, *f, ctx);
    auto* m = static_cast<FlowMarks*>(f->state(flow_slot()));
    // Uploads: a flow is looked at once it has sent kUploadMin (no state for the rest, a SYN
    // flood's flows among them); then its bytes count every MiB and when it closes.
    if (upload_ && f->bytes[static_cast<int>(Direction::kToServer)] >= kUploadMin &&
        (!m || !m->upload_checked)) {
      if (!m) {
        f->set_state(flow_slot(), std::make_unique<FlowMarks>());
        m = static_cast<FlowMarks*>(f->state(flow_slot()));
        m->exposed_done = true;
      }
      m->upload_checked = true;
      m->upload = upload_->outbound(*f);
    }
    if (!m) return;
    if (m->upload)
      count_upload(
          *f, *m, p, ctx,
          p.is_tcp() && (p.tcp_flags & (tcp_flag::kFin | tcp_flag::kRst)) ? 1 : kUploadStep);
    if (f->proto != ip_proto::kTcp) return;
    if (m->ftp_data) files_->on_ftp_packet(p, *m, ctx);
    if (m->guess_port && guess_) guess_->on_packet(p, *m, ctx);
    if (!m->exposed_done && exposed_) exposed_->on_packet(p, *m, ctx);
  }

  void on_stream(const StreamChunk& c, DetectContext& ctx) override {
    Flow* f = ctx.flow();
    if (!f) return;
    auto* m = static_cast<FlowMarks*>(f->state(flow_slot()));
    if (!m) return;
    if (m->ftp_data) {
      files_->on_ftp_data(c, *m, ctx);
      return;
    }
    if (m->ftp_control) files_->on_ftp_control(c, *m, ctx);
    if (m->cleartext_port && f->server_port == 23) {
      if (!m->cleartext_done && cleartext_) cleartext_->on_telnet(c, *m, ctx);
      if (c.direction == Direction::kToClient && m->guess_port && guess_ && c.offset < 65536)
        guess_->on_reply(c, *m, ctx);
      return;
    }
    if (c.direction == Direction::kToClient) {
      if (m->guess_port && guess_ && c.offset < 65536) guess_->on_reply(c, *m, ctx);
    } else {
      if (m->smb && lateral_) lateral_->on_smb_request(c, *m, ctx);
      if (m->cleartext_port && !m->cleartext_done && cleartext_) cleartext_->on_request(c, *m, ctx);
    }
  }

  void on_app(const AppEvent& ev, DetectContext& ctx) override {
    switch (ev.progress) {
      case AppProgress::kDnsQuery:
        if (dns_ || intel_) {
          size_t n = ctx.buffer_count(Buffer::kDnsQuery);
          for (size_t i = 0; i < n; ++i) {
            std::string_view q = ctx.buffer(Buffer::kDnsQuery, i);
            if (dns_) dns_->on_query(ctx.packet(), q, ctx);
            if (intel_) intel_->on_name(q, IntelDetector::kLookup, ctx);
          }
        }
        break;
      case AppProgress::kDnsAnswer:
        if (dns_ && ctx.buffer_count(Buffer::kDnsQuery) > 0)
          dns_->on_answer(ctx.packet(), ctx.buffer(Buffer::kDnsQuery, 0), ctx);
        break;
      case AppProgress::kTlsClientHello:
        if (beacon_ && ctx.flow()) beacon_->on_name(*ctx.flow(), ctx.buffer(Buffer::kTlsSni));
        if (upload_ && ctx.flow())
          upload_->on_name(*ctx.flow(), ctx.buffer(Buffer::kTlsSni), ctx.packet().timestamp.micros);
        if (intel_) {
          intel_->on_name(ctx.buffer(Buffer::kTlsSni), IntelDetector::kTls, ctx);
          intel_->on_fingerprint(ctx.buffer(Buffer::kJa3Hash), ctx.buffer(Buffer::kJa4Hash), ctx);
        }
        break;
      case AppProgress::kHttpRequestHeaders:
        if (beacon_ && ctx.flow()) beacon_->on_name(*ctx.flow(), ctx.buffer(Buffer::kHttpHost));
        if (upload_ && ctx.flow())
          upload_->on_name(*ctx.flow(), ctx.buffer(Buffer::kHttpHost),
                           ctx.packet().timestamp.micros);
        if (intel_) intel_->on_name(ctx.buffer(Buffer::kHttpHost), IntelDetector::kHttp, ctx);
        if (cleartext_ && ctx.flow()) {
          Flow& f = *ctx.flow();
          auto* m = static_cast<FlowMarks*>(f.state(flow_slot()));
          if ((!m || !m->cleartext_done) && cleartext_->on_http_request(ctx)) {
            if (!m) {
              f.set_state(flow_slot(), std::make_unique<FlowMarks>());
              m = static_cast<FlowMarks*>(f.state(flow_slot()));
            }
            m->cleartext_done = true;  // one alert per connection
          }
        }
        break;
      case AppProgress::kHttpResponseHeaders:
        if (guess_) guess_->on_http_status(ctx.buffer(Buffer::kHttpStatCode), ctx);
        break;
      case AppProgress::kHttpResponseBody:
        if (files_) files_->on_response_body(ctx.packet(), ev, ctx);
        break;
      default:
        break;
    }
  }

 private:
  void new_flow(const Packet& p, Flow& f, DetectContext& ctx) {
    if (scan_) scan_->on_new_flow(p, ctx);
    if (beacon_) beacon_->on_new_flow(p, ctx);
    if (lateral_) lateral_->on_new_flow(p, ctx);
    if (intel_) intel_->on_new_flow(p, ctx);
    if (upload_) upload_->on_new_flow(p, f);
    if (f.proto != ip_proto::kTcp) return;
    bool guess = guess_ && guess_->auth_port(f.server_port);
    bool exposed = exposed_ && exposed_->watched(f.server_port);
    bool smb = smb_ && (f.server_port == 445 || f.server_port == 139);
    bool cleartext = cleartext_ && CleartextDetector::login_port(f.server_port);
    bool ftp = ftp_ && f.server_port == 21;
    auto ftp_data = ftp_ ? files_->ftp_data(f, p.timestamp.micros) : nullptr;
    if (!guess && !exposed && !smb && !cleartext && !ftp && !ftp_data) return;
    auto m = std::make_unique<FlowMarks>();
    m->ftp_control = ftp;
    m->ftp_data = std::move(ftp_data);
    m->guess_port = guess;
    m->exposed_done = !exposed;
    m->smb = smb;
    m->cleartext_port = cleartext;
    f.set_state(flow_slot(), std::move(m));
  }

  // Adds a flow's to-server bytes to its destination's count once `step` more have passed.
  static constexpr uint64_t kUploadStep = 1 << 20;
  static constexpr uint64_t kUploadMin = 64 << 10;
  void count_upload(Flow& f, FlowMarks& m, const Packet& p, DetectContext& ctx, uint64_t step) {
    const uint64_t sent = f.bytes[static_cast<int>(Direction::kToServer)];
    if (sent - m.upload_counted < step) return;
    upload_->on_bytes(f, sent - m.upload_counted, p.timestamp.micros, ctx);
    m.upload_counted = sent;
  }

  BehaviourOptions opt_;
  std::shared_ptr<BehaviourCounters> counters_;
  Shared shared_;
  bool smb_ = false;
  bool ftp_ = false;
  std::unique_ptr<ScanDetector> scan_;
  std::unique_ptr<GuessDetector> guess_;
  std::unique_ptr<ExposedDetector> exposed_;
  std::unique_ptr<BeaconDetector> beacon_;
  std::unique_ptr<DnsDetector> dns_;
  std::unique_ptr<LateralDetector> lateral_;
  std::unique_ptr<FileDetector> files_;
  std::unique_ptr<IntelDetector> intel_;
  std::unique_ptr<CleartextDetector> cleartext_;
  std::unique_ptr<UploadDetector> upload_;
};

}  // namespace
}  // namespace behaviour

std::unique_ptr<Detector> make_behaviour_detector(const BehaviourOptions& options,
                                                  std::shared_ptr<BehaviourCounters> counters) {
  if (!options.enabled) return nullptr;
  return std::make_unique<behaviour::BehaviourDetector>(options, std::move(counters));
}

}  // namespace mimamori::net
