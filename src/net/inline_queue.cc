// Inline mode on NFQUEUE: per queue a receiver thread (netlink socket, watchdog) and a
// detection thread (the queue's Pipeline), verdicts, rejects, counters. See inline_queue.h.

#include "mimamori/net/inline_queue.h"

// The C library's network headers first: the kernel's would clash with them after.
#include <arpa/inet.h>
#include <netinet/in.h>
// clang-format off
extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
}
// clang-format on
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "mimamori/core/config.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/log.h"

namespace mimamori::net {

// --- options ---------------------------------------------------------------------------------

core::Result<std::vector<uint16_t>> parse_queue_spec(std::string_view spec) {
  std::vector<uint16_t> out;
  auto num = [](std::string_view s, uint16_t& v) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
  };
  std::string_view rest = spec;
  while (!rest.empty() || out.empty()) {
    auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    uint16_t lo = 0, hi = 0;
    auto colon = item.find(':');
    bool ok = colon == std::string_view::npos
                  ? num(item, lo) && ((hi = lo), true)
                  : num(item.substr(0, colon), lo) && num(item.substr(colon + 1), hi) && lo <= hi;
    if (!ok)
      return core::make_error(
          "-q '{}': expected a queue number or a range such as 0:3 (numbers 0 to 65535)", spec);
    if (hi - lo >= 64) return core::make_error("-q '{}': at most 64 queues", spec);
    for (uint32_t q = lo; q <= hi; ++q) out.push_back(static_cast<uint16_t>(q));
    if (comma == std::string_view::npos) break;
  }
  return out;
}

InlineOptions InlineOptions::from_config(const core::Config& c, std::vector<uint16_t> queues) {
  InlineOptions o;
  o.queues = std::move(queues);
  o.queue_maxlen = c.get<unsigned>("nfq.queue-maxlen", o.queue_maxlen);
  o.fail_open = c.get<bool>("nfq.fail-open", o.fail_open);
  o.watchdog_ms = c.get<int64_t>("nfq.watchdog", o.watchdog_ms);
  o.flow_drop_mark = c.get<bool>("nfq.flow-drop", o.flow_drop_mark);
  auto mark = [&](std::string_view key, uint32_t fallback) {
    std::string s = c.get<std::string>(key, std::to_string(fallback));
    uint32_t v = 0;
    int base = s.starts_with("0x") ? 16 : 10;
    std::string_view digits = base == 16 ? std::string_view(s).substr(2) : std::string_view(s);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size())
      throw core::ConfigError(std::string(key) + ": '" + s +
                              "' is not a 32-bit number (decimal or 0x hex)");
    return v;
  };
  o.drop_mark = mark("nfq.drop-mark", o.drop_mark);
  o.drop_mask = mark("nfq.drop-mask", o.drop_mask);
  if (o.drop_mark == 0 || (o.drop_mark & ~o.drop_mask) != 0)
    throw core::ConfigError("nfq.drop-mark: must be non-zero and inside nfq.drop-mask");
  o.handoff = c.get<unsigned>("nfq.handoff", o.handoff);
  o.socket_buffer_mb = c.get<unsigned>("nfq.socket-buffer", o.socket_buffer_mb);
  if (o.watchdog_ms < 10) throw core::ConfigError("nfq.watchdog: at least 10 (milliseconds)");
  if (o.handoff < 16) throw core::ConfigError("nfq.handoff: at least 16 packets");
  o.test_stall_content = c.get<std::string>("nfq.test.stall-content", "");
  o.test_stall_ms = c.get<int64_t>("nfq.test.stall-ms", 0);
  return o;
}

// --- counters --------------------------------------------------------------------------------

int LatencyHistogram::bucket(uint64_t ns) {
  if (ns < 8) return static_cast<int>(ns);
  int e = 63 - std::countl_zero(ns);
  int b = (e - 2) * 8 + static_cast<int>((ns >> (e - 3)) & 7);
  return b < kBuckets ? b : kBuckets - 1;
}

