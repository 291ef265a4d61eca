// Spool throughput: events/s through append + commit (one fsync per batch), against the named
// baseline of writing the same bytes to a plain file with one fdatasync per batch.

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "mimamori/uplink/spool.h"

namespace {

namespace fs = std::filesystem;
using mimamori::uplink::FsyncPolicy;
using mimamori::uplink::Spool;
using mimamori::uplink::SpoolOptions;

// A typical host event (~420 bytes of EVE JSON).
const std::string kEvent =
    R"({"timestamp":"2026-11-26T19:40:35.123456+0900","event_type":"auth","host":"pc-01",)"
    R"("auth":{"service":"sshd","outcome":"failure","user":"admin","src_ip":"203.0.113.7",)"
    R"("method":"password","message":"Failed password for invalid user admin from 203.0.113.7 )"
    R"(port 52144 ssh2","source":"/var/log/auth.log"},"alert":{"signature_id":9100001,)"
    R"("signature":"SSH brute force","category":"Attempted Administrator Privilege Gain",)"
    R"("severity":2}})";

fs::path temp_dir() {
  char tmpl[] = "/tmp/mimamori-bench-spool-XXXXXX";
  return ::mkdtemp(tmpl);
}

void BM_SpoolAppendCommit(benchmark::State& state) {
  fs::path dir = temp_dir();
  SpoolOptions o;
  o.dir = dir;
  o.max_bytes = 1ull << 30;
  o.fsync = state.range(1) ? FsyncPolicy::kPerCommit : FsyncPolicy::kNever;
  auto spool = std::move(Spool::open(o).value());
  const int64_t batch = state.range(0);
  uint64_t last = 0;
  for (auto _ : state) {
    for (int64_t i = 0; i < batch; ++i) last = spool->append(kEvent);
    if (!spool->commit({{"bench", std::to_string(last)}}).ok()) state.SkipWithError("commit");
    // Keep the spool small, as a connected device does.
    if (last % 20000 < static_cast<uint64_t>(batch)) (void)spool->ack_through(last);
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetBytesProcessed(state.iterations() * batch * static_cast<int64_t>(kEvent.size()));
  spool.reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_SpoolAppendCommit)
    ->ArgsProduct({{100, 1000}, {1, 0}})
    ->ArgNames({"batch", "fsync"})
    ->UseRealTime();

// Baseline: the same bytes appended to one file with write() and one fdatasync per batch.
void BM_PlainFileWriteFsync(benchmark::State& state) {
  fs::path dir = temp_dir();
  fs::path path = dir / "plain.log";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  const int64_t batch = state.range(0);
  std::string buf;
  for (auto _ : state) {
    buf.clear();
    for (int64_t i = 0; i < batch; ++i) buf += kEvent;
    if (::write(fd, buf.data(), buf.size()) < 0) state.SkipWithError("write");
    if (state.range(1)) ::fdatasync(fd);
    if (::lseek(fd, 0, SEEK_END) > (256 << 20)) (void)::ftruncate(fd, 0);
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetBytesProcessed(state.iterations() * batch * static_cast<int64_t>(kEvent.size()));
  ::close(fd);
  fs::remove_all(dir);
}
BENCHMARK(BM_PlainFileWriteFsync)
    ->ArgsProduct({{100, 1000}, {1, 0}})
    ->ArgNames({"batch", "fsync"})
    ->UseRealTime();

// Reading back for upload: records/s through Spool::read in batches of 1000.
void BM_SpoolRead(benchmark::State& state) {
  fs::path dir = temp_dir();
  SpoolOptions o;
  o.dir = dir;
  o.fsync = FsyncPolicy::kNever;
  auto spool = std::move(Spool::open(o).value());
  for (int b = 0; b < 100; ++b) {
    for (int i = 0; i < 1000; ++i) spool->append(kEvent);
    (void)spool->commit();
  }
  std::vector<mimamori::uplink::SpoolRecord> out;
  uint64_t after = 0, items = 0;
  for (auto _ : state) {
    (void)spool->read(after, 1000, 8 << 20, out);
    if (out.empty()) {
      after = 0;
      continue;
    }
    after = out.back().seq;
    items += out.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(items));
  spool.reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_SpoolRead)->UseRealTime();

}  // namespace
