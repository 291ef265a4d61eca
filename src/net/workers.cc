#include "mimamori/net/workers.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

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
    PipelineStats s;
    for (auto& w : workers_) {
      std::lock_guard l(w->stats_mu);
      s.add(w->snapshot);
    }
    return s;
  }

 private:
  std::vector<std::unique_ptr<Worker>> workers_;
  bool finished_ = false;
};

WorkerPool::WorkerPool(int n, const std::function<std::unique_ptr<Pipeline>(int)>& make)
    : impl_(std::make_unique<WorkerPoolImpl>(n, make)) {}
WorkerPool::~WorkerPool() = default;
void WorkerPool::dispatch(const RawPacket& raw, uint64_t number) { impl_->dispatch(raw, number); }
void WorkerPool::finish() { impl_->finish(); }
PipelineStats WorkerPool::stats() { return impl_->stats(); }

}  // namespace mimamori::net
