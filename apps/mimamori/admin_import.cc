// `mimamori admin import-eve`: sends EVE JSON files to a running mimamori-server through the
// device API, as a sensor would: it enrolls with a code (checking the server's certificate
// fingerprint first) and posts the records in gzip batches with sequence ranges, retrying a
// batch until the server acknowledges it. For set-ups where the sensor cannot upload itself.

#include <cstdio>
#include <fstream>
#include <thread>

#include "commands.h"
#include "mimamori/uplink/http.h"
#include "mimamori/uplink/uplink.h"

namespace mimamori::cli {
namespace {

int import_eve(const std::string& server, const std::string& code, const std::string& fingerprint,
               const std::string& hostname, const std::vector<std::string>& files, int batch) {
  uplink::EnrollRequest req;
  req.server_url = server;
  req.code = code;
  req.kind = "sensor";
  req.hostname = hostname;
  req.fingerprint = fingerprint;
  auto cred = uplink::enroll(req);
  if (!cred) {
    std::fprintf(stderr, "mimamori admin import-eve: %s\n", cred.error().message.c_str());
    return 1;
  }
  std::printf("enrolled as %s\n", cred->device_id.c_str());
  uplink::HttpsClient client(cred->fingerprint, 60);
  uint64_t seq = 1, sent = 0, rejected = 0;
  std::string text;
  std::size_t lines = 0;
  auto flush = [&]() -> bool {
    if (lines == 0) return true;
    auto gz = uplink::compress(text, uplink::Compression::kGzip);
    if (!gz) {
      std::fprintf(stderr, "mimamori admin import-eve: %s\n", gz.error().message.c_str());
      return false;
    }
    uint64_t last = seq + lines - 1;
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto r = uplink::post_ingest(client, cred->server_url, cred->device_token, seq, last, *gz,
                                   uplink::Compression::kGzip);
      if (r && (r->status == 200 || r->status == 409)) {
        rejected += uplink::parse_ingest_answer(r->body).rejected;
        sent += lines;
        seq = last + 1;
        text.clear();
        lines = 0;
        return true;
      }
      if (r && r->status >= 400 && r->status < 500 && r->status != 429) {
        std::fprintf(stderr, "mimamori admin import-eve: batch %llu..%llu refused (%ld): %s\n",
                     static_cast<unsigned long long>(seq), static_cast<unsigned long long>(last),
                     r->status, r->body.c_str());
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200 << std::min(attempt, 5)));
    }
    std::fprintf(stderr, "mimamori admin import-eve: the server did not acknowledge\n");
    return false;
  };
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "%s: cannot open\n", f.c_str());
      return 1;
    }
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      text += line;
      text += '\n';
      if (static_cast<int>(++lines) >= batch && !flush()) return 1;
    }
  }
  if (!flush()) return 1;
  std::printf("sent %llu events (%llu rejected by the server)\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(rejected));
  return 0;
}

}  // namespace

void add_admin_import_command(CLI::App& admin) {
  auto* cmd = admin.add_subcommand(
      "import-eve", "send EVE JSON files to a running server through the device API");
  auto server = std::make_shared<std::string>();
  auto code = std::make_shared<std::string>();
  auto fp = std::make_shared<std::string>();
  auto host = std::make_shared<std::string>("imported-sensor");
  auto batch = std::make_shared<int>(500);
  auto files = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--server", *server, "server URL, https://host:port")->required();
  cmd->add_option("--code", *code, "enrollment code")->required();
  cmd->add_option("--fingerprint", *fp, "expected SHA-256 of the server certificate");
  cmd->add_option("--hostname", *host, "device name to enroll as");
  cmd->add_option("--batch", *batch, "events per batch")->check(CLI::Range(1, 100000));
  cmd->add_option("files", *files, "EVE JSON files")->required();
  cmd->callback(
      [=] { throw CLI::RuntimeError(import_eve(*server, *code, *fp, *host, *files, *batch)); });
}

}  // namespace mimamori::cli