uint64_t LatencyHistogram::upper(int b) {
  if (b < 8) return static_cast<uint64_t>(b);
  int e = b / 8 + 2, sub = b % 8;
  uint64_t lo = uint64_t(8 + sub) << (e - 3);
  return lo + (uint64_t(1) << (e - 3)) - 1;
}

void LatencyHistogram::add(uint64_t ns) {
  ++counts[bucket(ns)];
  ++total;
  if (ns > max_ns) max_ns = ns;
}

void LatencyHistogram::add(const LatencyHistogram& o) {
  for (int i = 0; i < kBuckets; ++i) counts[i] += o.counts[i];
  total += o.total;
  if (o.max_ns > max_ns) max_ns = o.max_ns;
}

uint64_t LatencyHistogram::quantile(double q) const {
  if (total == 0) return 0;
  auto want = static_cast<uint64_t>(q * static_cast<double>(total));
  if (want < 1) want = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts[i];
    if (seen >= want) return std::min(upper(i), max_ns);
  }
  return max_ns;
}

void InlineStats::add(const InlineStats& o) {
  accepted += o.accepted;
  dropped += o.dropped;
  rejected += o.rejected;
  flow_marked += o.flow_marked;
  fail_open_events += o.fail_open_events;
  fail_open_accepted += o.fail_open_accepted;
  handoff_full += o.handoff_full;
  verdict_errors += o.verdict_errors;
  reject_errors += o.reject_errors;
  socket_overruns += o.socket_overruns;
  kernel_queue_dropped += o.kernel_queue_dropped;
  kernel_user_dropped += o.kernel_user_dropped;
  latency.add(o.latency);
}

void InlineStats::append_to(core::Fields& f) const {
  f.begin_object("ips");
  f.begin_object("verdicts")
      .add("accept", accepted)
      .add("drop", dropped)
      .add("reject", rejected)
      .add("flow_marked", flow_marked)
      .end();
  f.begin_object("fail_open")
      .add("events", fail_open_events)
      .add("accepted", fail_open_accepted)
      .add("handoff_full", handoff_full)
      .end();
  f.begin_object("kernel")
      .add("queue_dropped", kernel_queue_dropped)
      .add("user_dropped", kernel_user_dropped)
      .add("socket_overruns", socket_overruns)
      .end();
  f.add("verdict_errors", verdict_errors).add("reject_errors", reject_errors);
  f.begin_object("latency_us")
      .add("p50", static_cast<double>(latency.quantile(0.50)) / 1000.0)
      .add("p99", static_cast<double>(latency.quantile(0.99)) / 1000.0)
      .add("max", static_cast<double>(latency.max_ns) / 1000.0)
      .add("count", latency.total)
      .end();
  f.end();
}

std::string InlineStats::json_member() const {
  core::Fields f;
  append_to(f);
  std::string s;
  core::append_json_members(s, f);  // `,"ips":{...}`: the caller puts its own comma
  if (!s.empty() && s.front() == ',') s.erase(0, 1);
  return s;
}

// --- the queues ------------------------------------------------------------------------------

