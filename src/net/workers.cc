#include "mimamori/net/workers.h"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "mimamori/core/event.h"
#include "mimamori/net/decode.h"

namespace mimamori::net {
namespace {

constexpr std::size_t kBatchPackets = 256;
constexpr std::size_t kBatchBytes = 512 * 1024;
constexpr std::size_t kBatchesPerWorker = 16;

struct Batch {
  struct Rec {
    int64_t ts;
    uint64_t number;
    uint32_t off, caplen, wire;
    int link;
  };
  std::vector<char> bytes;
  std::vector<Rec> recs;
  bool end = false;
  void clear() {
    bytes.clear();
    recs.clear();
    end = false;
  }
};

// A bounded single-producer single-consumer hand-off of batches.
struct Channel {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Batch*> q;
  void push(Batch* b) {
    {
      std::lock_guard l(mu);
      q.push_back(b);
    }
    cv.notify_one();
  }
  Batch* pop() {
    std::unique_lock l(mu);
    cv.wait(l, [&] { return !q.empty(); });
    Batch* b = q.front();
    q.pop_front();
    return b;
  }
};

}  // namespace

class WorkerPoolImpl {
 public:
  struct Worker {
    std::unique_ptr<Pipeline> pipeline;
    std::vector<std::unique_ptr<Batch>> owned;
    Channel work, free;
    Batch* filling = nullptr;
    std::thread thread;
    std::mutex stats_mu;
    PipelineStats snapshot;
  };

  WorkerPoolImpl(int n, const std::function<std::unique_ptr<Pipeline>(int)>& make) {
    if (n == 1) {
      // A pool of one: the reader's thread runs the pipeline itself.
      inline_ = make(0);
      return;
    }
    for (int i = 0; i < n; ++i) {
      auto w = std::make_unique<Worker>();
      w->pipeline = make(i);
      for (std::size_t b = 0; b < kBatchesPerWorker; ++b) {
        w->owned.push_back(std::make_unique<Batch>());
        w->owned.back()->bytes.reserve(kBatchBytes + 65536);
        w->owned.back()->recs.reserve(kBatchPackets);
        w->free.push(w->owned.back().get());
      }
      workers_.push_back(std::move(w));
    }
    for (auto& w : workers_) w->thread = std::thread([this, wp = w.get()] { run(*wp); });
  }

  ~WorkerPoolImpl() { finish(); }

  void run(Worker& w) {
    uint64_t since = 0;
    while (true) {
      Batch* b = w.work.pop();
      bool end = b->end;
      for (const auto& r : b->recs) {
        RawPacket raw;
        raw.timestamp.micros = r.ts;
        raw.data = std::string_view(b->bytes.data() + r.off, r.caplen);
        raw.wire_length = r.wire;
        raw.link_type = r.link;
        w.pipeline->process(raw, r.number);
      }
      since += b->recs.size();
      b->clear();
      w.free.push(b);
      if (end) break;
      if (since >= 8192) {
        since = 0;
        std::lock_guard l(w.stats_mu);
        w.snapshot = w.pipeline->stats();
      }
    }
    w.pipeline->finish();
    std::lock_guard l(w.stats_mu);
    w.snapshot = w.pipeline->stats();
  }

  void dispatch(const RawPacket& raw, uint64_t number) {
    if (inline_) {
      inline_->process(raw, number);
      return;
    }
    std::size_t i = workers_.size() == 1 ? 0 : endpoint_hash(raw) % workers_.size();
    Worker& w = *workers_[i];
    if (!w.filling) w.filling = w.free.pop();
    Batch* b = w.filling;
    b->recs.push_back({raw.timestamp.micros, number, static_cast<uint32_t>(b->bytes.size()),
                       static_cast<uint32_t>(raw.data.size()), raw.wire_length, raw.link_type});
    b->bytes.insert(b->bytes.end(), raw.data.begin(), raw.data.end());
    if (b->recs.size() >= kBatchPackets || b->bytes.size() >= kBatchBytes) {
      w.work.push(b);
      w.filling = nullptr;
    }
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    if (inline_) {
      inline_->finish();
      return;
    }
    for (auto& w : workers_) {
      if (!w->filling) w->filling = w->free.pop();
      w->filling->end = true;
      w->work.push(w->filling);
      w->filling = nullptr;
    }
    for (auto& w : workers_)
      if (w->thread.joinable()) w->thread.join();
  }

  PipelineStats stats() {
    if (inline_) {
      inline_->flush();
      return inline_->stats();
    }
    PipelineStats s;
    for (auto& w : workers_) {
      std::lock_guard l(w->stats_mu);
      s.add(w->snapshot);
    }
    return s;
  }

