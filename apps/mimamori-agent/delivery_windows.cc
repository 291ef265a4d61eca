#include "delivery_windows.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <vector>

#include "mimamori/core/eve.h"
#include "mimamori/uplink/spool.h"
#include "mimamori/uplink/uplink.h"

namespace mimamori::agent {

AgentSink::AgentSink(uplink::Spool& spool, bool print)
    : spool_(spool),
      delivery_([&spool](std::string_view line) { return spool.append(line); },
                spool.checkpoint(host::EventLogAlerts::kCheckpoint),
                spool.checkpoint(host::EventLogDelivery::kHeldCheckpoint)),
      print_(print) {
  delivery_.acked(spool.stats().acked_through);
  std::vector<uplink::SpoolRecord> batch;
  uint64_t after = 0, n = 0;
  while (true) {
    if (auto st = spool.read(after, 1000, 4u << 20, batch); !st) {
      spdlog::warn("{}; alerts re-read from the event logs may be spooled twice",
                   st.error().message);
      break;
    }
    if (batch.empty()) break;
    for (const auto& r : batch) delivery_.spooled(r.seq, r.payload);
    after = batch.back().seq;
    n += batch.size();
  }
  if (n) spdlog::info("{} alerts in the spool wait for the server's acknowledgement", n);
}

void AgentSink::emit(const core::Event& e) {
  line_.clear();
  core::append_eve(e, line_);
  if (!delivery_.deliver(e, line_) || !print_) return;
  line_ += '\n';
  std::fwrite(line_.data(), 1, line_.size(), stdout);
}

void AgentSink::flush(uplink::Uplink* up) {
  bool more = false;
  {
    std::lock_guard lock(commit_mu_);
    uint64_t before = spool_.stats().committed_through;
    if (auto st = spool_.commit(delivery_.checkpoints()); !st)
      spdlog::error("{}", st.error().message);  // the batch stays pending; retried next time
    more = spool_.stats().committed_through > before;
  }
  if (more && up) up->notify();  // outside commit_mu_: the uplink calls acked() under its lock
  if (print_) std::fflush(stdout);
}

void AgentSink::acked(uint64_t seq) {
  std::lock_guard lock(commit_mu_);
  delivery_.acked(seq);
  if (auto st = spool_.commit(delivery_.checkpoints()); !st)
    spdlog::error("{}", st.error().message);
}

}  // namespace mimamori::agent