namespace {

using Clock = std::chrono::steady_clock;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Slot {
  uint32_t id = 0;
  uint32_t mark = 0;
  int64_t arrived_ns = 0;
  std::string data;
};

// Raw sockets for the packets of a reject (made once; their absence is logged once).
class RejectSender {
 public:
  RejectSender() {
    v4_ = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    v6_ = ::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (v6_ >= 0) {
      int one = 1;
      ::setsockopt(v6_, IPPROTO_IPV6, 36 /* IPV6_HDRINCL */, &one, sizeof one);
    }
    if (v4_ < 0 || v6_ < 0)
      spdlog::warn("inline: no raw socket for rejects ({}): rejected packets are only dropped",
                   std::strerror(errno));
  }
  ~RejectSender() {
    if (v4_ >= 0) ::close(v4_);
    if (v6_ >= 0) ::close(v6_);
  }
  // Sends the reject of `ip`; false when something could not be sent.
  bool send(std::string_view ip) {
    bool ok = true;
    for (const std::string& pkt : build_reject(ip)) {
      const auto* b = reinterpret_cast<const unsigned char*>(pkt.data());
      ssize_t n = -1;
      if ((b[0] >> 4) == 4 && v4_ >= 0) {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        std::memcpy(&to.sin_addr, b + 16, 4);
        n = ::sendto(v4_, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      } else if ((b[0] >> 4) == 6 && v6_ >= 0) {
        sockaddr_in6 to{};
        to.sin6_family = AF_INET6;
        std::memcpy(&to.sin6_addr, b + 24, 16);
        n = ::sendto(v6_, pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      }
      ok &= n == static_cast<ssize_t>(pkt.size());
    }
    return ok;
  }

 private:
  int v4_ = -1, v6_ = -1;
};

}  // namespace

struct Queue {
  uint16_t number = 0;
  const InlineOptions* opt = nullptr;
  std::unique_ptr<Pipeline> pipeline;
  RejectSender* rejects = nullptr;
  nfq_handle* h = nullptr;
  nfq_q_handle* qh = nullptr;
  std::mutex verdict_mu;  // the netlink socket is written by both threads

  // Hand-off from the receiver to detection.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Slot*> work;
  std::vector<Slot*> free;
  std::vector<std::unique_ptr<Slot>> owned;
  bool ending = false;

  // The packet detection holds, as one word so that the watchdog can never answer for one
  // packet by the id of another: (id << 32) | 1 while detection holds it, | 2 once the
  // watchdog answered for it, 0 when detection holds nothing.
  static constexpr uint64_t kHeld = 1, kAnswered = 2;
  std::atomic<uint64_t> held{0};
  std::atomic<int64_t> busy_since{0};
  bool bypass = false;  // receiver only: the watchdog (or the stop) put this queue in bypass
  std::atomic<bool> detect_done{false};

  // Counters: the receiver's and detection's own (atomics: read by the stats thread).
  std::atomic<uint64_t> accepted{0}, dropped{0}, rejected{0}, flow_marked{0}, fo_events{0},
      fo_accepted{0}, handoff_full{0}, verdict_errors{0}, reject_errors{0}, overruns{0};
  std::mutex stats_mu;
  LatencyHistogram latency;  // under stats_mu
  PipelineStats snapshot;    // under stats_mu

  std::thread receiver, detection;

  ~Queue() {
    if (qh) nfq_destroy_queue(qh);
    if (h) nfq_close(h);
  }

  bool verdict(uint32_t id, uint32_t v, uint32_t mark, bool set_mark) {
    std::lock_guard l(verdict_mu);
    int rc = set_mark ? nfq_set_verdict2(qh, id, v, mark, 0, nullptr)
                      : nfq_set_verdict(qh, id, v, 0, nullptr);
    if (rc < 0) ++verdict_errors;
    return rc >= 0;
  }
  void accept(uint32_t id) {
    if (verdict(id, NF_ACCEPT, 0, false)) ++accepted;
  }

  // Receiver: a packet from the kernel.
  int on_packet(nfq_data* nfa) {
    nfqnl_msg_packet_hdr* ph = nfq_get_msg_packet_hdr(nfa);
    if (!ph) return 0;
    uint32_t id = ntohl(ph->packet_id);
    unsigned char* data = nullptr;
    int len = nfq_get_payload(nfa, &data);
    if (bypass || len <= 0) {
      if (bypass) ++fo_accepted;
      accept(id);
      return 0;
    }
    Slot* s = nullptr;
    {
      std::lock_guard l(mu);
      if (!free.empty()) {
        s = free.back();
        free.pop_back();
      }
    }
    if (!s) {  // detection lags far behind: let this one through unseen
      ++handoff_full;
      accept(id);
      return 0;
    }
    s->id = id;
    s->mark = nfq_get_nfmark(nfa);
    s->arrived_ns = now_ns();
    s->data.assign(reinterpret_cast<const char*>(data), static_cast<std::size_t>(len));
    {
      std::lock_guard l(mu);
      work.push_back(s);
    }
    cv.notify_one();
    return 0;
  }

