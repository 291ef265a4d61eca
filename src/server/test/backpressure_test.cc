// Backpressure: when the writer is behind, ingest answers 429 at once instead of queueing
// without bound; everything admitted is committed.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "ingest/ingest_queue.h"
#include "mimamori/server/store.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

TEST(Backpressure, FullQueueAnswers429AndAdmittedBatchesCommit) {
  StoreOptions so;
  so.url = "sqlite:" + temp_dir();
  so.ingest_queue_events = 100;
  auto store = open_store(so);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto& s = **store;
  ASSERT_TRUE(s.init_provider("SOC", "a@soc.jp", "admin password 1234").ok());
  auto cus = s.create_customer(Principal::system("t"), "A");
  auto code = s.create_enrollment_code(Principal::system("t"), cus->id, "", 0);
  auto dev = s.enroll(code->code, "gw", "sensor", "1", "127.0.0.1");
  ASSERT_TRUE(dev.ok());
  std::atomic<int> ok{0}, throttled{0}, other{0}, done{0};
  constexpr int kBatches = 200, kPer = 50;
  // Parse everything first, then offer it all at once: far faster than any commit.
  std::vector<IngestBatch> batches;
  for (int b = 0; b < kBatches; ++b) {
    IngestBatch batch;
    batch.device_id = dev->device_id;
    batch.customer_id = cus->id;
    batch.device_kind = "sensor";
    batch.first = 1 + b * kPer;
    batch.last = batch.first + kPer - 1;
    for (int i = 0; i < kPer; ++i) batch.body += dns_line("x") + "\n";
    ASSERT_TRUE(parse_ingest_batch(batch).ok());
    batches.push_back(std::move(batch));
  }
  IngestQueue queue(s);
  for (auto& batch : batches) {
    queue.submit(std::move(batch), [&](Result<IngestOutcome> r) {
      if (r.ok()) {
        ++ok;
      } else if (r.error().code == 429) {
        ++throttled;
      } else {
        ++other;
      }
      ++done;
    });
  }
  for (int i = 0; i < 500 && done < kBatches; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(done.load(), kBatches);
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(throttled.load(), 0) << "200 batches against a 100-event queue were never refused";
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(*s.count_events(dev->device_id), static_cast<int64_t>(ok.load()) * kPer);
  EXPECT_EQ(queue.stats().throttled.load(), throttled.load());
  EXPECT_EQ(queue.stats().queue_events.load(), 0);
}

}  // namespace
}  // namespace mimamori::server::testing