 private:
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Pipeline> inline_;  // the pipeline of a pool of one
  bool finished_ = false;
};

WorkerPool::WorkerPool(int n, const std::function<std::unique_ptr<Pipeline>(int)>& make)
    : impl_(std::make_unique<WorkerPoolImpl>(n, make)) {}
WorkerPool::~WorkerPool() = default;
void WorkerPool::dispatch(const RawPacket& raw, uint64_t number) { impl_->dispatch(raw, number); }
void WorkerPool::finish() { impl_->finish(); }
PipelineStats WorkerPool::stats() { return impl_->stats(); }

CaptureResult run_capture(PacketSource& source, WorkerPool& pool, const std::atomic<bool>& stop,
                          const CaptureLoopOptions& options,
                          const std::function<void(const PipelineStats&)>& on_stats) {
  CaptureResult result;
  RawPacket raw;
  uint64_t number = 0;
  core::Timestamp last_stats = core::now();
  // --pps: replay a file at a fixed packet rate (a capture "played back" as if live).
  auto pace_start = std::chrono::steady_clock::now();
  while (true) {
    auto more = source.next(raw, stop);
    if (!more) {
      result.error = std::move(more).error();
      break;
    }
    if (!*more) break;
    pool.dispatch(raw, ++number);
    if (options.pps > 0) {
      auto due = pace_start +
                 std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::duration<double>(static_cast<double>(number) / options.pps));
      std::this_thread::sleep_until(due);
    }
    if (options.stats_interval_us > 0 && (number & 1023) == 0 && on_stats) {
      core::Timestamp t = core::now();
      if (t.micros - last_stats.micros >= options.stats_interval_us) {
        last_stats = t;
        on_stats(pool.stats());
      }
    }
  }
  pool.finish();
  result.total = pool.stats();
  return result;
}

namespace {

// Copies node `i` of `src` (with its subtree) to the end of `dst`; returns the next index.
uint32_t copy_node(const core::Fields& src, uint32_t i, core::Fields& dst) {
  const auto& n = src.nodes()[i];
  std::string_view key = src.key_of(n);
  switch (n.kind) {
    case core::ValueKind::kObject:
    case core::ValueKind::kArray:
      if (n.kind == core::ValueKind::kObject)
        dst.begin_object(key);
      else
        dst.begin_array(key);
      for (uint32_t j = i + 1; j < n.end;) j = copy_node(src, j, dst);
      dst.end();
      return n.end;
    case core::ValueKind::kString:
      dst.add(key, src.str_of(n));
      break;
    case core::ValueKind::kInt:
      dst.add_int(key, n.i);
      break;
    case core::ValueKind::kUint:
      dst.add_uint(key, n.u);
      break;
    case core::ValueKind::kDouble:
      dst.add(key, n.d);
      break;
    case core::ValueKind::kBool:
      dst.add(key, n.b);
      break;
    case core::ValueKind::kNull:
      dst.add_null(key);
      break;
  }
  return i + 1;
}

}  // namespace

void write_stats_record(EveSink& sink, const PipelineStats& stats, const CaptureStats& capture,
                        core::Timestamp started, const core::EveFormat& format,
                        const core::Fields* more) {
  core::Event ev;
  ev.timestamp = core::now();
  ev.event_type = core::event_type::kStats;
  core::Fields pipeline;
  stats.append_to(pipeline, (ev.timestamp.micros - started.micros) / 1000000);
  // The capture counters join the "stats" object, after the pipeline's.
  const auto& nodes = pipeline.nodes();
  for (uint32_t i = 0; i < nodes.size();) {
    if (nodes[i].kind != core::ValueKind::kObject || pipeline.key_of(nodes[i]) != "stats") {
      i = copy_node(pipeline, i, ev.fields);
      continue;
    }
    ev.fields.begin_object("stats");
    for (uint32_t j = i + 1; j < nodes[i].end;) j = copy_node(pipeline, j, ev.fields);
    ev.fields.begin_object("capture")
        .add("kernel_packets", capture.packets)
        .add("kernel_drops", capture.kernel_drops)
        .add("read_errors", capture.read_errors)
        .end();
    if (more) {
      const auto& m = more->nodes();
      for (uint32_t j = 0; j < m.size();) j = copy_node(*more, j, ev.fields);
    }
    ev.fields.end();
    i = nodes[i].end;
  }
  std::string line = core::to_eve(ev, format);
  line.push_back('\n');
  sink.write(line);
}

}  // namespace mimamori::net