  // Receiver: the watchdog, after every read and every poll timeout.
  void watchdog() {
    if (!bypass) {
      // `held` is read before `busy_since` (detection writes them in the other order), and
      // the exchange below succeeds only if detection still holds that very packet: a
      // finished packet's start time never puts the queue in bypass.
      uint64_t cur = held.load();
      int64_t since = busy_since.load();
      if ((cur & 3) != kHeld || since == 0 || now_ns() - since <= opt->watchdog_ms * 1'000'000)
        return;
      if (!held.compare_exchange_strong(cur, (cur & ~uint64_t(3)) | kAnswered)) return;
      bypass = true;
      ++fo_events;
      spdlog::warn(
          "inline queue {}: detection stalled for more than {} ms: accepting every packet "
          "until it answers again",
          number, opt->watchdog_ms);
      ++fo_accepted;
      accept(static_cast<uint32_t>(cur >> 32));
      std::deque<Slot*> waiting;
      {
        std::lock_guard l(mu);
        waiting.swap(work);
      }
      for (Slot* s : waiting) {
        ++fo_accepted;
        accept(s->id);
      }
      std::lock_guard l(mu);
      for (Slot* s : waiting) free.push_back(s);
    } else if (busy_since.load() == 0) {
      bypass = false;
      spdlog::info("inline queue {}: detection answers again: inspecting packets", number);
    }
  }

  void receive_loop(const std::atomic<bool>& stop) {
    int fd = nfq_fd(h);
    std::vector<char> buf(256 * 1024);
    while (!stop.load()) {
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, 20);
      if (r > 0) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n > 0) {
          nfq_handle_packet(h, buf.data(), static_cast<int>(n));
        } else if (n < 0 && errno == ENOBUFS) {
          ++overruns;
        }
      }
      watchdog();
    }
    // Stopping: what waits for detection is accepted, and so is everything that comes
    // while detection ends (its flows retire, its records are written); then the queue is
    // unbound and the firewall's bypass takes over. Only packets caught in the kernel at
    // that instant are lost.
    bypass = true;
    std::deque<Slot*> waiting;
    {
      std::lock_guard l(mu);
      waiting.swap(work);
      ending = true;
    }
    cv.notify_one();
    for (Slot* s : waiting) accept(s->id);
    {
      std::lock_guard l(mu);
      for (Slot* s : waiting) free.push_back(s);
    }
    while (!detect_done.load()) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n > 0) nfq_handle_packet(h, buf.data(), static_cast<int>(n));
      }
    }
    std::lock_guard l(verdict_mu);
    nfq_destroy_queue(qh);
    qh = nullptr;
  }

  void detect_loop() {
    uint64_t count = 0, since = 0;
    const bool stall = !opt->test_stall_content.empty() && opt->test_stall_ms > 0;
    while (true) {
      Slot* s = nullptr;
      {
        std::unique_lock l(mu);
        if (work.empty()) {
          l.unlock();
          pipeline->flush();  // idle: what was found goes out now
          snap();
          l.lock();
          cv.wait_for(l, std::chrono::milliseconds(200), [&] { return !work.empty() || ending; });
        }
        if (work.empty()) {
          if (ending) break;
          continue;
        }
        s = work.front();
        work.pop_front();
      }
      const uint64_t mine = (uint64_t(s->id) << 32) | kHeld;
      held.store(mine);
      busy_since.store(now_ns());
      if (stall && s->data.find(opt->test_stall_content) != std::string::npos)
        std::this_thread::sleep_for(std::chrono::milliseconds(opt->test_stall_ms));
      RawPacket raw;
      raw.timestamp = core::now();
      raw.data = s->data;
      raw.wire_length = static_cast<uint32_t>(s->data.size());
      raw.link_type = kLinkTypeRaw;
      pipeline->process(raw, ++count);
      PacketVerdict v = pipeline->verdict();
      busy_since.store(0);
      uint64_t expected = mine;
      if (held.compare_exchange_strong(expected, 0)) {
        answer(*s, v);
      } else {
        held.store(0);  // the watchdog answered for it meanwhile
      }
      {
        std::lock_guard l(mu);
        free.push_back(s);
      }
      if (++since >= 1024) {
        since = 0;
        snap();
      }
    }
    pipeline->finish();
    snap();
    detect_done.store(true);
  }

  void answer(const Slot& s, const PacketVerdict& v) {
    bool ok;
    if (!v.drop) {
      ok = verdict(s.id, NF_ACCEPT, 0, false);
      if (ok) ++accepted;
    } else {
      if (v.reject) {
        ++rejected;
        if (!rejects->send(s.data)) ++reject_errors;
      }
      if (v.flow && opt->flow_drop_mark) {
        // The packet goes through the chain again with the drop mark: the documented rules
        // save it to the connection and drop it, and every later packet of the connection.
        ok = verdict(s.id, NF_REPEAT, (s.mark & ~opt->drop_mask) | opt->drop_mark, true);
        if (ok) ++flow_marked;
      } else {
        ok = verdict(s.id, NF_DROP, 0, false);
      }
      if (ok) ++dropped;
    }
    uint64_t ns = static_cast<uint64_t>(now_ns() - s.arrived_ns);
    std::lock_guard l(stats_mu);
    latency.add(ns);
  }

  void snap() {
    std::lock_guard l(stats_mu);
    snapshot = pipeline->stats();
  }
};

namespace {

int on_nfq_packet(nfq_q_handle*, nfgenmsg*, nfq_data* nfa, void* data) {
  return static_cast<Queue*>(data)->on_packet(nfa);
}

// The kernel's counters of our queues, from /proc/net/netfilter/nfnetlink_queue:
// queue, portid, waiting, copy mode, copy range, queue dropped, user dropped, id, 1.
void kernel_counters(const std::vector<uint16_t>& queues, InlineStats& s) {
  std::ifstream in("/proc/net/netfilter/nfnetlink_queue");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    uint64_t q = 0, portid = 0, waiting = 0, mode = 0, range = 0, qdrop = 0, udrop = 0;
    if (!(ls >> q >> portid >> waiting >> mode >> range >> qdrop >> udrop)) continue;
    for (uint16_t mine : queues) {
      if (mine != q) continue;
      s.kernel_queue_dropped += qdrop;
      s.kernel_user_dropped += udrop;
    }
  }
}

}  // namespace

class InlineSensorImpl {
 public:
  InlineOptions opt;
  RejectSender rejects;
  std::vector<std::unique_ptr<Queue>> queues;
};

core::Result<std::unique_ptr<InlineSensor>> InlineSensor::open(
    const InlineOptions& options, const std::function<std::unique_ptr<Pipeline>(int)>& make) {
  auto impl = std::make_unique<InlineSensorImpl>();
  impl->opt = options;
  if (options.queues.empty()) return core::make_error("inline: no queue given (-q)");
  for (std::size_t i = 0; i < options.queues.size(); ++i) {
    auto q = std::make_unique<Queue>();
    q->number = options.queues[i];
    q->opt = &impl->opt;
    q->rejects = &impl->rejects;
    q->h = nfq_open();
    if (!q->h)
      return core::make_error(
          "inline queue {}: cannot open netfilter queue netlink: {} (root or "
          "CAP_NET_ADMIN is needed)",
          q->number, std::strerror(errno));
    q->qh = nfq_create_queue(q->h, q->number, &on_nfq_packet, q.get());
    if (!q->qh)
      return core::make_error(
          "inline queue {}: cannot bind it: {} (is another sensor bound to it?)", q->number,
          std::strerror(errno));
    if (nfq_set_mode(q->qh, NFQNL_COPY_PACKET, 0xffff) < 0)
      return core::make_error("inline queue {}: cannot set copy mode: {}", q->number,
                              std::strerror(errno));
    if (nfq_set_queue_maxlen(q->qh, options.queue_maxlen) < 0)
      spdlog::warn("inline queue {}: cannot set the queue length: {}", q->number,
                   std::strerror(errno));
    if (options.fail_open &&
        nfq_set_queue_flags(q->qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN) < 0)
      spdlog::warn("inline queue {}: this kernel has no fail-open queues: {}", q->number,
                   std::strerror(errno));
    int fd = nfq_fd(q->h);
    int size = static_cast<int>(options.socket_buffer_mb) << 20;
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    for (uint32_t k = 0; k < options.handoff; ++k) {
      q->owned.push_back(std::make_unique<Slot>());
      q->owned.back()->data.reserve(2048);
      q->free.push_back(q->owned.back().get());
    }
    q->pipeline = make(static_cast<int>(i));
    impl->queues.push_back(std::move(q));
  }
  return std::unique_ptr<InlineSensor>(new InlineSensor(std::move(impl)));
}

InlineSensor::InlineSensor(std::unique_ptr<InlineSensorImpl> impl) : impl_(std::move(impl)) {}
InlineSensor::~InlineSensor() = default;

void InlineSensor::run(
    const std::atomic<bool>& stop, int64_t stats_interval_us,
    const std::function<void(const PipelineStats&, const InlineStats&)>& on_stats) {
  for (auto& q : impl_->queues) {
    Queue* qp = q.get();
    qp->detection = std::thread([qp] { qp->detect_loop(); });
    qp->receiver = std::thread([qp, &stop] { qp->receive_loop(stop); });
  }
  std::string list;
  for (uint16_t n : impl_->opt.queues) {
    if (!list.empty()) list.push_back(',');
    list.append(std::to_string(n));
  }
  spdlog::info("inline on queue {} ({} worker{}), watchdog {} ms, fail-open {}", list,
               impl_->queues.size(), impl_->queues.size() == 1 ? "" : "s", impl_->opt.watchdog_ms,
               impl_->opt.fail_open ? "on" : "off");
  auto last = Clock::now();
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (stats_interval_us > 0 && on_stats &&
        Clock::now() - last >= std::chrono::microseconds(stats_interval_us)) {
      last = Clock::now();
      on_stats(pipeline_stats(), stats());
    }
  }
  for (auto& q : impl_->queues) q->detection.join();
  for (auto& q : impl_->queues) q->receiver.join();
}

PipelineStats InlineSensor::pipeline_stats() const {
  PipelineStats s;
  for (auto& q : impl_->queues) {
    std::lock_guard l(q->stats_mu);
    s.add(q->snapshot);
  }
  return s;
}

InlineStats InlineSensor::stats() const {
  InlineStats s;
  for (auto& q : impl_->queues) {
    s.accepted += q->accepted;
    s.dropped += q->dropped;
    s.rejected += q->rejected;
    s.flow_marked += q->flow_marked;
    s.fail_open_events += q->fo_events;
    s.fail_open_accepted += q->fo_accepted;
    s.handoff_full += q->handoff_full;
    s.verdict_errors += q->verdict_errors;
    s.reject_errors += q->reject_errors;
    s.socket_overruns += q->overruns;
    std::lock_guard l(q->stats_mu);
    s.latency.add(q->latency);
  }
  kernel_counters(impl_->opt.queues, s);
  return s;
}

}  // namespace mimamori::net
